// The command line's conventions (issue 20): `rlhf-lab --help` lists the commands; every command's
// --help shows each declared option with its description and default, and examples, and exits 0
// without a GPU; an unknown option or command fails with a suggestion and exit code 2; a bad value
// keeps its message; and the defaults the help shows are the values the commands read.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, type CommandSpec } from '../../../src/cli/commands.ts';
import type { CommandContext } from '../../../src/cli/main.ts';
import { defaultText, numberOption, stringOption } from '../../../src/cli/options.ts';
import { runCli } from './run-cli.ts';

const commands = Object.entries(COMMANDS) as [string, CommandSpec][];

/** What a run printed, with the help's line wrapping undone. */
const flat = (lines: string[]) => lines.join('\n').replace(/\s+/g, ' ');

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'rlhf-lab-help-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('rlhf-lab --help', () => {
  it('lists every command with its summary, and exits 0', async () => {
    for (const argv of [['--help'], ['help'], []]) {
      const run = await runCli(argv);
      expect(run.code, argv.join(' ')).toBe(0);
      const text = flat([...run.stdout, ...run.stderr]);
      for (const [name, spec] of commands) {
        expect(text).toContain(` ${name} `);
        expect(text).toContain(spec.summary);
      }
    }
  });

  it.each(commands)('%s --help shows every option, its description and default, and examples', async (name, spec) => {
    for (const argv of [
      [name, '--help'],
      ['help', name],
    ]) {
      const run = await runCli(argv);
      expect(run.code).toBe(0);
      expect(run.stderr).toEqual([]);
      const text = flat(run.stdout);
      expect(text).toContain(`Usage: rlhf-lab ${name}`);
      for (const [option, declared] of Object.entries(spec.options)) {
        const shown = defaultText(declared);
        const flag = declared.kind === 'flag' ? `--${option}` : `--${option} <${declared.value}>`;
        expect(text).toContain(`${flag} ${declared.description}${shown === undefined ? '' : ` (default: ${shown})`}`);
      }
      expect(text).toContain('--json');
      expect(spec.examples.length).toBeGreaterThan(0);
      for (const example of spec.examples) expect(text).toContain(example);
    }
  });
});

describe('usage errors', () => {
  it('an unknown option fails with exit code 2 and the nearest option', async () => {
    const run = await runCli(['pretrain', '--step', '5', '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toEqual([]);
    expect(flat(run.stderr)).toContain(
      "error: unknown option '--step' (Did you mean --steps?) (rlhf-lab pretrain --help shows its options and examples)",
    );
  });

  it('an option given under its old name fails with exit code 2 and names the new one', async () => {
    const run = await runCli(['ppo', '--beta', '0.05', '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toEqual([]);
    expect(flat(run.stderr)).toContain("error: option '--beta' was renamed --kl-coef (same meaning)");
    const help = await runCli(['ppo', '--help']);
    expect(flat(help.stdout)).not.toContain('--beta');
  });

  it('an unknown command fails with exit code 2 and the nearest command', async () => {
    const run = await runCli(['sfx', '--out', 'x']);
    expect(run.code).toBe(2);
    expect(flat(run.stderr)).toContain("error: unknown command 'sfx' (Did you mean sft?)");
  });

  it('a bad value keeps its message and exit code 1, before the command starts', async () => {
    const run = await runCli(['pretrain', '--steps', 'x', '--json']);
    expect(run.code).toBe(1);
    expect(run.result).toEqual({ error: "--steps must be an integer ≥ 1, got 'x'" });
  });
});

describe('defaults are declared once', () => {
  it('every declared default satisfies its own bounds and is what the readers give when the option is not given', () => {
    for (const [name, spec] of commands) {
      const context: CommandContext = { values: {}, positionals: [], json: true, options: spec.options, log: () => {} };
      for (const [option, declared] of Object.entries(spec.options)) {
        if (declared.kind === 'number' && declared.default !== undefined)
          expect(numberOption(context, option), `${name} --${option}`).toBe(declared.default);
        if (declared.kind === 'text' && declared.default !== undefined)
          expect(stringOption(context, option), `${name} --${option}`).toBe(declared.default);
      }
    }
  });

  it('a command runs with the default its help shows: world writes TinyWorld seed 1', async () => {
    const help = flat((await runCli(['world', '--help'])).stdout);
    expect(help).toContain('--seed <S> TinyWorld seed (default: 1)');
    const run = await runCli(['world', '--out', join(dir, 'world'), '--documents', '20', '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.result).toMatchObject({ seed: '1', counts: { corpus: 20 } });
  });
});

// Careless and hostile input to the CLI (issue 17), each refused before any training with the file,
// the line or field, what is wrong and what to do: outputs that cannot be written, invalid UTF-8,
// a lineage seed that is not a number, files that are folders, rankings whose outputs are all
// identical, and terminal control bytes echoed from a file (escaped, never printed raw).
import { mkdtempSync, rmSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { printable } from '../../../src/cli/main.ts';
import { initParameters, makeConfig } from '../../../src/model/config.ts';
import { readSafetensors, writeSafetensors } from '../../../src/model/safetensors.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { runCli } from './run-cli.ts';

process.env.RLHF_LAB_WEBGPU ??= 'llvmpipe';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

beforeAll(async () => {
  const tokenizer = trainBpe(['Human: Name a red fruit.\nAssistant: An apple.'], 280);
  const config = makeConfig('micro', tokenizer.vocabSize);
  await writeCheckpointDir(at('base'), {
    config,
    params: initParameters(config, 1),
    tokenizer,
    meta: { kind: 'base', seed: '1' },
  });
  await writeFile(at('a_file'), 'x');
});

/** Runs a command that must fail; returns its error message and everything it printed. */
async function failure(args: string[]): Promise<{ error: string; printed: string }> {
  const run = await runCli([...args, '--json']);
  expect(run.code, run.stderr.join('\n')).toBe(1);
  return { error: (run.result as { error: string }).error, printed: [...run.stdout, ...run.stderr].join('\n') };
}

describe('outputs are checked before any training', () => {
  it('sft, rm, dpo and ppo refuse an --out that is a file at once', async () => {
    const expected = `--out ${at('a_file')} is a file; a folder is needed: choose a new folder name`;
    const started = performance.now();
    expect((await failure(['sft', '--model', at('base'), '--out', at('a_file')])).error).toBe(expected);
    expect((await failure(['rm', '--model', at('base'), '--out', at('a_file')])).error).toBe(expected);
    expect((await failure(['dpo', '--model', at('base'), '--out', at('a_file')])).error).toBe(expected);
    expect(
      (await failure(['ppo', '--policy', at('base'), '--reward-model', at('base'), '--out', at('a_file')])).error,
    ).toBe(expected);
    expect(performance.now() - started).toBeLessThan(5000); // no GPU was started, nothing was trained
  });

  it('refuses a folder of other files as --out, and a folder as --save-rankings, --metrics or an ONNX file', async () => {
    await mkdir(at('notes'));
    await writeFile(at('notes/todo.txt'), 'x');
    expect((await failure(['sft', '--model', at('base'), '--out', at('notes')])).error).toMatch(
      /^--out .*notes holds todo\.txt, not only the files it would write/,
    );
    expect((await failure(['rm', '--model', at('base'), '--out', at('rm'), '--save-rankings', dir])).error).toBe(
      `--save-rankings ${dir} is a folder; a file name is needed`,
    );
    expect(
      (
        await failure([
          'ppo',
          '--policy',
          at('base'),
          '--reward-model',
          at('base'),
          '--out',
          at('ppo'),
          '--metrics',
          dir,
        ])
      ).error,
    ).toBe(`--metrics ${dir} is a folder; a file name is needed`);
    expect((await failure(['export-onnx', '--model', at('base'), '--out', dir])).error).toBe(
      `--out ${dir} is a folder; a file name is needed`,
    );
    expect(
      (await failure(['export-onnx', '--model', at('base'), '--out', join(at('a_file'), 'model.onnx')])).error,
    ).toMatch(/^--out .*model\.onnx: cannot create .*a_file: /);
  });
});

describe('input files', () => {
  it('refuses NaN weights at load: export-onnx names the tensor and writes no file', async () => {
    const damaged = at('nan-model');
    await cp(at('base'), damaged, { recursive: true });
    const file = readSafetensors(await readFile(join(damaged, 'model.safetensors')));
    const tensors = [...file.tensors].map(([name, { shape, data }]) => ({
      name,
      shape,
      data: name === 'transformer.h.0.mlp.c_fc.weight' ? data.map((x, i) => (i === 3 ? NaN : x)) : data,
    }));
    await writeFile(join(damaged, 'model.safetensors'), writeSafetensors(tensors, file.metadata));
    expect((await failure(['export-onnx', '--model', damaged, '--out', at('nan.onnx')])).error).toBe(
      `checkpoint ${damaged}: model.safetensors: transformer.h.0.mlp.c_fc.weight holds NaN at index 3: the weights are damaged (a diverged run?); use an earlier checkpoint`,
    );
    await expect(readFile(at('nan.onnx'))).rejects.toThrow(/ENOENT/);
  });

  it('names the path when world --out is a file', async () => {
    expect((await failure(['world', '--out', at('a_file')])).error).toBe(
      `cannot create ${at('a_file')}: a file of that name is in the way`,
    );
  });

  it('refuses invalid UTF-8 in a JSONL file with its line (no U+FFFD)', async () => {
    await writeFile(
      at('latin1.jsonl'),
      Buffer.concat([
        Buffer.from('{"prompt": "a", "completion": "b"}\n{"prompt": "caf'),
        Buffer.from([0xe9]),
        Buffer.from('", "completion": "c"}\n'),
      ]),
    );
    expect(
      (await failure(['sft', '--model', at('base'), '--data', at('latin1.jsonl'), '--out', at('sft')])).error,
    ).toBe(`${at('latin1.jsonl')}: line 2 (byte 50) is not valid UTF-8: save the file as UTF-8`);
  });

  it("refuses invalid UTF-8 in a checkpoint's config.json", async () => {
    const broken = at('latin1-model');
    await cp(at('base'), broken, { recursive: true });
    const config = await readFile(join(broken, 'config.json'));
    await writeFile(
      join(broken, 'config.json'),
      Buffer.concat([config.subarray(0, 20), Buffer.from([0xff]), config.subarray(20)]),
    );
    expect((await failure(['sft', '--model', broken, '--out', at('sft')])).error).toBe(
      `${join(broken, 'config.json')}: line 2 (byte 20) is not valid UTF-8: save the file as UTF-8`,
    );
  });

  it('names the path of a data file that is a folder', async () => {
    expect((await failure(['sft', '--model', at('base'), '--data', dir, '--out', at('sft')])).error).toBe(
      `cannot read ${dir}: it is a folder, not a file`,
    );
  });

  it('refuses a lineage seed that is not a number where the checkpoint is read', async () => {
    const odd = at('odd-seed');
    await cp(at('base'), odd, { recursive: true });
    const config = JSON.parse(await readFile(join(odd, 'config.json'), 'utf8')) as { rlhf_lab: Record<string, string> };
    config.rlhf_lab.seed = 'abc';
    await writeFile(join(odd, 'config.json'), JSON.stringify(config));
    expect((await failure(['sft', '--model', odd, '--out', at('sft')])).error).toBe(
      `checkpoint ${odd}: config.json: rlhf_lab.seed must be a whole number such as "1", got "abc": correct it or remove the field`,
    );
  });
});

describe('rankings whose outputs are all identical', () => {
  it('rm and dpo refuse them before training: every pair is a tie', async () => {
    await writeFile(
      at('duplicates.jsonl'),
      '{"prompt": "Name a red fruit.", "responses": ["An apple.", "An apple.", "An apple."], "order": [2, 0, 1]}\n',
    );
    const expected = `${at('duplicates.jsonl')}: no comparisons to train on: every pair is a tie (identical or equally good outputs); rank outputs that differ`;
    expect(
      (
        await failure([
          'dpo',
          '--model',
          at('base'),
          '--out',
          at('dpo'),
          '--rankings',
          at('duplicates.jsonl'),
          '--heldout-prompts',
          '0',
        ])
      ).error,
    ).toBe(expected);
    expect(
      (
        await failure([
          'rm',
          '--model',
          at('base'),
          '--out',
          at('rm'),
          '--rankings',
          at('duplicates.jsonl'),
          '--heldout-prompts',
          '0',
        ])
      ).error,
    ).toBe(expected);
  }, 120_000);
});

describe('control characters from a file are escaped', () => {
  it('printable escapes ESC, BEL, DEL and C1 controls, and keeps newlines, tabs and other text', () => {
    expect(printable('a\u001b]0;pwned\u0007b\u007f\u009b\n\tcafé')).toBe(
      'a\\u001b]0;pwned\\u0007b\\u007f\\u009b\n\tcafé',
    );
  });

  it('a crafted JSONL line does not reach the terminal raw', async () => {
    await writeFile(at('crafted.jsonl'), '{"prompt": "p", "\\u001b]0;pwned\\u0007": "x"}\n'); // JSON escapes: the parsed key holds ESC and BEL
    const { error, printed } = await failure([
      'sft',
      '--model',
      at('base'),
      '--data',
      at('crafted.jsonl'),
      '--out',
      at('sft'),
    ]);
    expect(error).toContain('\u001b]0;pwned\u0007'); // the message itself is whole …
    expect(printed.includes('\u0007') || printed.includes('\u001b')).toBe(false); // … but printed escaped
    expect(printed).toContain('\\u001b]0;pwned\\u0007');
  });
});

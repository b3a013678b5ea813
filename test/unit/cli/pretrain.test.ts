// Tests for `rlhf-lab pretrain` resuming and stopping (issue 17): a resume refuses options that
// differ from the run's (naming them), applies more --steps and says so, names a damaged
// train_state.json, and a run whose loss turns NaN stops at that step with the last checkpoint kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpointDir, writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { runCli, type CliRun } from './run-cli.ts';

process.env.RLHF_LAB_WEBGPU ??= 'llvmpipe';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-pretrain-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** A tiny run: micro model, 40 documents, 2 rows of 16 tokens. */
const TINY = [
  '--preset',
  'micro',
  '--documents',
  '40',
  '--vocab',
  '300',
  '--batch',
  '2',
  '--seq',
  '16',
  '--checkpoint-every',
  '1',
  '--json',
];

const errorOf = (run: CliRun) => {
  expect(run.code).toBe(1);
  return (run.result as { error: string }).error;
};

describe('rlhf-lab pretrain resumes only the same run', () => {
  const out = join(dir, 'base');

  it('trains 2 steps, then refuses a resume with another --lr or --seed, naming both', async () => {
    const first = await runCli(['pretrain', '--out', out, '--steps', '2', ...TINY]);
    expect(first.code, first.stderr.join('\n')).toBe(0);
    const error = errorOf(
      await runCli(['pretrain', '--out', out, '--steps', '2', '--lr', '0.01', '--seed', '5', ...TINY]),
    );
    expect(error).toBe(
      `${out} is a run with --seed 1 --lr 0.003; this command asks for --seed 5 --lr 0.01: resume with the run's options (only --steps and --checkpoint-every may change) or choose another --out`,
    );
  }, 300_000);

  it('refuses fewer steps than done, and resumes with more, saying so', async () => {
    expect(errorOf(await runCli(['pretrain', '--out', out, '--steps', '1', ...TINY]))).toBe(
      `${out} is already at step 2; --steps 1 asks for no more: give --steps above 2`,
    );
    const more = await runCli(['pretrain', '--out', out, '--steps', '3', ...TINY]);
    expect(more.code, more.stderr.join('\n')).toBe(0);
    expect(more.stderr).toContain("--steps 3 replaces the run's 2 (the learning-rate schedule now ends at step 3)");
    expect(more.stderr).toContain(`resuming ${out} at step 2 of 3`);
    expect((await readCheckpointDir(out)).meta?.steps).toBe('3');
    const state = JSON.parse(await readFile(join(out, 'train_state.json'), 'utf8')) as {
      step: number;
      settings: { steps: number };
    };
    expect(state).toMatchObject({ step: 3, settings: { steps: 3 } });
  }, 300_000);

  it('names a damaged train_state.json', async () => {
    await writeFile(join(out, 'train_state.json'), '{"settings": {');
    expect(errorOf(await runCli(['pretrain', '--out', out, ...TINY]))).toMatch(
      new RegExp(
        `^${join(out, 'train_state.json')} is damaged \\(.*JSON.*\\): delete ${out} to start the run again, or choose another --out$`,
      ),
    );
  });

  it('refuses an --out that is a file or a checkpoint of another kind, before any training', async () => {
    const file = join(dir, 'a_file');
    await writeFile(file, 'x');
    expect(errorOf(await runCli(['pretrain', '--out', file, ...TINY]))).toBe(
      `--out ${file} is a file; a folder is needed: choose a new folder name`,
    );
    const sft = join(dir, 'sft');
    await writeCheckpointDir(sft, await readCheckpointDir(join(dir, 'base')));
    expect(errorOf(await runCli(['pretrain', '--out', sft, ...TINY]))).toBe(
      `--out ${sft} holds a checkpoint but no train_state.json, so it is not a pretraining run to resume: choose another --out`,
    );
  });
});

describe('rlhf-lab pretrain stops at the first non-finite loss', () => {
  it('names the step, keeps the last good checkpoint and saves nothing after', async () => {
    const out = join(dir, 'diverged');
    // lr 1e8: step 1 is finite (|g| ≈ 2), its update blows the weights up, step 2's held-out loss is NaN
    const run = await runCli(['pretrain', '--out', out, '--steps', '8', '--lr', '1e8', ...TINY]);
    const error = errorOf(run);
    const match =
      /^training diverged at step (\d+): (loss|the gradient norm|the held-out loss) is (NaN|Infinity|-Infinity); lower the learning rate \((.*)\)$/.exec(
        error,
      );
    expect(match, error).not.toBeNull();
    const step = Number(match![1]);
    expect(step).toBeGreaterThan(1);
    expect(step).toBeLessThan(8);
    expect(match![4]).toBe(`${out} keeps the checkpoint of step ${step - 1}`);
    const kept = await readCheckpointDir(out); // loads: every weight finite
    expect(kept.meta?.steps).toBe(String(step - 1));
  }, 300_000);
});

// Tests for tools/pretrain.py's saves and resumes (issue 17), on a micro model and a 60-document
// token folder: the run folder is written whole (no OUT.partial or OUT.previous left) and loads in
// the lab; a run killed between the folder's renames resumes from OUT.previous; a damaged
// train_state.json is named; a diverging run stops at its step with the last checkpoint kept.
// Needs /usr/bin/python3 with PyTorch, as test/unit/model/torch-parity.test.ts does (it fails, not
// skips, without it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { runCli } from '../cli/run-cli.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(import.meta.dirname, '../../../tools/pretrain.py');
const dir = mkdtempSync(join(tmpdir(), 'rlhf-pretrain-py-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tokens = join(dir, 'tokens');

beforeAll(async () => {
  const run = await runCli(['world', '--tokens', '--out', tokens, '--documents', '60', '--json']);
  expect(run.code, run.stderr.join('\n')).toBe(0);
});

/** tools/pretrain.py on the micro preset, 2 rows of 16 tokens, a checkpoint every 2 steps. */
function pretrainPy(out: string, ...args: string[]): { status: number | null; output: string } {
  const settings = [
    '--preset',
    'micro',
    '--batch',
    '2',
    '--seq',
    '16',
    '--eval-every',
    '2',
    '--log-every',
    '1',
    '--eval-batches',
    '1',
    '--threads',
    '1',
    '--allow-slow-blas',
  ];
  const run = spawnSync(PYTHON, [SCRIPT, '--data', tokens, '--out', out, ...settings, ...args], { encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('tools/pretrain.py', () => {
  const out = join(dir, 'base');

  it('writes the run folder whole, and it loads in the lab', async () => {
    const run = pretrainPy(out, '--steps', '4');
    expect(run.status, run.output).toBe(0);
    expect((await readCheckpointDir(out)).meta?.steps).toBe('4');
    expect((await readdir(dir)).sort()).toEqual(['base', 'tokens']);
    expect((await readdir(out)).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.pt',
      'tokenizer.json',
      'tokenizer_config.json',
      'train_state.json',
    ]);
  }, 120_000);

  it("resumes from OUT.previous after a kill between the folder's renames", async () => {
    await rename(out, `${out}.previous`); // what a kill after the old folder was set aside leaves
    const run = pretrainPy(out, '--steps', '4');
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain(`resuming ${out} at step 4 of 4`);
    expect((await readdir(dir)).sort()).toEqual(['base', 'tokens']);
    expect((await readCheckpointDir(out)).meta?.steps).toBe('4');
  }, 120_000);

  it('names a damaged train_state.json', async () => {
    await writeFile(join(out, 'train_state.json'), '{"settings": ');
    const run = pretrainPy(out, '--steps', '4');
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      new RegExp(
        `${join(out, 'train_state.json')} is damaged \\(.*\\): delete ${out} to start the run again, or choose another --out`,
      ),
    );
  }, 120_000);

  it('stops a diverging run at its step and keeps the last good checkpoint', async () => {
    const diverged = join(dir, 'diverged');
    // lr 1e3: steps 1–2 stay finite (the step-2 checkpoint is saved), the weights then blow up
    const run = pretrainPy(diverged, '--steps', '12', '--lr', '1e3', '--warmup', '1');
    expect(run.status).not.toBe(0);
    const match = /training diverged at step (\d+): .*; lower --lr \((.*)\)/.exec(run.output);
    expect(match, run.output).not.toBeNull();
    const step = Number(match![1]);
    expect(step).toBeGreaterThan(2);
    expect(step).toBeLessThan(12);
    const kept = await readCheckpointDir(diverged); // loads: every weight finite
    expect(match![2]).toBe(`${diverged} keeps the checkpoint of step ${kept.meta?.steps}`);
    expect(Number(kept.meta?.steps)).toBeLessThan(step);
  }, 120_000);
});

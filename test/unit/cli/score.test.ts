// `rlhf-lab score` end to end: a checkpoint folder written by the lab is loaded by the CLI, scored
// by the WGSL engine (Dawn), and compared with two independent GPT-2s: the float64 TypeScript twin,
// and tools/gpt2_numpy.py reading the same Hugging Face-layout files (skipped without numpy).
// Tolerance 1e-4 on log-probs of magnitude ≲ 10: float32 kernels carry ~1e-6 relative error here
// (see test/unit/model/gpt.test.ts); an indexing or layout mistake moves log-probs by O(1).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { initParameters, makeConfig } from '../../../src/model/config.ts';
import { forward, tokenLogprobs } from '../../../src/model/reference.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-score-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const numpyMissing = spawnSync('python3', ['-c', 'import numpy']).status !== 0;

describe('rlhf-lab score', () => {
  it('matches the float64 twin and the NumPy GPT-2 on a checkpoint folder', async () => {
    const tokenizer = trainBpe(['the cat is red. the dog says woof. a bird can fly over the red house.'], 300);
    const config = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 24 };
    const params = initParameters(config, 4);
    for (let i = 0; i < params.length; i++) params[i] *= 6; // make every tensor matter
    await writeCheckpointDir(dir, { config, params, tokenizer });

    const text = 'the red cat can fly.';
    const run = await runCli(['score', '--model', dir, '--text', text, '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const { ids, logprobs } = run.result as { ids: number[]; logprobs: number[] };
    expect(ids).toEqual(tokenizer.encode(text));
    expect(logprobs).toHaveLength(ids.length - 1);

    const inputs = Int32Array.from(ids.slice(0, -1));
    const twin = tokenLogprobs(
      forward(config, Float64Array.from(params), inputs, 1, inputs.length).logits,
      Int32Array.from(ids.slice(1)),
      config.vocabSize,
    );
    const twinDiff = Math.max(...logprobs.map((lp, i) => Math.abs(lp - twin[i])));
    console.log(`score vs float64 twin: max |Δ| ${twinDiff.toExponential(2)}`);
    expect(twinDiff).toBeLessThan(1e-4);

    if (numpyMissing) return console.log('numpy is not installed: NumPy comparison skipped');
    const script = spawnSync(
      'python3',
      [resolve(import.meta.dirname, '../../../tools/gpt2_numpy.py'), dir, '--ids', ids.join(',')],
      { encoding: 'utf8' },
    );
    expect(script.status, script.stderr).toBe(0);
    const numpy = (JSON.parse(script.stdout.trim().split('\n').at(-1)!) as { logprobs: number[] }).logprobs;
    const numpyDiff = Math.max(...logprobs.map((lp, i) => Math.abs(lp - numpy[i])));
    console.log(`score vs tools/gpt2_numpy.py: max |Δ| ${numpyDiff.toExponential(2)}`);
    expect(numpyDiff).toBeLessThan(1e-4);
  });

  it('fails clearly on a missing folder and on text longer than the context', async () => {
    const missing = await runCli(['score', '--model', join(dir, 'nope'), '--text', 'hi there', '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.join('\n')).toMatch(/does not exist/);
    const long = await runCli(['score', '--model', dir, '--text', 'the cat '.repeat(40), '--json']);
    expect(long.code).toBe(1);
    expect(long.stderr.join('\n')).toMatch(/over the model's context/);
  });
});

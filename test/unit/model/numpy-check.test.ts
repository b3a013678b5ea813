// Cross-check of tools/gpt2_numpy.py, an independent NumPy GPT-2, against the float64 reference:
// a tiny checkpoint with large random parameters (so every tensor matters) is written with
// checkpointFiles, and the script's next-token log-probabilities and scalar-head values must match
// forward / tokenLogprobs / scalarHeadForward. Skipped, with the reason in its title, when python3
// or numpy is missing (CI machines may have no numpy).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFiles, type Checkpoint } from '../../../src/model/checkpoint.ts';
import {
  findTensor,
  makeConfig,
  parameterLayout,
  scalarHeadLayout,
  type ParameterLayout,
} from '../../../src/model/config.ts';
import { Rng } from '../../../src/model/random.ts';
import { forward, scalarHeadForward, tokenLogprobs } from '../../../src/model/reference.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';

const SCRIPT = resolve(import.meta.dirname, '../../../tools/gpt2_numpy.py');
const TOLERANCE = 1e-9;

/** Why the check cannot run here, or null when python3 and numpy are both available. */
function missingPython(): string | null {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `python3 is not available (${probe.error.message})`;
  if (probe.status !== 0) return 'numpy is not installed for python3';
  return null;
}

/** Every tensor of the layout filled with normal(0, std) values; padding stays 0. */
function randomFlat(layout: ParameterLayout, rng: Rng, std: number): Float32Array {
  const flat = new Float32Array(layout.totalFloats);
  for (const { offset, size } of layout.tensors) {
    for (let i = offset; i < offset + size; i++) flat[i] = std * rng.normal();
  }
  return flat;
}

function runScript(dir: string, args: string[]): { logprobs: number[]; values?: number[] } {
  const run = spawnSync('python3', [SCRIPT, dir, ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`gpt2_numpy.py failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { logprobs: number[]; values?: number[] };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const missing = missingPython();

describe.skipIf(missing !== null)(`tools/gpt2_numpy.py${missing === null ? '' : ` (skipped: ${missing})`}`, () => {
  const tokenizer = trainBpe(['The owl sleeps in the barn. The owl hunts mice at night.'], 290);
  const config = makeConfig('micro', tokenizer.vocabSize);
  const rng = new Rng(11);
  const ckpt: Checkpoint = {
    config,
    params: randomFlat(parameterLayout(config), rng, 0.3),
    scalarHead: randomFlat(scalarHeadLayout(config), rng, 0.5),
    tokenizer,
  };
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rlhf-lab-numpy-'));
    for (const [name, content] of Object.entries(checkpointFiles(ckpt))) writeFileSync(join(dir, name), content);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('matches the float64 reference log-probabilities and scalar-head values', () => {
    const ids = tokenizer.encode('The owl hunts mice in the barn at night.<|endoftext|>').slice(0, config.nCtx);
    const T = ids.length;
    const tokens = Int32Array.from(ids);
    const acts = forward(config, Float64Array.from(ckpt.params), tokens, 1, T);
    const expectedLogprobs = tokenLogprobs(
      acts.logits.subarray(0, (T - 1) * config.vocabSize),
      tokens.subarray(1),
      config.vocabSize,
    );
    const head = Float64Array.from(ckpt.scalarHead!);
    const headLayout = scalarHeadLayout(config);
    const weight = findTensor(headLayout, 'score.weight');
    const bias = findTensor(headLayout, 'score.bias');
    const expectedValues = Array.from({ length: T }, (_, t) => {
      const value = new Float64Array(1);
      scalarHeadForward(
        value,
        acts.lnf,
        head.subarray(weight.offset, weight.offset + weight.size),
        head.subarray(bias.offset, bias.offset + 1),
        Int32Array.of(t),
        1,
        T,
        config.nEmbd,
      );
      return value[0];
    });

    const result = runScript(dir, ['--ids', ids.join(',')]);
    const logprobDiff = maxAbsDiff(result.logprobs, expectedLogprobs);
    const valueDiff = maxAbsDiff(result.values!, expectedValues);
    console.log(
      `gpt2_numpy.py vs reference, T=${T}: max |Δ logprob| ${logprobDiff.toExponential(2)}, max |Δ value| ${valueDiff.toExponential(2)}`,
    );
    expect(logprobDiff).toBeLessThan(TOLERANCE);
    expect(valueDiff).toBeLessThan(TOLERANCE);
    expect(Math.min(...expectedLogprobs)).toBeLessThan(-Math.log(config.vocabSize) - 1); // far from uniform
    expect(runScript(dir, ['--ids-json', JSON.stringify(ids)]).logprobs).toEqual(result.logprobs);
  });

  it('refuses ids outside the vocabulary with a message', () => {
    const run = spawnSync('python3', [SCRIPT, dir, '--ids', `1,${config.vocabSize}`], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`token id ${config.vocabSize} is outside [0, ${config.vocabSize})`);
  });
});

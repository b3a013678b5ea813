// KV-cache decoding and sampling kernels on a Dawn device. Attention (both kernel layouts): the cache
// is filled step by step from random qkv sequences and every step's output must equal reference.ts
// attentionForward at that position. Sampling: greedy and top-k=1 equal the argmax, draws repeat for a seed, frequencies match
// the float64 target distribution (chi-square), and top-k / top-p never draw an excluded token.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSampleParamsBuffer,
  decodeAttentionDispatches,
  kvAppendDispatch,
  sampleDispatch,
  writeSampleParams,
  type SampleParams,
} from '../../../src/engine/ops/decode.ts';
import { createStorageBuffer } from '../../../src/engine/buffers.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';
import { attentionForward } from '../../../src/model/reference.ts';
import { Rng } from '../../../src/model/random.ts';
import { testGpu } from './gpu-device.ts';
import type { GpuError } from '../../../src/engine/gpu.ts';
import { download, downloadU32, run, upload } from './gpu-run.ts';

const U = 2 ** -24;

function random(count: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: count }, () => scale * (2 * rng.uniform() - 1));
}

// Any device error (shader compilation, validation) fails the test that caused it.
const deviceErrors: GpuError[] = [];
beforeAll(async () => {
  (await testGpu()).onError((error) => deviceErrors.push(error));
});
afterEach(() => {
  expect(deviceErrors.splice(0)).toEqual([]);
});

describe('kv append + decode attention', () => {
  const SHAPES: [B: number, T: number, C: number, NH: number, maxT: number][] = [
    [1, 1, 4, 1, 1],
    [3, 9, 32, 2, 16], // micro: HS 16
    [2, 20, 48, 4, 24], // HS 12, maxT not a power of two
    [2, 140, 128, 4, 150], // more keys than invocations
    [1, 12, 512, 2, 12], // HS 256: more channels than invocations
  ];
  const LAYOUTS: KernelLayout[] = ['tiled', 'registers'];
  for (const [layout, B, T, C, NH, maxT] of LAYOUTS.flatMap((layout) =>
    SHAPES.map((shape) => [layout, ...shape] as const),
  )) {
    it(`${layout}: B=${B} T=${T} C=${C} NH=${NH} maxT=${maxT}`, async () => {
      const { device } = await testGpu();
      const rng = new Rng(B * 7919 + T * 31 + C);
      const qkv = random(B * T * 3 * C, rng, 2); // (B,T,3C); scores up to ~4·HS/√HS
      const ref = new Float64Array(B * T * C);
      attentionForward(
        ref,
        new Float64Array(B * NH * T * T),
        new Float64Array(B * NH * T * T),
        Float64Array.from(qkv),
        B,
        T,
        C,
        NH,
      );
      // |out − ref| ≤ (relative error of the attention weights)·Σ att·|v| ≤ that error · max|v| (= 2):
      // the HS-long dot products, exp and the T-long sums give relative errors of order (HS + T + 10)·u;
      // the bound takes 4× that.
      const HS = C / NH;
      const maxAbsV = 2;
      const tolerance = 4 * (HS + T + 10) * U * maxAbsV;

      const cacheFloats = B * NH * maxT * (C / NH);
      const kCache = createStorageBuffer(device, 'k', cacheFloats * 4);
      const vCache = createStorageBuffer(device, 'v', cacheFloats * 4);
      const stepQkv = createStorageBuffer(device, 'qkv', B * 3 * C * 4);
      const positions = createStorageBuffer(device, 'positions', B * 4);
      const out = createStorageBuffer(device, 'out', B * C * 4);
      const buffers = { kCache, vCache, qkv: stepQkv, positions, out };
      const append = kvAppendDispatch(device, 'append', buffers, B, C, NH, maxT);
      const attend = decodeAttentionDispatches(device, 'attend', buffers, B, C, NH, maxT, layout);
      const rowOf = (b: number, t: number) => qkv.subarray((b * T + t) * 3 * C, (b * T + t + 1) * 3 * C);
      let maxDiff = 0;
      for (let t = 0; t < T; t++) {
        const rows = new Float32Array(B * 3 * C);
        for (let b = 0; b < B; b++) rows.set(rowOf(b, t), b * 3 * C);
        device.queue.writeBuffer(stepQkv, 0, rows);
        device.queue.writeBuffer(positions, 0, new Uint32Array(B).fill(t));
        await run(device, [append, ...attend]);
        const gpu = await download(device, out, B * C);
        for (let b = 0; b < B; b++) {
          for (let c = 0; c < C; c++) maxDiff = Math.max(maxDiff, Math.abs(gpu[b * C + c] - ref[(b * T + t) * C + c]));
        }
      }
      // With the whole cache filled, each sequence attends from its own position: later rows are ignored.
      const lastPositions = Uint32Array.from({ length: B }, (_, b) => (b * 5 + 3) % T);
      const rows = new Float32Array(B * 3 * C);
      for (let b = 0; b < B; b++) rows.set(rowOf(b, lastPositions[b]), b * 3 * C);
      device.queue.writeBuffer(stepQkv, 0, rows);
      device.queue.writeBuffer(positions, 0, lastPositions);
      await run(device, attend);
      const gpu = await download(device, out, B * C);
      let maxDiffRagged = 0;
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < C; c++) {
          maxDiffRagged = Math.max(maxDiffRagged, Math.abs(gpu[b * C + c] - ref[(b * T + lastPositions[b]) * C + c]));
        }
      }
      console.log(
        `decode attention ${layout} B=${B} T=${T} C=${C} NH=${NH}: max|Δ| per step ${maxDiff.toExponential(2)}, ragged positions ${maxDiffRagged.toExponential(2)} (tol ${tolerance.toExponential(2)})`,
      );
      expect(maxDiff).toBeLessThanOrEqual(tolerance);
      expect(maxDiffRagged).toBeLessThanOrEqual(tolerance);
      for (const buffer of [kCache, vCache, stepQkv, positions, out]) buffer.destroy();
    });
  }
});

interface SampleRun {
  ids: Uint32Array;
  done: Uint32Array;
}

/** Samples every row of logits (B,V) once; done starts as given (default all 0). */
async function sample(
  logits: Float32Array,
  B: number,
  V: number,
  p: SampleParams,
  eos = V - 1,
  doneIn?: Uint32Array,
): Promise<SampleRun> {
  const { device } = await testGpu();
  const ids = createStorageBuffer(device, 'ids', B * 4);
  const done = upload(device, 'done', doneIn ?? new Uint32Array(B), 'u32');
  const logitsBuffer = upload(device, 'logits', logits);
  const params = createSampleParamsBuffer(device, 'params');
  writeSampleParams(device.queue, params, p);
  await run(device, [sampleDispatch(device, 'sample', { ids, logits: logitsBuffer, params, done }, B, V, eos)]);
  const result = { ids: await downloadU32(device, ids, B), done: await downloadU32(device, done, B) };
  for (const buffer of [ids, done, logitsBuffer, params]) buffer.destroy();
  return result;
}

/** The same row repeated B times. */
function repeatRow(row: ArrayLike<number>, B: number): Float32Array {
  const out = new Float32Array(B * row.length);
  for (let b = 0; b < B; b++) out.set(row, b * row.length);
  return out;
}

/** Ids of a row in sampling order: logit descending, id ascending. */
function order(row: ArrayLike<number>): number[] {
  return Array.from(row, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
}

/** float64 target distribution: softmax(row/T), first topK in order, shortest prefix reaching topP, renormalised. */
function targetDistribution(row: ArrayLike<number>, temperature: number, topK: number, topP: number): Float64Array {
  const sorted = order(row);
  const max = row[sorted[0]];
  const weights = Array.from(row, (x) => Math.exp((x - max) / temperature));
  const k = topK > 0 ? Math.min(topK, row.length) : row.length;
  const topKIds = sorted.slice(0, k);
  const massK = topKIds.reduce((s, i) => s + weights[i], 0);
  const kept: number[] = [];
  let cumulative = 0;
  for (const i of topKIds) {
    kept.push(i);
    cumulative += weights[i];
    if (topP < 1 && cumulative >= topP * massK) break;
  }
  const mass = kept.reduce((s, i) => s + weights[i], 0);
  const target = new Float64Array(row.length);
  for (const i of kept) target[i] = weights[i] / mass;
  return target;
}

/**
 * Pearson's chi-square statistic of observed counts against expected probabilities; ids with
 * probability 0 must never be observed. Returns the statistic and its degrees of freedom.
 */
function chiSquare(ids: Uint32Array, expected: Float64Array): { statistic: number; dof: number } {
  const counts = new Float64Array(expected.length);
  for (const id of ids) counts[id]++;
  let statistic = 0;
  let cells = 0;
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] === 0) {
      expect(counts[i], `id ${i} has probability 0`).toBe(0);
      continue;
    }
    const e = expected[i] * ids.length;
    statistic += (counts[i] - e) ** 2 / e;
    cells++;
  }
  return { statistic, dof: cells - 1 };
}

/**
 * 99.9% quantiles of the chi-square distribution by degrees of freedom (standard tables). With
 * fixed seeds the test is deterministic; a correct sampler passes a given seed set with probability
 * 0.999, and a wrong distribution (e.g. temperature ignored, or off by 10% on one id) lands far above.
 */
const CHI2_999: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32 };

const BASE: SampleParams = { temperature: 1, topK: 0, topP: 1, seed: 1, step: 0 };

describe('sampling kernel', () => {
  for (const V of [1, 8, 777, 1000, 4096]) {
    it(`greedy and top-k=1 pick the argmax, V=${V}`, async () => {
      const B = 6;
      const rng = new Rng(V);
      const logits = random(B * V, rng, 5);
      const argmax = Array.from({ length: B }, (_, b) => order(logits.subarray(b * V, (b + 1) * V))[0]);
      const greedy = await sample(logits, B, V, { ...BASE, temperature: 0 }, V + 1 > V ? V - 1 : 0);
      expect(Array.from(greedy.ids)).toEqual(argmax);
      for (const temperature of [0.3, 1, 3]) {
        const top1 = await sample(logits, B, V, { ...BASE, temperature, topK: 1, seed: 5 }, V - 1);
        expect(Array.from(top1.ids)).toEqual(argmax);
      }
    });
  }

  it('greedy breaks ties toward the lowest id, and top-k / top-p cut ties at the lowest ids', async () => {
    const V = 600;
    const row = new Float32Array(V).fill(-1);
    for (const i of [300, 5, 599, 6, 4]) row[i] = 2; // five tied maxima, three of them adjacent
    const greedy = await sample(row, 1, V, { ...BASE, temperature: 0 }, 0);
    expect(greedy.ids[0]).toBe(4);
    const B = 400;
    const top2 = await sample(repeatRow(row, B), B, V, { ...BASE, topK: 2, seed: 9 }, 0);
    expect(new Set(top2.ids)).toEqual(new Set([4, 5])); // both drawn, nothing else
    // at temperature 0.05 the maxima hold all the mass, 0.2 each: reaching 0.5 takes three of them
    const topP = await sample(repeatRow(row, B), B, V, { ...BASE, topP: 0.5, temperature: 0.05, seed: 9 }, 0);
    expect(new Set(topP.ids)).toEqual(new Set([4, 5, 6]));
  });

  it('repeats draws for the same seed and step, and changes them with the seed or the step', async () => {
    const V = 1000;
    const B = 64;
    const logits = repeatRow(random(V, new Rng(3), 2), B);
    const p = { ...BASE, temperature: 1.3, topK: 50, topP: 0.9, seed: 1234, step: 7 };
    const first = await sample(logits, B, V, p);
    const second = await sample(logits, B, V, p);
    expect(Array.from(second.ids)).toEqual(Array.from(first.ids));
    const otherSeed = await sample(logits, B, V, { ...p, seed: 1235 });
    const otherStep = await sample(logits, B, V, { ...p, step: 8 });
    expect(Array.from(otherSeed.ids)).not.toEqual(Array.from(first.ids));
    expect(Array.from(otherStep.ids)).not.toEqual(Array.from(first.ids));
    expect(new Set(first.ids).size).toBeGreaterThan(10); // different sequences draw independently
  });

  const V8_ROW = [1.2, -0.4, 0.3, 2.0, 0.0, -1.5, 0.9, 1.6];
  const CASES: [string, Partial<SampleParams>][] = [
    ['temperature 1', { temperature: 1 }],
    ['temperature 0.6', { temperature: 0.6 }],
    ['temperature 2', { temperature: 2 }],
    ['top-k 3', { temperature: 1, topK: 3 }],
    ['top-p 0.8', { temperature: 1, topP: 0.8 }],
    ['top-k 5 + top-p 0.7 at temperature 1.5', { temperature: 1.5, topK: 5, topP: 0.7 }],
  ];
  for (const [name, params] of CASES) {
    it(`frequencies over 4000 draws match the target distribution (V=8, ${name})`, async () => {
      const p = { ...BASE, ...params };
      const B = 500;
      const draws: number[] = [];
      for (let seed = 0; seed < 8; seed++) {
        const { ids } = await sample(repeatRow(V8_ROW, B), B, 8, { ...p, seed: 1000 + seed }, 0);
        draws.push(...ids);
      }
      const expected = targetDistribution(V8_ROW, p.temperature, p.topK, p.topP);
      const { statistic, dof } = chiSquare(Uint32Array.from(draws), expected);
      console.log(`sample V=8 ${name}: chi2=${statistic.toFixed(2)} dof=${dof} (99.9% bound ${CHI2_999[dof]})`);
      expect(statistic).toBeLessThan(CHI2_999[dof]);
    });
  }

  it('top-k and top-p never draw an excluded id (V=1000)', async () => {
    const V = 1000;
    const B = 600;
    const row = random(V, new Rng(17), 4);
    for (let i = 0; i < V; i += 3) row[i] = -1e9; // masked tokens: probability 0
    const sorted = order(row);
    const logits = repeatRow(row, B);
    const few = 200; // enough draws for the cases that only check exclusion
    const topK = await sample(repeatRow(row, few), few, V, { ...BASE, topK: 10, seed: 3 });
    const allowedK = new Set(sorted.slice(0, 10));
    expect(topK.ids.every((id) => allowedK.has(id))).toBe(true);
    // top-p: put p halfway between two consecutive cumulative masses, so float32 cannot flip the cut
    const temperature = 0.3;
    const weights = sorted.map((i) => Math.exp((row[i] - row[sorted[0]]) / temperature));
    const total = weights.reduce((s, w) => s + w, 0);
    let cumulative = 0;
    let n = 0;
    while (cumulative + weights[n] < 0.5 * total) cumulative += weights[n++];
    const topP = (2 * (cumulative + weights[n]) + weights[n + 1]) / 2 / total; // keeps n + 2 ids
    const nucleus = await sample(logits, B, V, { ...BASE, temperature, topP, seed: 4 });
    const allowedP = sorted.slice(0, n + 2);
    expect(nucleus.ids.every((id) => allowedP.includes(id))).toBe(true);
    // the least likely kept id is expected B·p ≥ 15 times, so it shows up (a miss has chance < e^-15)
    const keptMass = weights.slice(0, n + 2).reduce((s, w) => s + w, 0);
    expect((B * weights[n + 1]) / keptMass).toBeGreaterThan(15);
    expect(new Set(nucleus.ids).size).toBe(n + 2);
    const both = await sample(repeatRow(row, few), few, V, { ...BASE, topK: 5, topP: 0.999999, seed: 5 });
    expect(both.ids.every((id) => sorted.slice(0, 5).includes(id))).toBe(true);
    const plain = await sample(repeatRow(row, few), few, V, { ...BASE, temperature: 2, seed: 6 });
    expect(plain.ids.every((id) => id % 3 !== 0)).toBe(true);
  });

  it('marks sequences that draw eos as done and answers eos for finished ones', async () => {
    const V = 50;
    const eos = 7;
    const row = new Float32Array(V);
    row[eos] = 10; // eos is the argmax
    const other = new Float32Array(V);
    other[3] = 10;
    const logits = new Float32Array(4 * V);
    logits.set(row, 0);
    logits.set(other, V);
    logits.set(row, 2 * V);
    logits.set(other, 3 * V);
    const doneIn = Uint32Array.of(0, 0, 1, 1);
    const result = await sample(logits, 4, V, { ...BASE, temperature: 0 }, eos, doneIn);
    expect(Array.from(result.ids)).toEqual([eos, 3, eos, eos]);
    expect(Array.from(result.done)).toEqual([1, 0, 1, 1]);
  });

  it('rejects parameters it cannot honour', async () => {
    const { device } = await testGpu();
    const params = createSampleParamsBuffer(device, 'params');
    expect(() => writeSampleParams(device.queue, params, { ...BASE, topP: 0 })).toThrow(/topP/);
    expect(() => writeSampleParams(device.queue, params, { ...BASE, temperature: -1 })).toThrow(/temperature/);
    expect(() => writeSampleParams(device.queue, params, { ...BASE, topK: 1.5 })).toThrow(/topK/);
    params.destroy();
  });
});

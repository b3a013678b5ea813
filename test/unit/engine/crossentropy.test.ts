// The vocabulary-row kernels (cross-entropy + dlogits, token log-probs / entropy, argmax) on a real
// WebGPU device (Dawn + SwiftShader in CI) against the float64 twin in reference.ts, and the two
// layouts of cross-entropy and token statistics against each other (bit for bit).
import { describe, expect, it } from 'vitest';
import { createStorageBuffer, createStorageBufferFrom } from '../../../src/engine/buffers.ts';
import { argmaxDispatch, crossEntropyDispatch, tokenStatsDispatch } from '../../../src/engine/ops/crossentropy.ts';
import { uniformValues } from '../../../src/engine/selfcheck.ts';
import { crossEntropyLoss, tokenEntropy, tokenLogprobs } from '../../../src/model/reference.ts';
import { download, downloadU32, maxAbsDiff, run, upload } from './gpu-run.ts';
import { testGpu } from './gpu-device.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';

// [N, V]: one column, fewer columns than the 256 invocations of a row, ragged V, the typical
// vocabulary (~1000), 4096, and GPT-2's 50257.
const SHAPES: [number, number][] = [
  [2, 1],
  [3, 7],
  [17, 300],
  [8, 1000],
  [5, 4096],
  [2, 50257],
];

const U = 2 ** -24; // float32 unit roundoff
const WG = 256;

function maxAbsOf(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  return max;
}

/**
 * Tolerance of a float32 log-sum-exp-based value (loss, log-prob) against float64, for logits of
 * magnitude ≤ X. s = Σ exp(x − m): each invocation sums V/256 positive terms, then a tree of 8 levels
 * combines them (Higham: relative error ≲ (V/256 + 8)·u); each term carries 2 ulp from exp and
 * |x − m|·u ≤ 2X·u from its argument. log s inherits that relative error as an absolute one, and
 * m + log s and lse − x_target round at ≤ (2X + log V)·u. Factor 2 of slack on the sum of these.
 */
function lseTolerance(V: number, X: number): number {
  return 2 * (V / WG + 12 + 4 * X + 2 * Math.log(V)) * U;
}

/**
 * Entropy H = log s − w/s with w = Σ exp(x − m)·(x − m): w sums same-signed terms, so it has the
 * relative error of s, and |w/s| ≤ 2X turns it into ≲ (V/256 + 12)·u·2X absolute; plus log s's error.
 */
function entropyTolerance(V: number, X: number): number {
  return 2 * (V / WG + 12) * U * 2 * X + lseTolerance(V, X);
}

/**
 * Per-element tolerance of dlogits = g·(p − onehot): p = exp(x − lse) inherits lse's absolute error
 * as a relative one (plus |x − lse|·u and exp's ulps, inside lseTolerance's slack), and the final
 * subtraction and product round at 2 ulp of |g|.
 */
function gradientWithinTolerance(
  got: Float32Array,
  expected: Float64Array,
  targets: Int32Array,
  weights: Float64Array,
  scale: number,
  V: number,
  tol: number,
): number {
  let worst = 0; // max |Δ| / allowed over the elements; ≤ 1 passes
  for (let n = 0; n < targets.length; n++) {
    const g = weights[n] * scale;
    for (let v = 0; v < V; v++) {
      const i = n * V + v;
      const p = g === 0 ? 0 : expected[i] / g + (v === targets[n] ? 1 : 0);
      const allowed = Math.abs(g) * (p * tol + 4 * U) + Number.MIN_VALUE;
      worst = Math.max(worst, Math.abs(got[i] - expected[i]) / allowed);
    }
  }
  return worst;
}

/** Logits spread over ±spread, as a trained LM's are (peaked softmax rows). */
function randomLogits(N: number, V: number, seed: number, spread = 8): Float32Array {
  return uniformValues(N * V, seed).map((value) => value * spread);
}

/** Targets in [0, V), and −1 (padding) wherever the weight is 0. */
function randomTargets(N: number, V: number, weights: ArrayLike<number>, seed: number): Int32Array {
  const u = uniformValues(N, seed);
  return Int32Array.from(u, (value, n) => (weights[n] === 0 ? -1 : Math.min(V - 1, Math.floor((value + 1) * 0.5 * V))));
}

/** Weights in the pattern 1, 0, 0.5, 2, 0, ... (or signed, for the policy-gradient use). */
function weightsFor(N: number, signed: boolean): Float64Array {
  const pattern = signed ? [1, 0, -0.5, 2, -1.5] : [1, 0, 0.5, 2, 0.25];
  return Float64Array.from({ length: N }, (_, n) => pattern[n % pattern.length]);
}

async function runCrossEntropy(
  device: GPUDevice,
  logits: Float32Array,
  targets: Int32Array,
  weights: Float64Array,
  scale: number,
  V: number,
  writeGradient: boolean,
) {
  const N = targets.length;
  const logitsBuffer = upload(device, 'logits', logits);
  const losses = createStorageBufferFrom(device, 'losses', new Float32Array(N).fill(Number.NaN));
  const b = {
    losses,
    logits: logitsBuffer,
    targets: upload(device, 'targets', Uint32Array.from(targets), 'u32'),
    weights: upload(device, 'weights', weights),
    scale: upload(device, 'scale', [scale]),
  };
  await run(device, [crossEntropyDispatch(device, 'ce', b, N, V, { writeGradient })]);
  return { losses: await download(device, losses, N), dlogits: await download(device, logitsBuffer, N * V) };
}

describe('row kernel layouts', () => {
  it('cross-entropy (loss and dlogits) and token statistics are bit-identical in the tiled and registers layouts', async () => {
    const { device } = await testGpu();
    for (const [N, V] of [...SHAPES, [40, 300]] as [number, number][]) {
      const logits = randomLogits(N, V, 303 + V);
      const weights = weightsFor(N, true);
      const targets = randomTargets(N, V, weights, 404 + V);
      const inputs = {
        targets: upload(
          device,
          'targets',
          Uint32Array.from(targets, (t) => t >>> 0),
          'u32',
        ),
        weights: upload(device, 'weights', weights),
        scale: upload(device, 'scale', [0.25]),
      };
      const rows = async (layout: KernelLayout) => {
        const inout = upload(device, 'logits', logits);
        const stats = {
          logprobs: createStorageBuffer(device, 'logprobs', N * 4),
          entropy: createStorageBuffer(device, 'entropy', N * 4),
        };
        const losses = createStorageBuffer(device, 'losses', N * 4);
        await run(device, [
          tokenStatsDispatch(
            device,
            `stats.${layout}`,
            { ...stats, logits: inout, targets: inputs.targets },
            N,
            V,
            { temperature: 0.7 },
            layout,
          ),
          crossEntropyDispatch(
            device,
            `ce.${layout}`,
            { losses, logits: inout, ...inputs },
            N,
            V,
            { writeGradient: true },
            layout,
          ),
        ]);
        const result = [
          ...(await download(device, stats.logprobs, N)),
          ...(await download(device, stats.entropy, N)),
          ...(await download(device, losses, N)),
          ...(await download(device, inout, N * V)),
        ];
        for (const buffer of [inout, stats.logprobs, stats.entropy, losses]) buffer.destroy();
        return result;
      };
      expect(await rows('registers'), `N=${N} V=${V}`).toEqual(await rows('tiled'));
      Object.values(inputs).forEach((buffer) => buffer.destroy());
    }
  });
});

describe('cross-entropy kernel', () => {
  for (const [N, V] of SHAPES) {
    for (const signed of [false, true]) {
      it(`N=${N} V=${V} ${signed ? 'signed' : 'non-negative'} weights: loss and dlogits`, async () => {
        const { device } = await testGpu();
        const logits = randomLogits(N, V, 101 + V);
        const weights = weightsFor(N, signed);
        const targets = randomTargets(N, V, weights, 202 + V);
        const weightSum = weights.reduce((sum, w) => sum + w, 0);
        const { losses, dlogits } = await runCrossEntropy(device, logits, targets, weights, 1 / weightSum, V, true);

        const expected = crossEntropyLoss(Float64Array.from(logits), targets, weights, V);
        let loss = 0;
        for (let n = 0; n < N; n++) loss += (losses[n] * weights[n]) / weightSum;
        const tol = lseTolerance(V, maxAbsOf(logits));
        const lossDiff = Math.abs(loss - expected.loss);
        const gradDiff = maxAbsDiff(dlogits, expected.dlogits);
        const gradRatio = gradientWithinTolerance(dlogits, expected.dlogits, targets, weights, 1 / weightSum, V, tol);
        console.log(
          `cross-entropy N=${N} V=${V} signed=${signed}: loss ${expected.loss.toFixed(4)} |Δ|=${lossDiff.toExponential(2)} tol=${tol.toExponential(2)}; dlogits max|Δ|=${gradDiff.toExponential(2)} (max |Δ|/tol per element ${gradRatio.toFixed(3)})`,
        );
        expect(lossDiff).toBeLessThanOrEqual(tol);
        expect(gradRatio).toBeLessThanOrEqual(1);
        // padding rows (weight 0, target −1) report loss 0
        for (let n = 0; n < N; n++) if (targets[n] < 0) expect(losses[n]).toBe(0);
      });
    }
  }

  it('matches tokenLogprobs per row, leaves the logits alone without writeGradient, and is deterministic', async () => {
    const { device } = await testGpu();
    const [N, V] = [9, 777];
    const logits = randomLogits(N, V, 5, 20);
    const weights = new Float64Array(N).fill(1);
    const targets = randomTargets(N, V, weights, 6);
    const first = await runCrossEntropy(device, logits, targets, weights, 1 / N, V, false);
    const second = await runCrossEntropy(device, logits, targets, weights, 1 / N, V, false);
    const expected = tokenLogprobs(Float64Array.from(logits), targets, V).map((logprob) => -logprob);
    const diff = maxAbsDiff(first.losses, expected);
    console.log(`cross-entropy per-row losses N=${N} V=${V}: max|Δ|=${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(lseTolerance(V, maxAbsOf(logits)));
    expect(first.dlogits).toEqual(logits);
    expect(second.losses).toEqual(first.losses);
  });

  it('shifting every logit by a large constant changes nothing (stable softmax)', async () => {
    const { device } = await testGpu();
    const [N, V] = [4, 500];
    const logits = randomLogits(N, V, 7);
    const weights = new Float64Array(N).fill(1);
    const targets = randomTargets(N, V, weights, 8);
    const shifted = await runCrossEntropy(
      device,
      logits.map((x) => x + 1000),
      targets,
      weights,
      1 / N,
      V,
      true,
    );
    const expected = crossEntropyLoss(Float64Array.from(logits), targets, weights, V);
    // the +1000 costs float32 precision in the inputs themselves: ulp(1000) = 6e-5 per logit
    expect(maxAbsDiff(shifted.dlogits, expected.dlogits)).toBeLessThan(1e-4);
    expect(shifted.losses.every(Number.isFinite)).toBe(true);
  });
});

describe('token statistics kernel', () => {
  for (const [N, V] of SHAPES) {
    for (const temperature of [1, 0.7, 1.5]) {
      it(`N=${N} V=${V} temperature=${temperature}: logprobs and entropy`, async () => {
        const { device } = await testGpu();
        const logits = randomLogits(N, V, 303 + V);
        const targets = randomTargets(N, V, new Float64Array(N).fill(1), 404 + V);
        const logprobs = createStorageBuffer(device, 'logprobs', N * 4);
        const entropy = createStorageBuffer(device, 'entropy', N * 4);
        const b = {
          logprobs,
          entropy,
          logits: upload(device, 'logits', logits),
          targets: upload(device, 'targets', targets, 'u32'),
        };
        const options = temperature === 1 ? undefined : { temperature };
        await run(device, [tokenStatsDispatch(device, 'stats', b, N, V, options)]);

        const tempered = Float64Array.from(logits, (x) => x / temperature);
        const X = maxAbsOf(tempered);
        const logprobDiff = maxAbsDiff(await download(device, logprobs, N), tokenLogprobs(tempered, targets, V));
        const entropyDiff = maxAbsDiff(await download(device, entropy, N), tokenEntropy(tempered, V));
        console.log(
          `token stats N=${N} V=${V} T=${temperature}: logprobs max|Δ|=${logprobDiff.toExponential(2)} tol=${lseTolerance(V, X).toExponential(2)}; entropy max|Δ|=${entropyDiff.toExponential(2)} tol=${entropyTolerance(V, X).toExponential(2)}`,
        );
        expect(logprobDiff).toBeLessThanOrEqual(lseTolerance(V, X));
        expect(entropyDiff).toBeLessThanOrEqual(entropyTolerance(V, X));
      });
    }
  }
});

describe('argmax kernel', () => {
  function cpuArgmax(logits: Float32Array, N: number, V: number): number[] {
    return Array.from({ length: N }, (_, n) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[n * V + v] > logits[n * V + best]) best = v;
      return best;
    });
  }

  for (const [N, V] of SHAPES) {
    it(`N=${N} V=${V}, with planted ties`, async () => {
      const { device } = await testGpu();
      const logits = randomLogits(N, V, 505 + V);
      // row 0: a tie between columns in different invocations and the same invocation; row 1: a
      // tie between the two last columns
      for (const v of [V - 1, Math.floor(V / 2), Math.floor(V / 3), Math.floor(V / 3) + 256])
        if (v < V) logits[v] = 100;
      if (N > 1 && V > 1) logits[2 * V - 2] = logits[2 * V - 1] = 100;
      const ids = createStorageBuffer(device, 'ids', N * 4);
      await run(device, [argmaxDispatch(device, 'argmax', { ids, logits: upload(device, 'logits', logits) }, N, V)]);
      expect(Array.from(await downloadU32(device, ids, N))).toEqual(cpuArgmax(logits, N, V));
    });
  }
});

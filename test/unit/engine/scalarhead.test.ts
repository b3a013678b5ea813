// The scalar head kernels on a Dawn device against reference.ts scalarHeadForward/Backward in float64.
// The reference reads one position per sequence; with T = 1 and B = N sequences it covers every row,
// which is what the kernels compute. Weight and bias are bound as 256-byte aligned sub-ranges of one
// head buffer (score.weight, score.bias), as the model binds them, and likewise their gradients.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scalarHeadBackwardDispatches, scalarHeadForwardDispatch } from '../../../src/engine/ops/scalarhead.ts';
import { createStorageBuffer } from '../../../src/engine/buffers.ts';
import { scalarHeadBackward, scalarHeadForward } from '../../../src/model/reference.ts';
import { Rng } from '../../../src/model/random.ts';
import { testGpu } from './gpu-device.ts';
import type { GpuError } from '../../../src/engine/gpu.ts';
import { download, run, upload } from './gpu-run.ts';

const U = 2 ** -24; // float32 unit roundoff

function random(count: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: count }, () => scale * (2 * rng.uniform() - 1));
}

/** Largest |gpu − ref| and largest |gpu − ref| / bound over elements; bound[i] is the error allowed. */
function compare(
  gpu: ArrayLike<number>,
  ref: ArrayLike<number>,
  bound: ArrayLike<number>,
): { maxDiff: number; worst: number } {
  let maxDiff = 0;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const diff = Math.abs(gpu[i] - ref[i]);
    maxDiff = Math.max(maxDiff, diff);
    worst = Math.max(worst, diff / (bound[i] + 1e-30));
  }
  return { maxDiff, worst };
}

const SHAPES: [N: number, C: number][] = [
  [1, 1],
  [7, 33], // ragged: fewer rows than a workgroup, channels not a multiple of anything
  [64, 64], // C + 1 spills into a second column workgroup
  [200, 128], // several row chunks with a partial last one
  [1000, 96],
  [4096, 256], // the largest typical batch
];

// Any device error (shader compilation, validation) fails the test that caused it.
const deviceErrors: GpuError[] = [];
beforeAll(async () => {
  (await testGpu()).onError((error) => deviceErrors.push(error));
});
afterEach(() => {
  expect(deviceErrors.splice(0)).toEqual([]);
});

describe('scalar head kernels', () => {
  for (const [N, C] of SHAPES) {
    for (const accumulateInput of [false, true]) {
      it(`N=${N} C=${C} accumulateInput=${accumulateInput}`, async () => {
        const { device } = await testGpu();
        const rng = new Rng(N * 1000 + C);
        const lnf = random(N * C, rng, 2); // (N,C)
        const weight = random(C, rng, 0.5); // (C)
        const bias = random(1, rng); // (1)
        const dvalues = random(N, rng); // (N)
        const dlnfInitial = random(N * C, rng); // (N,C)
        const gradInitial = random(2, rng); // dweight[0] and dbias start non-zero: they accumulate
        // one head buffer and one gradient buffer: weight at float 0, bias at the next 64-float boundary
        const biasOffset = Math.ceil(C / 64) * 64;
        const head = new Float32Array(biasOffset + 64);
        head.set(weight);
        head[biasOffset] = bias[0];
        const headGrad = new Float32Array(biasOffset + 64);
        headGrad[0] = gradInitial[0];
        headGrad[biasOffset] = gradInitial[1];
        const headBuffer = upload(device, 'head', head);
        const gradBuffer = upload(device, 'headGrad', headGrad);
        const lnfBuffer = upload(device, 'lnf', lnf);
        const dvaluesBuffer = upload(device, 'dvalues', dvalues);
        const dlnfBuffer = upload(device, 'dlnf', dlnfInitial);
        const values = createStorageBuffer(device, 'values', N * 4);
        const weightRange = { buffer: headBuffer, offset: 0, size: C * 4 };
        const biasRange = { buffer: headBuffer, offset: biasOffset * 4, size: 4 };
        const forward = scalarHeadForwardDispatch(
          device,
          'head.fwd',
          { values, lnf: lnfBuffer, weight: weightRange, bias: biasRange },
          N,
          C,
        );
        const backward = scalarHeadBackwardDispatches(
          device,
          'head.bwd',
          {
            dlnf: dlnfBuffer,
            dweight: { buffer: gradBuffer, offset: 0, size: C * 4 },
            dbias: { buffer: gradBuffer, offset: biasOffset * 4, size: 4 },
            dvalues: dvaluesBuffer,
            lnf: lnfBuffer,
            weight: weightRange,
          },
          N,
          C,
          { accumulateInput },
        );
        await run(device, [forward, ...backward]);
        const gpuValues = await download(device, values, N);
        const gpuDlnf = await download(device, dlnfBuffer, N * C);
        const gpuGrad = await download(device, gradBuffer, biasOffset + 64);

        // float64 reference: N sequences of one position each
        const positions = new Int32Array(N);
        const refValues = new Float64Array(N);
        scalarHeadForward(
          refValues,
          Float64Array.from(lnf),
          Float64Array.from(weight),
          Float64Array.from(bias),
          positions,
          N,
          1,
          C,
        );
        const refDlnf = new Float64Array(N * C);
        const refDweight = Float64Array.from(headGrad.subarray(0, C));
        const refDbias = Float64Array.of(headGrad[biasOffset]);
        scalarHeadBackward(
          refDlnf,
          refDweight,
          refDbias,
          Float64Array.from(dvalues),
          Float64Array.from(lnf),
          Float64Array.from(weight),
          positions,
          N,
          1,
          C,
        );
        if (accumulateInput) for (let i = 0; i < N * C; i++) refDlnf[i] += dlnfInitial[i];

        // Error bounds (Higham): a float32 sum of n terms in any order is off by at most (n−1)·u·Σ|terms|,
        // and each fma/product adds u relative. values: C products + bias, so (C+1)·u·Σ|lnf·w| + |bias|.
        // dweight[c]: N products plus the initial value. dlnf: one rounded product (and one add).
        const valueBound = new Float64Array(N);
        for (let n = 0; n < N; n++) {
          let abs = Math.abs(bias[0]);
          for (let c = 0; c < C; c++) abs += Math.abs(lnf[n * C + c] * weight[c]);
          valueBound[n] = (C + 2) * U * abs;
        }
        const dweightBound = new Float64Array(C + 1);
        for (let c = 0; c <= C; c++) {
          let abs = Math.abs(c < C ? headGrad[c] : headGrad[biasOffset]);
          for (let n = 0; n < N; n++) abs += Math.abs(dvalues[n] * (c < C ? lnf[n * C + c] : 1));
          dweightBound[c] = (N + 2) * U * abs;
        }
        const dlnfBound = refDlnf.map(
          (x, i) => 2 * U * (Math.abs(x) + (accumulateInput ? Math.abs(dlnfInitial[i]) : 0)),
        );
        const gpuParamGrads = [...gpuGrad.subarray(0, C), gpuGrad[biasOffset]];
        const refParamGrads = [...refDweight, refDbias[0]];

        const v = compare(gpuValues, refValues, valueBound);
        const d = compare(gpuDlnf, refDlnf, dlnfBound);
        const g = compare(gpuParamGrads, refParamGrads, dweightBound);
        console.log(
          `scalarhead N=${N} C=${C} acc=${accumulateInput}: max|Δvalues|=${v.maxDiff.toExponential(2)} ` +
            `max|Δdlnf|=${d.maxDiff.toExponential(2)} max|Δdweight,dbias|=${g.maxDiff.toExponential(2)} ` +
            `(worst Δ/bound ${Math.max(v.worst, d.worst, g.worst).toFixed(3)})`,
        );
        expect(v.worst).toBeLessThanOrEqual(1);
        expect(d.worst).toBeLessThanOrEqual(1);
        expect(g.worst).toBeLessThanOrEqual(1);
        // padding between the weight and the bias gradients stays untouched
        expect(Array.from(gpuGrad.subarray(C, biasOffset))).toEqual(Array.from(headGrad.subarray(C, biasOffset)));
        for (const buffer of [headBuffer, gradBuffer, lnfBuffer, dvaluesBuffer, dlnfBuffer, values]) buffer.destroy();
      });
    }
  }

  it('gives bit-identical gradients on every run', async () => {
    const { device } = await testGpu();
    const [N, C] = [1000, 96];
    const rng = new Rng(11);
    const lnf = upload(device, 'lnf', random(N * C, rng));
    const weight = upload(device, 'w', random(C, rng));
    const dvalues = upload(device, 'dv', random(N, rng));
    const results: number[][] = [];
    for (let trial = 0; trial < 2; trial++) {
      const dweight = upload(device, 'dw', new Float32Array(C));
      const dbias = upload(device, 'db', new Float32Array(1));
      const dlnf = createStorageBuffer(device, 'dlnf', N * C * 4);
      await run(
        device,
        scalarHeadBackwardDispatches(device, 'bwd', { dlnf, dweight, dbias, dvalues, lnf, weight }, N, C, {
          accumulateInput: false,
        }),
      );
      results.push([...(await download(device, dweight, C)), ...(await download(device, dbias, 1))]);
    }
    expect(results[1]).toEqual(results[0]);
  });
});

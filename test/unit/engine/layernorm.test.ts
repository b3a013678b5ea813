// The LayerNorm kernels (forward in both layouts; backward with dinp overwritten or accumulated and
// dweight/dbias accumulated) on a real WebGPU device against the float64 layer functions of
// reference.ts, and the two forward layouts against each other (bit for bit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';
import { layernormBackwardDispatches, layernormForwardDispatch } from '../../../src/engine/ops/layernorm.ts';
import { uniformValues } from '../../../src/engine/selfcheck.ts';
import { layernormBackward, layernormForward } from '../../../src/model/reference.ts';
import { check, download, run, upload } from './gpu-run.ts';
import { testGpu } from './gpu-device.ts';

const U = 2 ** -24; // float32 unit roundoff

let gpu: Gpu;
const errors: string[] = [];
beforeAll(async () => {
  gpu = await testGpu();
  gpu.onError((error) => errors.push(error.message));
});
afterAll(() => expect(errors).toEqual([]));

const maxAbs = (values: ArrayLike<number>) => Array.from(values).reduce((max, v) => Math.max(max, Math.abs(v)), 0);

// [N, C]: one row, ragged C (idle lanes), C = 1 (zero variance), several row groups, C at the limit,
// and N large enough for the two-pass reduction of the dweight/dbias partials.
const SHAPES: [number, number][] = [
  [1, 1],
  [5, 3],
  [7, 50],
  [33, 64],
  [64, 128],
  [100, 256],
  [17, 1000],
  [8, 1024],
  [300, 96],
  [4096, 256],
];

describe('layernorm layouts', () => {
  it('forward: bit-identical in the tiled and registers layouts (same lane sums, same tree)', async () => {
    const { device } = gpu;
    for (const [N, C] of SHAPES) {
      const x = uniformValues(N * C, N + C).map((v, i) => 0.5 + v * (1 + (Math.floor(i / C) % 3)));
      const inp = upload(device, 'inp', x);
      const weight = upload(
        device,
        'weight',
        uniformValues(C, 1).map((v) => 1 + 0.2 * v),
      );
      const bias = upload(device, 'bias', uniformValues(C, 2));
      const forward = async (layout: KernelLayout) => {
        const out = upload(device, 'out', new Float32Array(N * C));
        const mean = upload(device, 'mean', new Float32Array(N));
        const rstd = upload(device, 'rstd', new Float32Array(N));
        await run(device, [
          layernormForwardDispatch(device, `ln.${layout}`, { out, mean, rstd, inp, weight, bias }, N, C, layout),
        ]);
        const result = [
          ...(await download(device, out, N * C)),
          ...(await download(device, mean, N)),
          ...(await download(device, rstd, N)),
        ];
        for (const buffer of [out, mean, rstd]) buffer.destroy();
        return result;
      };
      expect(await forward('registers'), `N=${N} C=${C}`).toEqual(await forward('tiled'));
      for (const buffer of [inp, weight, bias]) buffer.destroy();
    }
  });

  it('backward: bit-identical dinp, dweight and dbias in the tiled and registers layouts', async () => {
    const { device } = gpu;
    for (const [N, C] of SHAPES) {
      for (const accumulateInput of [false, true]) {
        const x = uniformValues(N * C, N + C).map((v, i) => 0.5 + v * (1 + (Math.floor(i / C) % 3)));
        const inputs = {
          inp: upload(device, 'inp', x),
          weight: upload(
            device,
            'weight',
            uniformValues(C, 1).map((v) => 1 + 0.2 * v),
          ),
          dout: upload(device, 'dout', uniformValues(N * C, 3)),
          mean: upload(
            device,
            'mean',
            uniformValues(N, 8).map((v) => 0.5 + 0.1 * v),
          ),
          rstd: upload(
            device,
            'rstd',
            uniformValues(N, 9).map((v) => 1 + 0.5 * v),
          ),
        };
        const backward = async (layout: KernelLayout) => {
          const dinp = upload(device, 'dinp', uniformValues(N * C, 4));
          const dweight = upload(device, 'dweight', uniformValues(C, 5));
          const dbias = upload(device, 'dbias', uniformValues(C, 6));
          await run(
            device,
            layernormBackwardDispatches(
              device,
              `ln.backward.${layout}`,
              { dinp, dweight, dbias, ...inputs },
              N,
              C,
              { accumulateInput },
              layout,
            ),
          );
          const result = [
            ...(await download(device, dinp, N * C)),
            ...(await download(device, dweight, C)),
            ...(await download(device, dbias, C)),
          ];
          for (const buffer of [dinp, dweight, dbias]) buffer.destroy();
          return result;
        };
        expect(await backward('registers'), `N=${N} C=${C} accumulateInput=${accumulateInput}`).toEqual(
          await backward('tiled'),
        );
        Object.values(inputs).forEach((buffer) => buffer.destroy());
      }
    }
  });
});

describe('layernorm', () => {
  for (const [N, C] of SHAPES) {
    for (const accumulateInput of [false, true]) {
      it(`N=${N} C=${C} accumulateInput=${accumulateInput}`, async () => {
        const { device } = gpu;
        // Rows with a non-zero mean and a spread that varies by row, as in a residual stream.
        const x = uniformValues(N * C, N + C).map((v, i) => 0.5 + v * (1 + (Math.floor(i / C) % 3)));
        const weight = uniformValues(C, 1).map((v) => 1 + 0.2 * v);
        const bias = uniformValues(C, 2);
        const dy = uniformValues(N * C, 3);
        const dinpInitial = uniformValues(N * C, 4);
        const dweightInitial = uniformValues(C, 5);
        const dbiasInitial = uniformValues(C, 6);

        const out = upload(device, 'out', new Float32Array(N * C));
        const mean = upload(device, 'mean', new Float32Array(N));
        const rstd = upload(device, 'rstd', new Float32Array(N));
        const inp = upload(device, 'inp', x);
        const weightBuffer = upload(device, 'weight', weight);
        await run(device, [
          layernormForwardDispatch(
            device,
            'ln.forward',
            { out, mean, rstd, inp, weight: weightBuffer, bias: upload(device, 'bias', bias) },
            N,
            C,
          ),
        ]);
        const gotMean = await download(device, mean, N);
        const gotRstd = await download(device, rstd, N);

        const expectedOut = new Float64Array(N * C);
        const expectedMean = new Float64Array(N);
        const expectedRstd = new Float64Array(N);
        layernormForward(
          expectedOut,
          expectedMean,
          expectedRstd,
          Float64Array.from(x),
          Float64Array.from(weight),
          Float64Array.from(bias),
          1,
          N,
          C,
        );
        // A row sum adds ≤ 16 values per lane, then a 64-lane tree: depth d = ceil(C/64) + 6, error
        // ≤ d·u·Σ|terms|. The mean is off by ≤ (d+1)·u·max|x|; the variance (insensitive to the mean's
        // error to first order) by ≤ (d+2)·u relative, so rstd by ≤ (d+4)·u/2 relative with the division;
        // out = (x − mean)·rstd·w + b inherits both. Each bound below is twice those estimates.
        const d = Math.ceil(C / 64) + 6;
        const rowMax = Array.from({ length: N }, (_, n) => maxAbs(x.subarray(n * C, (n + 1) * C)));
        check(
          `layernorm forward N=${N} C=${C} mean`,
          gotMean,
          expectedMean,
          rowMax.map((m) => 2 * (d + 1) * U * m),
        );
        check(
          `layernorm forward N=${N} C=${C} rstd`,
          gotRstd,
          expectedRstd,
          Array.from(expectedRstd, (s) => (d + 4) * U * s),
        );
        const outBound = Array.from(expectedOut, (_, i) => {
          const n = Math.floor(i / C);
          const c = i % C;
          const rstdW = expectedRstd[n] * Math.abs(weight[c]);
          return 2 * (d + 4) * U * (rstdW * (rowMax[n] + Math.abs(x[i] - expectedMean[n])) + Math.abs(bias[c]));
        });
        check(`layernorm forward N=${N} C=${C} out`, await download(device, out, N * C), expectedOut, outBound);

        // The backward reads the kernel's own mean and rstd; the reference gets the same float32 values.
        const dinp = upload(device, 'dinp', dinpInitial);
        const dweight = upload(device, 'dweight', dweightInitial);
        const dbias = upload(device, 'dbias', dbiasInitial);
        await run(
          device,
          layernormBackwardDispatches(
            device,
            'ln.backward',
            { dinp, dweight, dbias, dout: upload(device, 'dout', dy), inp, weight: weightBuffer, mean, rstd },
            N,
            C,
            { accumulateInput },
          ),
        );
        const expectedDinp = new Float64Array(N * C);
        const expectedDweight = Float64Array.from(dweightInitial);
        const expectedDbias = Float64Array.from(dbiasInitial);
        layernormBackward(
          expectedDinp,
          expectedDweight,
          expectedDbias,
          Float64Array.from(dy),
          Float64Array.from(x),
          Float64Array.from(weight),
          Float64Array.from(gotMean),
          Float64Array.from(gotRstd),
          1,
          N,
          C,
        );
        if (accumulateInput) expectedDinp.forEach((v, i) => (expectedDinp[i] = v + dinpInitial[i]));
        // Σ|terms| of the dweight and dbias sums: the same backward on |dout| and |x − mean| with mean 0.
        const absDweight = Float64Array.from(dweightInitial, Math.abs);
        const absDbias = Float64Array.from(dbiasInitial, Math.abs);
        const absDeviation = Float64Array.from(x, (v, i) => Math.abs(v - gotMean[Math.floor(i / C)]));
        layernormBackward(
          new Float64Array(N * C),
          absDweight,
          absDbias,
          Float64Array.from(dy, Math.abs),
          absDeviation,
          new Float64Array(C).fill(1),
          new Float64Array(N),
          Float64Array.from(gotRstd),
          1,
          N,
          C,
        );

        // dinp = rstd·(dnorm − mean(dnorm) − norm·mean(dnorm·norm)): norm and dnorm are within 3 ulp, the
        // two row means within (d+1)·u of max|dnorm| and max|dnorm·norm|; the bound is 4·(d+4)·u times
        // rstd·(max|dnorm| + |norm|·max|dnorm·norm|) per row, plus 2 ulp of the result for the +=.
        const norm = Float64Array.from(x, (v, i) => (v - gotMean[Math.floor(i / C)]) * gotRstd[Math.floor(i / C)]);
        const dnorm = Float64Array.from(dy, (v, i) => v * weight[i % C]);
        const rowMaxOf = (values: ArrayLike<number>, n: number) => {
          let max = 0;
          for (let c = 0; c < C; c++) max = Math.max(max, Math.abs(values[n * C + c]));
          return max;
        };
        const dnormMax = Array.from({ length: N }, (_, n) => rowMaxOf(dnorm, n));
        const dnormNorm = dnorm.map((v, i) => v * norm[i]);
        const dnormNormMax = Array.from({ length: N }, (_, n) => rowMaxOf(dnormNorm, n));
        const dinpBound = Array.from(expectedDinp, (v, i) => {
          const n = Math.floor(i / C);
          const scale = gotRstd[n] * (dnormMax[n] + Math.abs(norm[i]) * dnormNormMax[n]);
          return 4 * (d + 4) * U * scale + 2 * U * Math.abs(v);
        });
        check(
          `layernorm backward N=${N} C=${C} dinp${accumulateInput ? ' +=' : ''}`,
          await download(device, dinp, N * C),
          expectedDinp,
          dinpBound,
        );
        // dweight and dbias: each partial adds 4 rows, then the column sum adds ≤ 16 partials per lane per
        // chunk, 4 lanes, ≤ ceil(chunks/4) chunk sums per lane, 4 lanes and the initial value: error
        // ≤ depth·u·Σ|terms|; dout·norm carries 4 more ulp.
        const partialRows = Math.ceil(N / 16) * 4;
        const depth = 4 + Math.ceil(Math.min(partialRows, 64) / 4) + Math.ceil(Math.ceil(partialRows / 64) / 4) + 8;
        check(
          `layernorm backward N=${N} C=${C} dweight`,
          await download(device, dweight, C),
          expectedDweight,
          Array.from(absDweight, (s) => (depth + 4) * U * s),
        );
        check(
          `layernorm backward N=${N} C=${C} dbias`,
          await download(device, dbias, C),
          expectedDbias,
          Array.from(absDbias, (s) => depth * U * s),
        );
      });
    }
  }
});

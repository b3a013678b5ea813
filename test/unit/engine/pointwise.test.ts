// The pointwise kernels (GELU forward/backward, residual add, add-into, bias gradient) on a real
// WebGPU device against the float64 layer functions of reference.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import {
  addIntoDispatch,
  biasBackwardDispatches,
  geluBackwardDispatch,
  geluForwardDispatch,
  residualForwardDispatch,
  workgroupGrid,
} from '../../../src/engine/ops/pointwise.ts';
import { uniformValues } from '../../../src/engine/selfcheck.ts';
import { geluBackward, geluForward, matmulBackward, residualForward } from '../../../src/model/reference.ts';
import { check, download, run, upload } from './gpu-run.ts';
import { testGpu } from './gpu-device.ts';

const U = 2 ** -24; // float32 unit roundoff

// Ragged lengths take the scalar entry point, multiples of 4 the vec4 one.
const LENGTHS = [1, 7, 1000, 1003, 4096];
// Arguments where tanh(u) saturates or a naive exp-based tanh overflows; x³ overflows float32 at ±1e13.
const EXTREMES = [0, 1e-8, -1e-8, 5, -5, 9, -9, 12, -12, 50, -50, 1e4, -1e4, 1e13, -1e13, 3e38, -3e38];

function geluInputs(n: number, seed: number): Float32Array {
  const x = uniformValues(n, seed).map((v) => 6 * v);
  x.set(EXTREMES.slice(0, n));
  return x;
}

let gpu: Gpu;
const errors: string[] = [];
beforeAll(async () => {
  gpu = await testGpu();
  gpu.onError((error) => errors.push(error.message));
});
afterAll(() => expect(errors).toEqual([]));

describe('gelu', () => {
  for (const n of LENGTHS) {
    it(`forward and backward, n=${n}`, async () => {
      const { device } = gpu;
      const x = geluInputs(n, n);
      const dy = uniformValues(n, n + 1);
      const out = upload(device, 'out', new Float32Array(n));
      const dinp = upload(device, 'dinp', uniformValues(n, 99)); // overwritten, not accumulated
      const inp = upload(device, 'inp', x);
      const dout = upload(device, 'dout', dy);
      await run(device, [
        geluForwardDispatch(device, 'gelu.forward', { out, inp }, n),
        geluBackwardDispatch(device, 'gelu.backward', { dinp, inp, dout }, n),
      ]);
      const expectedOut = new Float64Array(n);
      geluForward(expectedOut, Float64Array.from(x), n);
      const expectedDinp = new Float64Array(n);
      geluBackward(expectedDinp, Float64Array.from(x), Float64Array.from(dy), n);
      const gotOut = await download(device, out, n);
      const gotDinp = await download(device, dinp, n);
      // Beyond |x| = 9, tanh(u) is ±1 in float32 and float64 alike: gelu is x or 0 and gelu' is 1 or 0, exactly.
      const saturated = [...x.keys()].filter((i) => Math.abs(x[i]) >= 9);
      const pick = (values: ArrayLike<number>) => saturated.map((i) => values[i]);
      check(`gelu forward n=${n}, ${saturated.length} with |x| ≥ 9`, pick(gotOut), pick(expectedOut), 0);
      check(`gelu backward n=${n}, ${saturated.length} with |x| ≥ 9`, pick(gotDinp), pick(expectedDinp), 0);
      // Elsewhere the error is dominated by tanh's (a few ulp of 1, absolute): the forward multiplies it
      // by 0.5·|x|, the backward's 1 − tanh² by 0.5·|x|·du/dx, then by |dout|. 16·u per unit of those
      // factors leaves room for a tanh several ulp worse than SwiftShader's.
      const dudx = (v: number) => Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * v * v);
      check(`gelu forward n=${n}`, gotOut, expectedOut, Array.from(x, (v) => 16 * U * (1 + Math.abs(v))));
      check(`gelu backward n=${n}`, gotDinp, expectedDinp, Array.from(x, (v, i) => 16 * U * (1 + Math.abs(v) * dudx(v)) * Math.abs(dy[i])));
    });
  }
});

describe('residual add and add-into', () => {
  for (const n of LENGTHS) {
    it(`n=${n}`, async () => {
      const { device } = gpu;
      const a = uniformValues(n, 2 * n);
      const b = uniformValues(n, 2 * n + 1);
      const initial = uniformValues(n, 2 * n + 2);
      const out = upload(device, 'out', new Float32Array(n));
      const acc = upload(device, 'acc', initial);
      const inp1 = upload(device, 'inp1', a);
      const inp2 = upload(device, 'inp2', b);
      await run(device, [
        residualForwardDispatch(device, 'residual', { out, inp1, inp2 }, n),
        addIntoDispatch(device, 'add-into', { out: acc, inp: inp1 }, n),
      ]);
      const expectedOut = new Float64Array(n);
      residualForward(expectedOut, Float64Array.from(a), Float64Array.from(b), n);
      const expectedAcc = new Float64Array(n);
      residualForward(expectedAcc, Float64Array.from(initial), Float64Array.from(a), n);
      // One correctly rounded float32 add of values in [-2, 2): error ≤ half an ulp of 2, i.e. 2^-23.
      check(`residual n=${n}`, await download(device, out, n), expectedOut, 2 ** -23);
      check(`add-into n=${n}`, await download(device, acc, n), expectedAcc, 2 ** -23);
    });
  }

  it('folds more than 65535 workgroups into a 2-D grid', async () => {
    const { device } = gpu;
    expect(workgroupGrid(65535)).toEqual([65535, 1]);
    expect(workgroupGrid(65536)).toEqual([65535, 2]);
    const n = 65535 * 256 + 5; // ragged: scalar entry point, 65536 workgroups
    const a = new Float32Array(n).map((_, i) => i % 1000);
    const acc = upload(device, 'acc', new Float32Array(n).fill(0.5));
    const inp = upload(device, 'inp', a);
    const dispatch = addIntoDispatch(device, 'add-into.folded', { out: acc, inp }, n);
    expect(dispatch.workgroups).toEqual([65535, 2]);
    await run(device, [dispatch]);
    const got = await download(device, acc, n);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (got[i] !== a[i] + 0.5) wrong++;
    expect(wrong).toBe(0);
    acc.destroy();
    inp.destroy();
  });
});

describe('bias backward', () => {
  const SHAPES: [number, number][] = [
    [1, 1],
    [5, 3],
    [64, 64], // one pass
    [65, 100], // two passes, ragged
    [300, 768],
    [4096, 256],
  ];
  for (const [N, OC] of SHAPES) {
    it(`N=${N} OC=${OC}`, async () => {
      const { device } = gpu;
      const dy = uniformValues(N * OC, N + OC);
      const initial = uniformValues(OC, 7);
      const dbias = upload(device, 'dbias', initial);
      const dout = upload(device, 'dout', dy);
      await run(device, biasBackwardDispatches(device, 'bias-backward', { dbias, dout }, N, OC));
      // reference.ts computes dbias inside matmulBackward; with C = 1 the other outputs cost little.
      const expected = Float64Array.from(initial);
      matmulBackward(new Float64Array(N), new Float64Array(OC), expected, Float64Array.from(dy), new Float64Array(N), new Float64Array(OC), 1, N, 1, OC);
      const absSums = Float64Array.from(initial, Math.abs);
      matmulBackward(new Float64Array(N), new Float64Array(OC), absSums, Float64Array.from(dy, Math.abs), new Float64Array(N), new Float64Array(OC), 1, N, 1, OC);
      // Float32 summation: |error| ≤ d·u·Σ|terms|, d the most additions on one term's path. The kernel
      // adds ≤ 16 rows per lane per chunk of 64, 4 lanes, then ≤ ceil(chunks/4) per lane, 4 lanes and dbias.
      const depth = Math.ceil(Math.min(N, 64) / 4) + Math.ceil(Math.ceil(N / 64) / 4) + 8;
      check(`bias backward N=${N} OC=${OC}`, await download(device, dbias, OC), expected, absSums.map((s) => depth * U * s));
    });
  }
});

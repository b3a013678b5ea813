// The column sum (bias gradient) on a real WebGPU device against reference.ts matmulBackward's dbias,
// and the grid helper of the row kernels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';
import { biasBackwardDispatches, workgroupGrid } from '../../../src/engine/ops/columnsum.ts';
import { uniformValues } from '../../../src/engine/selfcheck.ts';
import { matmulBackward } from '../../../src/model/reference.ts';
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

it('folds more than 65535 workgroups into a 2-D grid', () => {
  expect(workgroupGrid(65535)).toEqual([65535, 1]);
  expect(workgroupGrid(65536)).toEqual([65535, 2]);
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
  it('bit-identical in the tiled and registers layouts (same lane sums, same order)', async () => {
    const { device } = gpu;
    for (const [N, OC] of SHAPES) {
      const dy = uniformValues(N * OC, N + OC);
      const initial = uniformValues(OC, 7);
      const sum = async (layout: KernelLayout) => {
        const dbias = upload(device, 'dbias', initial);
        const dout = upload(device, 'dout', dy);
        await run(device, biasBackwardDispatches(device, `bias-backward.${layout}`, { dbias, dout }, N, OC, layout));
        return download(device, dbias, OC);
      };
      expect(await sum('registers'), `N=${N} OC=${OC}`).toEqual(await sum('tiled'));
    }
  });

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
      matmulBackward(
        new Float64Array(N),
        new Float64Array(OC),
        expected,
        Float64Array.from(dy),
        new Float64Array(N),
        new Float64Array(OC),
        1,
        N,
        1,
        OC,
      );
      const absSums = Float64Array.from(initial, Math.abs);
      matmulBackward(
        new Float64Array(N),
        new Float64Array(OC),
        absSums,
        Float64Array.from(dy, Math.abs),
        new Float64Array(N),
        new Float64Array(OC),
        1,
        N,
        1,
        OC,
      );
      // Float32 summation: |error| ≤ d·u·Σ|terms|, d the most additions on one term's path. The kernel
      // adds ≤ 16 rows per lane per chunk of 64, 4 lanes, then ≤ ceil(chunks/4) per lane, 4 lanes and dbias.
      const depth = Math.ceil(Math.min(N, 64) / 4) + Math.ceil(Math.ceil(N / 64) / 4) + 8;
      check(
        `bias backward N=${N} OC=${OC}`,
        await download(device, dbias, OC),
        expected,
        absSums.map((s) => depth * U * s),
      );
    });
  }
});

// The matmul kernel's two entry points (tiled for M > SKINNY_MAX_M, skinny below) on a real WebGPU
// device (Dawn + SwiftShader in CI) against float64 CPU results.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import { matmulDispatch, SKINNY_MAX_M } from '../../../src/engine/matmul.ts';
import { runMatmulCheck } from '../../../src/engine/selfcheck.ts';
import { testGpu } from './gpu-device.ts';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [64, 64, 16],
  [70, 33, 45], // ragged edges in every dimension
  [128, 96, 200],
  // M ≤ SKINNY_MAX_M: the skinny entry point (decode steps), ragged in rows, columns and K.
  [1, 1000, 128], // batch-1 LM head shape
  [1, 33, 45],
  [3, 70, 129],
  [5, 64, 512],
  [16, 130, 64],
  [17, 65, 33], // just above the threshold: tiled
];

describe('matmul kernel', () => {
  for (const [M, N, K] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`M=${M} N=${N} K=${K} transA=${transA} transB=${transB} with bias`, async () => {
          const { device } = await testGpu();
          const result = await runMatmulCheck(device, M, N, K, { transA, transB, bias: true });
          console.log(`matmul ${M}x${N}x${K} tA=${transA} tB=${transB}: max|Δ|=${result.maxAbsDiff.toExponential(2)} tol=${result.tolerance.toExponential(2)}`);
          expect(result.maxAbsDiff).toBeLessThanOrEqual(result.tolerance);
        });
      }
    }
  }

  it('accumulates into the output when asked', async () => {
    const { device } = await testGpu();
    // The self-check's output buffer starts zeroed, so accumulate + bias must equal the plain product + bias.
    const result = await runMatmulCheck(device, 40, 24, 30, { accumulate: true, bias: true });
    expect(result.ok).toBe(true);
    const skinny = await runMatmulCheck(device, 6, 70, 30, { accumulate: true, bias: true });
    expect(skinny.ok).toBe(true);
  });

  it('picks the skinny entry point for short outputs', () => {
    const { device } = gpu;
    const buffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    const buffers = { out: buffer, a: buffer, b: buffer, bias: buffer };
    expect(matmulDispatch(device, 'skinny', buffers, SKINNY_MAX_M, 130, 64).workgroups).toEqual([3, 4]);
    expect(matmulDispatch(device, 'skinny', buffers, 1, 1024, 128).workgroups).toEqual([16, 1]);
    expect(matmulDispatch(device, 'tiled', buffers, SKINNY_MAX_M + 1, 130, 64).workgroups).toEqual([3, 1]);
    buffer.destroy();
  });
});

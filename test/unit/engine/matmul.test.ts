// The tiled matmul kernel on a real WebGPU device (Dawn + SwiftShader in CI) against float64 CPU results.
import { describe, expect, it } from 'vitest';
import { runMatmulCheck } from '../../../src/engine/selfcheck.ts';
import { testGpu } from './gpu-device.ts';

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [64, 64, 16],
  [70, 33, 45], // ragged edges in every dimension
  [128, 96, 200],
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
  });
});

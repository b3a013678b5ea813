// The matmul kernel's entry points — tiled layout (main for M > SKINNY_MAX_M, skinny below) and
// registers layout — on a real WebGPU device (Dawn + SwiftShader in CI) against float64 CPU results,
// and against each other (they must agree bit for bit).
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import { kernelLayoutFor, type KernelLayout } from '../../../src/engine/kernel.ts';
import { matmulDispatch, SKINNY_MAX_M, type MatmulOptions } from '../../../src/engine/ops/matmul.ts';
import { runMatmulCheck, uniformValues } from '../../../src/engine/selfcheck.ts';
import { testGpu } from './gpu-device.ts';
import { download, run, upload } from './gpu-run.ts';

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

const LAYOUTS: KernelLayout[] = ['tiled', 'registers'];

/** Runs one product with the given options on fixed inputs, the output starting at `initial`. */
async function product(device: GPUDevice, M: number, N: number, K: number, options: MatmulOptions, layout: KernelLayout): Promise<Float32Array> {
  const buffers = {
    out: upload(device, 'out', uniformValues(M * N, 7)),
    a: upload(device, 'a', uniformValues(M * K, 8)),
    b: upload(device, 'b', uniformValues(K * N, 9)),
    bias: upload(device, 'bias', uniformValues(N, 10)),
  };
  await run(device, [matmulDispatch(device, 'test.matmul', buffers, M, N, K, options, layout)]);
  const result = await download(device, buffers.out, M * N);
  Object.values(buffers).forEach((buffer) => buffer.destroy());
  return result;
}

describe('matmul kernel', () => {
  for (const layout of LAYOUTS) {
    for (const [M, N, K] of SHAPES) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`${layout}: M=${M} N=${N} K=${K} transA=${transA} transB=${transB} with bias`, async () => {
            const { device } = await testGpu();
            const result = await runMatmulCheck(device, M, N, K, { transA, transB, bias: true }, layout);
            console.log(`matmul ${layout} ${M}x${N}x${K} tA=${transA} tB=${transB}: max|Δ|=${result.maxAbsDiff.toExponential(2)} tol=${result.tolerance.toExponential(2)}`);
            expect(result.maxAbsDiff).toBeLessThanOrEqual(result.tolerance);
          });
        }
      }
    }
  }

  it('accumulates into the output when asked', async () => {
    const { device } = await testGpu();
    for (const layout of LAYOUTS) {
      // The self-check's output buffer starts zeroed, so accumulate + bias must equal the plain product + bias.
      const result = await runMatmulCheck(device, 40, 24, 30, { accumulate: true, bias: true }, layout);
      expect(result.ok).toBe(true);
      const short = await runMatmulCheck(device, 6, 70, 30, { accumulate: true, bias: true }, layout);
      expect(short.ok).toBe(true);
    }
  });

  it('adds nothing when no bias buffer is given', async () => {
    const { device } = await testGpu();
    for (const layout of LAYOUTS) {
      for (const [M, N, K] of [[70, 33, 45], [5, 130, 64]] as const) {
        const result = await runMatmulCheck(device, M, N, K, { transB: true }, layout);
        expect(result.maxAbsDiff).toBeLessThanOrEqual(result.tolerance);
      }
    }
  });

  it('gives bit-identical results in both layouts (same k order, same fma, then bias, then accumulation)', async () => {
    const { device } = await testGpu();
    for (const [M, N, K] of [[70, 33, 45], [5, 130, 64], [128, 200, 96]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const options = { transA, transB, accumulate: true };
          const tiled = await product(device, M, N, K, options, 'tiled');
          const registers = await product(device, M, N, K, options, 'registers');
          expect(Array.from(registers)).toEqual(Array.from(tiled));
        }
      }
    }
  });

  it('uses the registers layout on CPU adapters and the tiled one on GPUs', () => {
    const withInfo = (info: Partial<GPUAdapterInfo>) => ({ adapterInfo: { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false, ...info } }) as unknown as GPUDevice;
    expect(kernelLayoutFor(withInfo({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }))).toBe('registers');
    expect(kernelLayoutFor(withInfo({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa 22.3.6' }))).toBe('registers');
    expect(kernelLayoutFor(withInfo({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }))).toBe('registers');
    expect(kernelLayoutFor(withInfo({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' }))).toBe('tiled');
    expect(kernelLayoutFor({} as GPUDevice)).toBe('tiled');
  });

  it('sizes the grid for each entry point', () => {
    const { device } = gpu;
    const buffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    const buffers = { out: buffer, a: buffer, b: buffer, bias: buffer };
    expect(matmulDispatch(device, 'skinny', buffers, SKINNY_MAX_M, 130, 64, {}, 'tiled').workgroups).toEqual([3, 4]);
    expect(matmulDispatch(device, 'skinny', buffers, 1, 1024, 128, {}, 'tiled').workgroups).toEqual([16, 1]);
    expect(matmulDispatch(device, 'tiled', buffers, SKINNY_MAX_M + 1, 130, 64, {}, 'tiled').workgroups).toEqual([3, 1]);
    expect(matmulDispatch(device, 'registers', buffers, 17, 129, 64, {}, 'registers').workgroups).toEqual([2, 3]);
    buffer.destroy();
  });
});

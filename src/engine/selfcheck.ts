// A GPU self-check: runs the matmul kernel on random data and compares it with the float64 CPU
// reference. The app's GPU panel, the CLI (`rlhf-lab gpu --check`) and the tests all use it.
import { createStorageBuffer, createStorageBufferFrom, readFloat32 } from './buffers.ts';
import { kernelLayoutFor, recordDispatches, type KernelLayout } from './kernel.ts';
import { matmulDispatch, matmulReference, type MatmulOptions } from './ops/matmul.ts';

export interface MatmulCheckResult {
  M: number;
  N: number;
  K: number;
  /** max |gpu - cpu| over all outputs */
  maxAbsDiff: number;
  /** the error bound the result must meet (see errorBound) */
  tolerance: number;
  ok: boolean;
  /** wall time of one dispatch including queue submission and completion, in milliseconds */
  gpuMs: number;
  gflops: number;
}

/** Deterministic uniform values in [-1, 1) from a 32-bit LCG; good enough for test inputs. */
export function uniformValues(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}

/**
 * Forward error bound of a float32 dot product of length K (Higham, recursive summation with fma):
 * |fl(a·b) − a·b| ≤ γ_K Σ|a_k||b_k|, γ_K ≈ K·u with u = 2^-24; doubled for the tiled summation order.
 * A bias counts as one more term (|bias| joins the sum).
 */
function errorBound(absDotMax: number, K: number): number {
  return 2 * K * 2 ** -24 * absDotMax + 1e-30;
}

/** What to check: the product's options, and whether a bias (N) is added. */
export interface MatmulCheckOptions extends MatmulOptions {
  bias?: boolean;
}

export async function runMatmulCheck(
  device: GPUDevice,
  M: number,
  N: number,
  K: number,
  options: MatmulCheckOptions = {},
  layout: KernelLayout = kernelLayoutFor(device),
): Promise<MatmulCheckResult> {
  const a = uniformValues(M * K, 1); // (M,K) or (K,M)
  const b = uniformValues(K * N, 2); // (K,N) or (N,K)
  const bias = options.bias ? uniformValues(N, 3) : undefined; // (N)
  const out = createStorageBuffer(device, 'selfcheck.out', M * N * 4);
  const buffers = {
    out,
    a: createStorageBufferFrom(device, 'selfcheck.a', a),
    b: createStorageBufferFrom(device, 'selfcheck.b', b),
    ...(bias ? { bias: createStorageBufferFrom(device, 'selfcheck.bias', bias) } : {}),
  };
  const dispatch = matmulDispatch(device, 'selfcheck.matmul', buffers, M, N, K, options, layout);
  const started = performance.now();
  const encoder = device.createCommandEncoder({ label: 'selfcheck' });
  recordDispatches(encoder, [dispatch], 'selfcheck');
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const gpuMs = performance.now() - started;
  const result = await readFloat32(device, out, 0, M * N);
  Object.values(buffers).forEach((buffer) => buffer.destroy());

  const expected = matmulReference(a, b, M, N, K, { ...options, biasValues: bias });
  const absA = Array.from(a, Math.abs);
  const absB = Array.from(b, Math.abs);
  const absDot = matmulReference(absA, absB, M, N, K, { ...options, biasValues: bias && Array.from(bias, Math.abs) });
  let maxAbsDiff = 0;
  let absDotMax = 0;
  for (let i = 0; i < M * N; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(result[i] - expected[i]));
    absDotMax = Math.max(absDotMax, absDot[i]);
  }
  const tolerance = errorBound(absDotMax, K + (options.bias ? 1 : 0));
  return {
    M,
    N,
    K,
    maxAbsDiff,
    tolerance,
    ok: maxAbsDiff <= tolerance,
    gpuMs,
    gflops: (2 * M * N * K) / (gpuMs * 1e6),
  };
}

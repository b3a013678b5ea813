// Test helpers for kernels: upload arrays, run recorded dispatches, read results back.
import { expect } from 'vitest';
import { createStorageBufferFrom, readFloat32, readUint32 } from '../../../src/engine/buffers.ts';
import { recordDispatches, type Dispatch } from '../../../src/engine/kernel.ts';

export function upload(
  device: GPUDevice,
  label: string,
  values: ArrayLike<number>,
  type: 'f32' | 'u32' = 'f32',
): GPUBuffer {
  const data = type === 'f32' ? Float32Array.from(values) : Uint32Array.from(values);
  return createStorageBufferFrom(device, label, data);
}

/** Records the dispatches into one encoder, submits once and waits for completion. */
export async function run(device: GPUDevice, dispatches: Dispatch[]): Promise<void> {
  const encoder = device.createCommandEncoder({ label: 'test' });
  recordDispatches(encoder, dispatches, 'test');
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
}

export const download = (device: GPUDevice, buffer: GPUBuffer, count: number) => readFloat32(device, buffer, 0, count);
export const downloadU32 = (device: GPUDevice, buffer: GPUBuffer, count: number) =>
  readUint32(device, buffer, 0, count);

/** Max |a − b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * Expects |got − expected| ≤ bound elementwise (bound a number or one per element) and prints the
 * largest difference and the largest ratio to the bound.
 */
export function check(
  name: string,
  got: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: number | ArrayLike<number>,
): void {
  expect(got.length).toBe(expected.length);
  let maxDiff = 0;
  let maxRatio = 0;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - expected[i]);
    const limit = typeof bound === 'number' ? bound : bound[i];
    maxDiff = Math.max(maxDiff, diff);
    maxRatio = Math.max(maxRatio, diff === 0 ? 0 : diff / limit);
  }
  console.log(`${name}: max|Δ|=${maxDiff.toExponential(2)}, max |Δ|/bound=${maxRatio.toFixed(3)}`);
  expect(maxRatio).toBeLessThanOrEqual(1);
}

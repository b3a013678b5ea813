// The FMA peak probe (the GPU check's float32 peak) on a real WebGPU device: every invocation writes
// the float64 recurrence's sum, so the probe does all its iterations on all its chains and a rate
// measured with it counts work that was done.
//
// Tolerance: each chain contracts by a = 0.9 a step, so float32 rounding stays within
// eps·|x| / (1 − a) ≈ 6e-8 · 8 / 0.1 ≈ 5e-6 per lane, ≤ 1.5e-4 over the 32 lanes summed. One
// iteration fewer or more moves a sum by ≥ 1e-2 (0.1 · Σ (x − 1) after 64 steps), a wrong start or
// coefficient by more: 2e-4 tells them apart.
import { describe, expect, it } from 'vitest';
import { createStorageBuffer, createStorageBufferFrom, readFloat32 } from '../../../src/engine/buffers.ts';
import {
  FMA_COEFFICIENTS,
  fmaPeakDispatch,
  fmaPeakFlops,
  fmaPeakReference,
  measureFmaPeak,
} from '../../../src/engine/fma-peak.ts';
import { recordDispatches } from '../../../src/engine/kernel.ts';
import { testGpu } from './gpu-device.ts';

const TOLERANCE = 2e-4;

describe('fma-peak', () => {
  it('writes the recurrence of every chain for every invocation', async () => {
    const { device } = await testGpu();
    const shape = { workgroups: 4, iterations: 64 };
    const out = createStorageBuffer(device, 'out', shape.workgroups * 64 * 4);
    const coefficients = createStorageBufferFrom(device, 'coefficients', FMA_COEFFICIENTS);
    const encoder = device.createCommandEncoder();
    recordDispatches(
      encoder,
      [fmaPeakDispatch(device, 'fma-peak-test', { out, coefficients }, shape)],
      'fma-peak-test',
    );
    device.queue.submit([encoder.finish()]);
    const values = await readFloat32(device, out);
    let worst = 0;
    values.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - fmaPeakReference(i, shape.iterations)))));
    console.log(`fma-peak: max |Δ| vs float64 ${worst.toExponential(2)} over ${values.length} invocations`);
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(fmaPeakReference(5, 63) - fmaPeakReference(5, 64))).toBeGreaterThan(50 * TOLERANCE);
    out.destroy();
    coefficients.destroy();
  });

  it('counts 64 FLOPs per invocation and iteration, and measures a positive rate', async () => {
    expect(fmaPeakFlops({ workgroups: 2, iterations: 10 })).toBe(2 * 64 * 10 * 64);
    const { device } = await testGpu();
    expect(await measureFmaPeak(device, { workgroups: 8, iterations: 32 }, 2, 1)).toBeGreaterThan(0);
  });
});

// The FMA peak probe's TypeScript side (kernels/fma-peak.wgsl): its dispatch, its work in FLOPs, a
// float64 reference of what it writes (for its test), and a timing of the adapter's float32 peak.
import fmaPeakWgsl from './kernels/fma-peak.wgsl?raw';
import { createStorageBuffer, createStorageBufferFrom } from './buffers.ts';
import { bindKernel, getKernel, recordDispatches, type Dispatch } from './kernel.ts';

const WORKGROUP = 64;
const CHAINS = 8;
const LANES = 4;
/** a and b of x ← x·a + b: a contraction toward b / (1 − a) = 1, so no value grows. */
export const FMA_COEFFICIENTS = Float32Array.of(0.9, 0.1);

export interface FmaPeakShape {
  workgroups: number;
  iterations: number;
}

/** FLOPs of one dispatch: every lane of every chain does a multiply and an add per iteration. */
export function fmaPeakFlops({ workgroups, iterations }: FmaPeakShape): number {
  return workgroups * WORKGROUP * iterations * CHAINS * LANES * 2;
}

/** The probe on `out` (workgroups·64 floats) with its coefficients in `coefficients` (2 floats). */
export function fmaPeakDispatch(
  device: GPUDevice,
  label: string,
  buffers: { out: GPUBuffer; coefficients: GPUBuffer },
  shape: FmaPeakShape,
): Dispatch {
  const kernel = getKernel(device, {
    label,
    code: fmaPeakWgsl,
    bindings: ['storage', 'read-only-storage'],
    constants: { ITERATIONS: shape.iterations },
  });
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [buffers.out, buffers.coefficients], label),
    workgroups: [shape.workgroups],
  };
}

/** What invocation i writes, in float64: Σ over chains and lanes of the recurrence from its start. */
export function fmaPeakReference(invocation: number, iterations: number): number {
  const [a, b] = FMA_COEFFICIENTS;
  let sum = 0;
  for (let chain = 0; chain < CHAINS; chain++) {
    for (let lane = 0; lane < LANES; lane++) {
      let x = Math.fround(invocation * Math.fround(1e-3)) + lane / 4 + chain;
      for (let i = 0; i < iterations; i++) x = x * a + b;
      sum += x;
    }
  }
  return sum;
}

/** The best GFLOP/s of `repeats` submits of `perSubmit` probe dispatches each (after a warm-up). */
export async function measureFmaPeak(
  device: GPUDevice,
  shape: FmaPeakShape,
  perSubmit: number,
  repeats: number,
): Promise<number> {
  const out = createStorageBuffer(device, 'fma-peak.out', shape.workgroups * WORKGROUP * 4);
  const coefficients = createStorageBufferFrom(device, 'fma-peak.coefficients', FMA_COEFFICIENTS);
  const dispatch = fmaPeakDispatch(device, 'fma-peak', { out, coefficients }, shape);
  const submit = async () => {
    const started = performance.now();
    const encoder = device.createCommandEncoder({ label: 'fma-peak' });
    recordDispatches(encoder, Array(perSubmit).fill(dispatch), 'fma-peak');
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - started) / 1000;
  };
  try {
    await submit();
    let best = Infinity;
    for (let i = 0; i < repeats; i++) best = Math.min(best, await submit());
    return (perSubmit * fmaPeakFlops(shape)) / best / 1e9;
  } finally {
    out.destroy();
    coefficients.destroy();
  }
}

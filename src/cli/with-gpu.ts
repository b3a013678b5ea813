// Runs a CLI command's GPU work on a fresh Dawn device and fails the command when the device
// reported any error (a validation error names its kernel), instead of printing wrong numbers.
import { acquireGpu, type Gpu } from '../engine/gpu.ts';

export async function withGpu<T>(work: (gpu: Gpu) => Promise<T>): Promise<T> {
  const gpu = await acquireGpu();
  try {
    const result = await work(gpu);
    await gpu.device.queue.onSubmittedWorkDone();
    gpu.assertHealthy();
    return result;
  } finally {
    gpu.destroy();
  }
}

// `rlhf-lab gpu`: which WebGPU adapter Dawn gives this machine, and (with --check) whether the
// matmul kernel computes correctly on it.
import { runMatmulCheck } from '../engine/selfcheck.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function gpuCommand(context: CommandContext): Promise<unknown> {
  return withGpu(async (gpu) => {
    if (!context.values.check) return gpu.info;
    const check = await runMatmulCheck(gpu.device, 256, 256, 256, { bias: true });
    context.log(
      `matmul 256x256x256: max |Δ| ${check.maxAbsDiff.toExponential(2)} (bound ${check.tolerance.toExponential(2)}), ${check.gflops.toFixed(2)} GFLOP/s`,
    );
    return { ...gpu.info, matmulCheck: check };
  });
}

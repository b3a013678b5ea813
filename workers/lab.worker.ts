// The lab's worker: it owns the GPUDevice (and, in later stages, the models) so the page never
// blocks on GPU work. Exposed with comlink; the app's type for it is `LabWorkerApi = typeof api`.
import * as Comlink from 'comlink';
import { acquireGpu, type Gpu, type GpuError, type GpuInfo } from '../src/engine/gpu.ts';
import { runMatmulCheck, type MatmulCheckResult } from '../src/engine/selfcheck.ts';

let gpuPromise: Promise<Gpu> | undefined;

function gpu(): Promise<Gpu> {
  gpuPromise ??= acquireGpu().catch((error: unknown) => {
    gpuPromise = undefined; // let a later call retry (e.g. after the user enables a flag)
    throw error;
  });
  return gpuPromise;
}

const api = {
  /** Acquires the device (once) and describes it. Rejects with advice when WebGPU is missing. */
  async gpuInfo(): Promise<GpuInfo> {
    return (await gpu()).info;
  },

  /** Runs the matmul kernel on random (M,K)x(K,N) inputs and compares with a float64 CPU result. */
  async matmulCheck(M: number, N: number, K: number): Promise<MatmulCheckResult> {
    return runMatmulCheck((await gpu()).device, M, N, K, { bias: true });
  },

  /** Forwards device errors and device loss to the page. */
  async onGpuError(listener: (error: GpuError) => void): Promise<void> {
    (await gpu()).onError(listener);
  },
};

export type LabWorkerApi = typeof api;

Comlink.expose(api);

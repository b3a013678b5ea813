// GPU status for the app: what the worker's device is, whether WebGPU is missing (then the worker
// samples with onnxruntime-web and the training panels explain what they need), the latest kernel
// self-check and any device error. Selectors are defined at module level.
import { create } from 'zustand';
import type { GpuError, GpuInfo } from '../engine/gpu.ts';
import type { MatmulCheckResult } from '../engine/selfcheck.ts';
import { Comlink, labWorker } from './bridge.ts';
import { errorMessage } from './errorMessage.ts';

export type GpuStatus = 'idle' | 'connecting' | 'ready' | 'unsupported' | 'failed';

interface GpuState {
  status: GpuStatus;
  info?: GpuInfo;
  /** Why the device could not be had, or the last device error. */
  error?: string;
  check?: MatmulCheckResult;
  checking: boolean;
  connect(): Promise<void>;
  /** A fresh device replaced a lost one (the training store's recovery). */
  recovered(info: GpuInfo): void;
  runCheck(M: number, N: number, K: number): Promise<void>;
}

function pageHasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator;
}

export const useGpuStore = create<GpuState>((set, get) => ({
  status: 'idle',
  checking: false,
  async connect() {
    if (get().status === 'connecting' || get().status === 'ready') return;
    if (!pageHasWebGpu()) {
      set({ status: 'connecting', error: undefined });
      await labWorker().sampleWithoutWebGpu();
      set({ status: 'unsupported', error: 'navigator.gpu is missing in this browser.' });
      return;
    }
    set({ status: 'connecting', error: undefined });
    try {
      const info = await labWorker().gpuInfo();
      await labWorker().onGpuError(
        Comlink.proxy((error: GpuError) =>
          set({
            error: `${error.kind}: ${error.message}`,
            status: error.kind === 'device-lost' ? 'failed' : get().status,
          }),
        ),
      );
      set({ status: 'ready', info });
    } catch (error) {
      const message = errorMessage(error);
      set({ status: (error as Error)?.name === 'NoWebGpuError' ? 'unsupported' : 'failed', error: message });
    }
  },
  recovered(info) {
    set({ status: 'ready', info, error: undefined });
  },
  async runCheck(M, N, K) {
    set({ checking: true, error: undefined });
    try {
      set({ check: await labWorker().matmulCheck(M, N, K) });
    } catch (error) {
      set({ error: errorMessage(error) });
    } finally {
      set({ checking: false });
    }
  },
}));

export const selectStatus = (state: GpuState) => state.status;
/** True where the browser has no WebGPU: the lab samples with onnxruntime-web and cannot train. */
export const selectWebGpuMissing = (state: GpuState) => state.status === 'unsupported';
export const selectInfo = (state: GpuState) => state.info;
export const selectError = (state: GpuState) => state.error;
export const selectCheck = (state: GpuState) => state.check;
export const selectChecking = (state: GpuState) => state.checking;

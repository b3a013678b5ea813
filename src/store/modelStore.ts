// The current model in the worker: loading the shipped base checkpoint (with download progress),
// its summary, and samples drawn from it. Selectors are defined at module level.
import { create } from 'zustand';
import type { DownloadProgress } from '../data/fetch-checkpoint.ts';
import type { SamplingOptions } from '../model/sampler.ts';
import type { ModelSummary } from '../../workers/lab.worker.ts';
import { Comlink, labWorker } from './bridge.ts';

/** Where the app serves the base model the lab ships (public/models/base). */
export const BASE_MODEL_URL = `${import.meta.env.BASE_URL}models/base/`;

export interface Sample {
  prompt: string;
  completion: string;
  ended: boolean;
  options: SamplingOptions;
}

type ModelStatus = 'idle' | 'loading' | 'ready' | 'failed';

interface ModelState {
  status: ModelStatus;
  progress: Record<string, DownloadProgress>;
  summary?: ModelSummary;
  error?: string;
  sampling: boolean;
  samples: Sample[];
  loadBase(): Promise<void>;
  sample(text: string, chat: boolean, options: SamplingOptions): Promise<void>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export const useModelStore = create<ModelState>((set, get) => ({
  status: 'idle',
  progress: {},
  sampling: false,
  samples: [],
  async loadBase() {
    if (get().status === 'loading' || get().status === 'ready') return;
    set({ status: 'loading', error: undefined, progress: {} });
    try {
      const onProgress = Comlink.proxy((p: DownloadProgress) => set((state) => ({ progress: { ...state.progress, [p.file]: p } })));
      const summary = await labWorker().loadModel(BASE_MODEL_URL, 'base', onProgress);
      set({ status: 'ready', summary });
    } catch (error) {
      set({ status: 'failed', error: message(error) });
    }
  },
  async sample(text, chat, options) {
    set({ sampling: true, error: undefined });
    try {
      const result = await labWorker().sample(text, chat, options);
      set((state) => ({ samples: [{ prompt: result.prompt, completion: result.completion, ended: result.ended, options }, ...state.samples].slice(0, 20) }));
    } catch (error) {
      set({ error: message(error) });
    } finally {
      set({ sampling: false });
    }
  },
}));

export const selectModelStatus = (state: ModelState) => state.status;
export const selectModelSummary = (state: ModelState) => state.summary;
export const selectModelError = (state: ModelState) => state.error;
export const selectModelProgress = (state: ModelState) => state.progress;
export const selectSamples = (state: ModelState) => state.samples;
export const selectSampling = (state: ModelState) => state.sampling;

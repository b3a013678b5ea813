// The base model in the worker: loading the lesson preset's shipped checkpoint (with download
// progress), its summary, and samples drawn from any named checkpoint (on the GPU, or with
// onnxruntime-web where the browser has no WebGPU). Once the base is in, the training store restores
// the saved checkpoints and runs, and watches the GPU device if there is one. Selectors are defined at module level.
import { create } from 'zustand';
import type { DownloadProgress } from '../data/fetch-checkpoint.ts';
import { DEFAULT_SAMPLING, type SamplingOptions } from '../model/sampler.ts';
import type { ModelSummary } from '../../workers/lab.worker.ts';
import { Comlink, labWorker } from './bridge.ts';
import { useGpuStore } from './gpuStore.ts';
import { presetModelUrl, useLessonStore } from './lessonStore.ts';
import { useTrainingStore } from './trainingStore.ts';
import { errorMessage } from './errorMessage.ts';

export interface Sample {
  checkpoint: string;
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
  sample(checkpoint: string, text: string, chat: boolean, options: SamplingOptions): Promise<void>;
}

/** Samples kept on the Model panel, newest first. */
const KEPT_SAMPLES = 20;

export const useModelStore = create<ModelState>((set, get) => ({
  status: 'idle',
  progress: {},
  sampling: false,
  samples: [],
  async loadBase() {
    if (get().status === 'loading' || get().status === 'ready') return;
    set({ status: 'loading', error: undefined, progress: {} });
    let summary: ModelSummary;
    try {
      const onProgress = Comlink.proxy((p: DownloadProgress) =>
        set((state) => ({ progress: { ...state.progress, [p.file]: p } })),
      );
      summary = await labWorker().loadBase(presetModelUrl(useLessonStore.getState().preset), onProgress);
    } catch (error) {
      set({ status: 'failed', error: errorMessage(error) });
      return;
    }
    set({ status: 'ready', summary });
    const training = useTrainingStore.getState();
    const watch = useGpuStore.getState().status === 'ready' ? training.watchDevice() : Promise.resolve();
    await Promise.all([
      training.restore(),
      watch.catch((error: unknown) => useTrainingStore.setState({ error: errorMessage(error) })),
    ]);
  },
  async sample(checkpoint, text, chat, options) {
    set({ sampling: true, error: undefined });
    try {
      const result = await labWorker().sample(checkpoint, text, chat, options);
      const sample = { checkpoint, prompt: result.prompt, completion: result.completion, ended: result.ended, options };
      set((state) => ({ samples: [sample, ...state.samples].slice(0, KEPT_SAMPLES) }));
    } catch (error) {
      set({ error: errorMessage(error) });
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

/** The Model panel's sampling form at first: temperature 0.8, top-k 40, top-p 0.95, a response of at most half the context. */
export function samplingFormDefaults(contextLength: number): SamplingOptions {
  return {
    ...DEFAULT_SAMPLING,
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    maxNewTokens: Math.min(DEFAULT_SAMPLING.maxNewTokens, Math.floor(contextLength / 2)),
  };
}

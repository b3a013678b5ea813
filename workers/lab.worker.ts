// The lab's worker: it owns the GPUDevice and the models so the page never blocks on GPU work.
// Exposed with comlink; the app's type for it is `LabWorkerApi = typeof api`.
import * as Comlink from 'comlink';
import { acquireGpu, type Gpu, type GpuError, type GpuInfo } from '../src/engine/gpu.ts';
import { createStorageBufferFrom } from '../src/engine/buffers.ts';
import { runMatmulCheck, type MatmulCheckResult } from '../src/engine/selfcheck.ts';
import { parameterCount } from '../src/model/config.ts';
import type { Checkpoint } from '../src/model/checkpoint.ts';
import { GptSampler, type SamplingOptions } from '../src/model/sampler.ts';
import { fetchCheckpoint, type DownloadProgress } from '../src/data/fetch-checkpoint.ts';
import { extractResponse, formatPrompt } from '../src/world/index.ts';

/** Sequences the Model panel samples at once. */
const SAMPLE_BATCH = 1;

let gpuPromise: Promise<Gpu> | undefined;

function gpu(): Promise<Gpu> {
  gpuPromise ??= acquireGpu().catch((error: unknown) => {
    gpuPromise = undefined; // let a later call retry (e.g. after the user enables a flag)
    throw error;
  });
  return gpuPromise;
}

interface LoadedModel {
  checkpoint: Checkpoint;
  params: GPUBuffer;
  sampler: GptSampler;
}

let current: LoadedModel | undefined;

export interface ModelSummary {
  name: string;
  kind: string;
  parameters: number;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nCtx: number;
  vocabSize: number;
  meta: Record<string, string>;
}

function summary(name: string, checkpoint: Checkpoint): ModelSummary {
  const { config, meta = {} } = checkpoint;
  return { name, kind: meta.kind ?? 'base', parameters: parameterCount(config), ...config, meta };
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

  /** Downloads and validates a checkpoint folder (e.g. /models/base/) and makes it the current model. */
  async loadModel(baseUrl: string, name: string, onProgress: (progress: DownloadProgress) => void): Promise<ModelSummary> {
    const { device } = await gpu();
    const checkpoint = await fetchCheckpoint(new URL(baseUrl, self.location.href).href, onProgress);
    const params = createStorageBufferFrom(device, `${name}.params`, checkpoint.params);
    const sampler = new GptSampler(device, checkpoint.config, params, 'lm', SAMPLE_BATCH, checkpoint.config.nCtx, checkpoint.tokenizer.eosId, `${name}.sampler`);
    current?.sampler.destroy();
    current?.params.destroy();
    current = { checkpoint, params, sampler };
    return summary(name, checkpoint);
  },

  /** Samples a response; `chat` frames the text as an instruction (Human: … Assistant:). */
  async sample(text: string, chat: boolean, options: SamplingOptions): Promise<{ prompt: string; completion: string; ended: boolean; tokens: number }> {
    if (!current) throw new Error('no model is loaded yet');
    const { tokenizer, config } = current.checkpoint;
    const prompt = chat ? formatPrompt(text) : text;
    const ids = tokenizer.encode(prompt);
    if (ids.length >= config.nCtx) throw new Error(`the prompt has ${ids.length} tokens; the model's context is ${config.nCtx}`);
    const generation = await current.sampler.generate([ids], options);
    const raw = tokenizer.decode(generation.tokens[0]);
    return { prompt, completion: chat ? extractResponse(raw) : raw.replace(/<\|endoftext\|>$/, ''), ended: generation.ended[0], tokens: generation.tokens[0].length };
  },
};

export type LabWorkerApi = typeof api;

Comlink.expose(api);

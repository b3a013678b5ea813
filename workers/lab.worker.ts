// The lab's worker: it owns the GPUDevice, the named checkpoints (base, sft, reward_model, policy,
// dpo) and every training run, so the page never blocks on GPU work. Exposed with comlink; the
// app's type for it is `LabWorkerApi = typeof api`. Progress and PPO iterations stream to the page
// through comlink proxies. A lost device drops every GPU object; the checkpoints' CPU copies stay,
// and the next call acquires a fresh device. Where the browser has no WebGPU (the page says so, or
// no adapter can be had) sampling runs in onnxruntime-web (wasm) on the checkpoints' ONNX export,
// and training rejects with what it needs.
import * as Comlink from 'comlink';
import { acquireGpu, NoWebGpuError, type Gpu, type GpuError, type GpuInfo } from '../src/engine/gpu.ts';
import { runMatmulCheck, type MatmulCheckResult } from '../src/engine/selfcheck.ts';
import { checkpointFiles, type CheckpointFiles, type CheckpointInput } from '../src/model/checkpoint.ts';
import type { SamplingOptions } from '../src/model/sampler.ts';
import { fetchCheckpoint, type DownloadProgress } from '../src/data/fetch-checkpoint.ts';
import { extractResponse, formatPrompt, type Ranking } from '../src/world/index.ts';
import type { RewardModelProgress } from '../src/rlhf/reward-model.ts';
import type { DpoProgress } from '../src/rlhf/dpo.ts';
import { CheckpointRegistry, SAMPLER_ROWS, summarize, type CheckpointSummary } from './checkpoints.ts';
import {
  rewardModelMistakes,
  runDpo,
  runRewardModel,
  runSft,
  scoreWithRewardModel,
  type DemonstrationText,
  type DpoSettings,
  type RewardModelSettings,
  type SftReport,
  type SftSettings,
} from './training.ts';
import { PpoSession, type PpoIterationReport, type PpoSettings } from './ppo-session.ts';
import type { PpoPhase } from '../src/rlhf/ppo.ts';
import { blindPairs, evaluateCheckpoints, type EvaluationSettings } from './evaluation.ts';
import { interactively } from './priority.ts';

export type { CheckpointSummary } from './checkpoints.ts';
export type { CheckpointKind } from '../src/data/lab-db.ts';
export type {
  DemonstrationText,
  DpoSettings,
  LabeledMisprediction,
  RewardModelOutcome,
  RewardModelSettings,
  SftSettings,
} from './training.ts';
export type { PpoIterationReport, PpoSampleRow, PpoSettings } from './ppo-session.ts';
export type { PpoPhase } from '../src/rlhf/ppo.ts';
export type { BlindPair, EvaluationRow, EvaluationSettings } from './evaluation.ts';

/** The training jobs the page can stop. */
export type JobName = 'sft' | 'reward_model' | 'dpo' | 'ppo' | 'evaluation';

/** Why a training job cannot run in this browser. */
const TRAINING_NEEDS_WEBGPU =
  'Training runs in WebGPU compute shaders, which this browser does not provide. Sampling, ranking and blind comparisons still work (on the CPU, with onnxruntime-web).';

const registry = new CheckpointRegistry();
/** True once the page found no navigator.gpu or no adapter could be had: sampling uses onnxruntime-web. */
let withoutWebGpu = false;
let gpuPromise: Promise<Gpu> | undefined;
let ppo: PpoSession | undefined;
let busy: JobName | undefined;
const stopRequests = new Set<JobName>();

/** Forgets every GPU object of a lost device; the next gpu() call acquires a new one. */
function forgetDevice(): void {
  gpuPromise = undefined;
  registry.forgetGpu();
  ppo = undefined;
}

function gpu(): Promise<Gpu> {
  if (withoutWebGpu) return Promise.reject(new NoWebGpuError(TRAINING_NEEDS_WEBGPU));
  gpuPromise ??= acquireGpu().then(
    (acquired) => {
      void acquired.lost.then(() => {
        if (gpuPromise) forgetDevice();
      });
      return acquired;
    },
    (error: unknown) => {
      gpuPromise = undefined; // let a later call retry (e.g. after the user enables a flag)
      if (error instanceof NoWebGpuError) withoutWebGpu = true;
      throw error;
    },
  );
  return gpuPromise;
}

async function device(): Promise<GPUDevice> {
  return (await gpu()).device;
}

/** The device sampling runs on; undefined where onnxruntime-web (wasm) samples instead. */
async function samplingDevice(): Promise<GPUDevice | undefined> {
  if (withoutWebGpu) return undefined;
  try {
    return await device();
  } catch (error) {
    if (withoutWebGpu) return undefined;
    throw error;
  }
}

/** Runs one training job at a time; `stop(job)` asks it to end after its current step. */
async function exclusive<R>(job: JobName, run: () => Promise<R>): Promise<R> {
  if (busy) throw new Error(`the GPU is busy with ${busy.replace('_', ' ')}: wait for it to finish or stop it`);
  busy = job;
  stopRequests.delete(job);
  try {
    return await run();
  } finally {
    busy = undefined;
    stopRequests.delete(job);
  }
}

const shouldStop = (job: JobName) => () => stopRequests.has(job);

/** The model panel's description of a checkpoint. */
export interface ModelSummary extends CheckpointSummary {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nCtx: number;
  vocabSize: number;
  meta: Record<string, string>;
}

function modelSummary(name: string): ModelSummary {
  const checkpoint = registry.get(name);
  return { ...summarize(name, checkpoint), ...checkpoint.config, meta: checkpoint.meta ?? {} };
}

const api = {
  /** The page has no navigator.gpu: sample with onnxruntime-web from now on; training rejects. */
  async sampleWithoutWebGpu(): Promise<void> {
    withoutWebGpu = true;
    forgetDevice();
  },

  /** Acquires the device (once) and describes it. Rejects with advice when WebGPU is missing (sampling then uses onnxruntime-web). */
  async gpuInfo(): Promise<GpuInfo> {
    return (await gpu()).info;
  },

  /** Runs the matmul kernel on random (M,K)x(K,N) inputs and compares with a float64 CPU result. */
  async matmulCheck(M: number, N: number, K: number): Promise<MatmulCheckResult> {
    return runMatmulCheck(await device(), M, N, K, { bias: true });
  },

  /** Forwards device errors and device loss to the page. */
  async onGpuError(listener: (error: GpuError) => void): Promise<void> {
    (await gpu()).onError(listener);
  },

  /** Drops the GPU state of a lost device and acquires a new one; checkpoints stay. */
  async resetDevice(): Promise<GpuInfo> {
    forgetDevice();
    return (await gpu()).info;
  },

  /** Downloads and validates a checkpoint folder (e.g. /models/base/) and registers it as "base". */
  async loadBase(baseUrl: string, onProgress: (progress: DownloadProgress) => void): Promise<ModelSummary> {
    const checkpoint = await fetchCheckpoint(new URL(baseUrl, self.location.href).href, onProgress);
    const differs =
      registry.has('base') && JSON.stringify(registry.base().config) !== JSON.stringify(checkpoint.config);
    if (differs) for (const { name } of registry.summaries()) registry.remove(name);
    registry.put('base', { ...checkpoint, meta: { kind: 'base', ...checkpoint.meta } });
    return modelSummary('base');
  },

  async describe(name: string): Promise<ModelSummary> {
    return modelSummary(name);
  },

  async checkpoints(): Promise<CheckpointSummary[]> {
    return registry.summaries();
  },

  /** Samples one response from a checkpoint; `chat` frames the text as an instruction (Human: … Assistant:). */
  async sample(
    name: string,
    text: string,
    chat: boolean,
    options: SamplingOptions,
  ): Promise<{ prompt: string; completion: string; ended: boolean; tokens: number }> {
    const sampler = await registry.generator(name, await samplingDevice());
    const { tokenizer, config } = registry.get(name);
    const prompt = chat ? formatPrompt(text) : text;
    const ids = tokenizer.encode(prompt);
    if (ids.length >= config.nCtx)
      throw new Error(`the prompt has ${ids.length} tokens; the model's context is ${config.nCtx}`);
    const generation = await sampler.generate([ids], options);
    const raw = tokenizer.decode(generation.tokens[0]);
    return {
      prompt,
      completion: chat ? extractResponse(raw) : raw.replace(/<\|endoftext\|>$/, ''),
      ended: generation.ended[0],
      tokens: generation.tokens[0].length,
    };
  },

  /** K responses per instruction from a checkpoint (the Rank panel's outputs), each from its own seed. */
  async generate(name: string, prompts: string[], K: number, options: SamplingOptions): Promise<string[][]> {
    const sampler = await registry.generator(name, await samplingDevice());
    const { tokenizer, config } = registry.get(name);
    const ids = prompts.map((text) => tokenizer.encode(formatPrompt(text)));
    ids.forEach((row, i) => {
      if (row.length >= config.nCtx)
        throw new Error(`prompt ${i + 1} has ${row.length} tokens; the model's context is ${config.nCtx}`);
    });
    const outputs: string[][] = prompts.map(() => []);
    for (let k = 0; k < K; k++) {
      for (let first = 0; first < ids.length; first += SAMPLER_ROWS) {
        const generation = await sampler.generate(ids.slice(first, first + SAMPLER_ROWS), {
          ...options,
          seed: options.seed + 1000 * k + first,
        });
        generation.tokens.forEach((tokens, i) => outputs[first + i].push(extractResponse(tokenizer.decode(tokens))));
      }
    }
    return outputs;
  },

  /** The checkpoint as ONNX (opset 17, input_ids → logits), its bytes transferred to the page. */
  async exportOnnx(name: string): Promise<Uint8Array> {
    const bytes = registry.onnx(name);
    return Comlink.transfer(bytes, [bytes.buffer]);
  },

  /** The checkpoint as a Hugging Face folder (safetensors + config + tokenizer files). */
  async exportCheckpoint(name: string): Promise<CheckpointFiles> {
    return registry.files(name);
  },

  /** Validates checkpoint files (errors name the file at fault) without registering them: the page saves them first. */
  async checkCheckpoint(
    name: string,
    files: CheckpointInput,
  ): Promise<{ summary: CheckpointSummary; files: CheckpointFiles }> {
    const checkpoint = registry.check(name, files);
    return { summary: summarize(name, checkpoint), files: checkpointFiles(checkpoint) };
  },

  /** Validates and registers checkpoint files (errors name the file at fault). */
  async importCheckpoint(name: string, files: CheckpointInput): Promise<CheckpointSummary> {
    return registry.load(name, files);
  },

  async removeCheckpoint(name: string): Promise<void> {
    if (name === 'base') throw new Error('the base model cannot be removed');
    registry.remove(name);
  },

  /** Asks a running job to stop after its current step (PPO: after its current iteration). */
  async stop(job: JobName): Promise<void> {
    stopRequests.add(job);
    if (job === 'ppo') ppo?.pause();
  },

  async trainSft(demonstrations: DemonstrationText[], settings: SftSettings, onProgress: (p: SftReport) => void) {
    return exclusive('sft', async () =>
      runSft(await device(), registry, demonstrations, settings, {
        onProgress: (p) => void onProgress(p),
        shouldStop: shouldStop('sft'),
      }),
    );
  },

  async trainRewardModel(
    rankings: { train: Ranking[]; heldout: Ranking[] },
    demonstrations: DemonstrationText[],
    settings: RewardModelSettings,
    onProgress: (p: RewardModelProgress) => void,
  ) {
    return exclusive('reward_model', async () =>
      runRewardModel(await device(), registry, rankings, demonstrations, settings, {
        onProgress: (p) => void onProgress(p),
        shouldStop: shouldStop('reward_model'),
      }),
    );
  },

  /** The comparisons the reward model orders wrongly, most confidently wrong first. */
  async rewardModelMistakes(rankings: { train: Ranking[]; heldout: Ranking[] }, limit: number) {
    return rewardModelMistakes(await device(), registry, rankings, limit);
  },

  /** The reward model's scores of (prompt, response) texts: a person waits, so background jobs give way. */
  async score(items: DemonstrationText[]): Promise<number[]> {
    return interactively(async () => scoreWithRewardModel(await device(), registry, items));
  },

  async trainDpo(rankings: Ranking[], settings: DpoSettings, onProgress: (p: DpoProgress) => void) {
    return exclusive('dpo', async () =>
      runDpo(await device(), registry, rankings, settings, {
        onProgress: (p) => void onProgress(p),
        shouldStop: shouldStop('dpo'),
      }),
    );
  },

  /** Builds a PPO run (replacing any other); resumeAt continues from the "policy" checkpoint. */
  async ppoStart(settings: PpoSettings): Promise<{ nextIteration: number }> {
    if (ppo?.isRunning) throw new Error('PPO is running: pause it first');
    ppo?.destroy();
    ppo = undefined;
    ppo = PpoSession.create(await device(), registry, settings);
    return { nextIteration: ppo.nextIteration };
  },

  /** Runs PPO iterations until `iterations` are done or it is paused; each is reported as it ends, and each phase as it begins. */
  async ppoRun(
    iterations: number,
    onIteration: (report: PpoIterationReport) => void | Promise<void>,
    onPhase?: (phase: PpoPhase) => void,
  ) {
    const session = ppo;
    if (!session) throw new Error('PPO has not been started');
    return exclusive('ppo', () =>
      session.run(iterations, (report) => onIteration(report), onPhase && ((phase) => void onPhase(phase))),
    );
  },

  async ppoPause(): Promise<void> {
    ppo?.pause();
  },

  /** Frees the PPO run's models; the saved "policy" checkpoint stays. */
  async ppoReset(): Promise<void> {
    if (ppo?.isRunning) throw new Error('PPO is running: pause it first');
    ppo?.destroy();
    ppo = undefined;
  },

  async evaluate(names: string[], settings: EvaluationSettings, onProgress: (message: string) => void) {
    return exclusive('evaluation', async () =>
      evaluateCheckpoints(await samplingDevice(), registry, names, settings, (m) => void onProgress(m)),
    );
  },

  async blindPairs(a: string, b: string, count: number, settings: EvaluationSettings) {
    return blindPairs(await samplingDevice(), registry, a, b, count, settings);
  },
};

export type LabWorkerApi = typeof api;

Comlink.expose(api);

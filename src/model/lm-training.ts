// Language-model training on a token stream: pretraining the base model (and the pretraining mix
// of SFT and PPO-ptx). Batches are random windows of the stream, deterministic from a seed; the
// learning rate follows nanoGPT's warmup + cosine schedule; losses are read back asynchronously.
import { Rng } from './random.ts';
import type { Tokenizer } from './tokenizer.ts';
import { DEFAULT_ADAMW, type AdamwHyperparams, type Batch, type GptModel } from './gpt.ts';

/**
 * Pretraining holds out the first HELDOUT_SHARE of the corpus for its validation loss. The corpus
 * generator is prefix-stable (the first n documents of a seed never change), so the first
 * heldoutCount(n) documents of any corpus of that seed are text no model was pretrained on.
 */
export const HELDOUT_SHARE = 0.05;

export function heldoutCount(documents: number): number {
  return Math.max(1, Math.round(documents * HELDOUT_SHARE));
}

/** Concatenates documents into one token stream, each followed by EOS (the document separator). */
export function tokenStream(tokenizer: Tokenizer, documents: string[]): Int32Array {
  const ids: number[] = [];
  for (const document of documents) {
    for (const id of tokenizer.encode(document)) ids.push(id);
    ids.push(tokenizer.eosId);
  }
  return Int32Array.from(ids);
}

/** B random windows of T+1 tokens: inputs (B,T) and next-token targets (B,T). */
export function sampleWindows(stream: Int32Array, B: number, T: number, rng: Rng): Batch {
  if (stream.length < T + 1)
    throw new Error(`token stream of ${stream.length} tokens is shorter than one window of ${T + 1}`);
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(stream.length - T);
    tokens.set(stream.subarray(start, start + T), b * T);
    targets.set(stream.subarray(start + 1, start + T + 1), b * T);
  }
  return { tokens, targets };
}

/** Consecutive (not random) windows covering the stream once: a deterministic held-out loss. */
export function evaluationWindows(stream: Int32Array, B: number, T: number, maxBatches: number): Batch[] {
  const batches: Batch[] = [];
  const windows = Math.floor((stream.length - 1) / T);
  for (let first = 0; first + B <= windows && batches.length < maxBatches; first += B) {
    const tokens = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = (first + b) * T;
      tokens.set(stream.subarray(start, start + T), b * T);
      targets.set(stream.subarray(start + 1, start + T + 1), b * T);
    }
    batches.push({ tokens, targets });
  }
  if (batches.length === 0)
    throw new Error(`held-out stream of ${stream.length} tokens is shorter than one batch (${B}×${T})`);
  return batches;
}

export interface LrSchedule {
  maxLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** nanoGPT's get_lr: linear warmup, then cosine decay from maxLr to minLr at totalSteps. */
export function learningRate(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.maxLr * (step + 1)) / s.warmupSteps;
  if (step >= s.totalSteps) return s.minLr;
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.maxLr - s.minLr);
}

/** Mean next-token loss of a model over evaluation batches (forward only; weights all 1). */
export async function evaluationLoss(model: GptModel, batches: Batch[]): Promise<number> {
  let total = 0;
  for (const batch of batches) {
    model.setBatch(batch);
    const { logprobs } = await model.evaluate();
    total -= logprobs!.reduce((sum, lp) => sum + lp, 0) / logprobs!.length;
  }
  return total / batches.length;
}

export interface PretrainProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  heldoutLoss?: number;
}

export interface PretrainOptions {
  stream: Int32Array;
  heldout?: Batch[];
  schedule: LrSchedule;
  adamw?: Omit<AdamwHyperparams, 'lr'>;
  seed: number;
  /** First step to run (resuming); the batch RNG is advanced past the skipped steps. */
  startStep?: number;
  /** Report every this many steps (the loss of that step is awaited; others are not). */
  logEvery: number;
  evalEvery?: number;
  onProgress(progress: PretrainProgress): void | Promise<void>;
  /** Called every `checkpointEvery` steps and at the end, after the step's work has finished. */
  checkpointEvery?: number;
  onCheckpoint?(step: number): Promise<void>;
  /** Aborts between steps (e.g. a pause button). */
  shouldStop?(): boolean;
}

/**
 * Trains for schedule.totalSteps. Every step's loss and gradient norm are checked as they arrive
 * (without waiting for them), and the held-out loss when it is measured: the first NaN or infinite
 * one stops training with an error naming its step, before the next step or checkpoint.
 */
export async function pretrain(model: GptModel, options: PretrainOptions): Promise<{ step: number; loss: number }> {
  const rng = new Rng(options.seed);
  const { B, T } = model;
  const start = options.startStep ?? 0;
  for (let skipped = 0; skipped < start; skipped++) sampleWindows(options.stream, B, T, rng);
  const adamw = options.adamw ?? DEFAULT_ADAMW;
  let lastLoss = NaN;
  let windowStart = performance.now();
  let windowSteps = 0;
  let divergence: string | undefined;
  const checkFinite = (stepNumber: number, name: string, value: number) => {
    if (!Number.isFinite(value))
      divergence ??= `training diverged at step ${stepNumber}: ${name} is ${value}; lower the learning rate`;
  };
  const stopIfDiverged = () => {
    if (divergence !== undefined) throw new Error(divergence);
  };
  let step = start;
  for (; step < options.schedule.totalSteps; step++) {
    stopIfDiverged();
    if (options.shouldStop?.()) break;
    const lr = learningRate(step, options.schedule);
    model.setBatch(sampleWindows(options.stream, B, T, rng));
    const stepNumber = step + 1;
    const pending = model.step({ optimizer: { ...adamw, lr } });
    // errors of the step itself surface where it is awaited below
    pending.then(
      ({ loss, gradNorm }) => (
        checkFinite(stepNumber, 'loss', loss),
        checkFinite(stepNumber, 'the gradient norm', gradNorm)
      ),
      () => undefined,
    );
    windowSteps += 1;
    const last = step === options.schedule.totalSteps - 1;
    if (stepNumber % options.logEvery === 0 || last) {
      const { loss, gradNorm } = await pending;
      stopIfDiverged();
      lastLoss = loss;
      const seconds = (performance.now() - windowStart) / 1000;
      const progress: PretrainProgress = {
        step: stepNumber,
        totalSteps: options.schedule.totalSteps,
        loss,
        lr,
        gradNorm,
        tokensPerSecond: (windowSteps * B * T) / seconds,
      };
      if (options.heldout && options.evalEvery && (stepNumber % options.evalEvery === 0 || last)) {
        progress.heldoutLoss = await evaluationLoss(model, options.heldout);
        checkFinite(stepNumber, 'the held-out loss', progress.heldoutLoss);
        stopIfDiverged();
      }
      await options.onProgress(progress);
      windowStart = performance.now();
      windowSteps = 0;
    }
    if (options.onCheckpoint && options.checkpointEvery && (stepNumber % options.checkpointEvery === 0 || last)) {
      await pending;
      stopIfDiverged();
      await options.onCheckpoint(stepNumber);
    }
  }
  stopIfDiverged();
  return { step, loss: lastLoss };
}

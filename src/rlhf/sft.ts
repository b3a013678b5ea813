// Supervised fine-tuning (InstructGPT §3.5, Appendix C.1): the pretrained LM learns the labelers'
// demonstrations with cross-entropy on response tokens only (the prompt is context, never a
// target), for several epochs, shuffled every epoch, with a cosine learning rate that decays to
// 10% of its peak and no warmup. An optional pretraining mix interleaves extra batches of random
// windows from the pretraining stream. Also home to the small pieces every trainer in this folder
// shares: truncation to the model's length, the per-epoch shuffle, option checks and the NaN/Inf guard.
//
// Not reproduced: the paper's residual dropout of 0.2 (the GPU model has no dropout).
import { Rng } from '../model/random.ts';
import { DEFAULT_ADAMW, type AdamwHyperparams, type GptModel } from '../model/gpt.ts';
import { learningRate, sampleWindows, type LrSchedule } from '../model/lm-training.ts';
import { sequenceBatch, type Sequence, type SequenceBatch } from './batches.ts';

/**
 * Id of padding rows and positions. Padding always comes after a row's real tokens and carries
 * weight 0 (and no value gradient), so under causal attention its id changes nothing.
 */
export const PAD_ID = 0;

/** Paper, Appendix C.1 and C.2: SFT and RM learning rates decay (cosine) to 10% of the peak. */
export const PAPER_MIN_LR_RATIO = 0.1;

export interface FittedSequences {
  /** The sequences that fit, responses cut at the end where needed. */
  sequences: Sequence[];
  /** Index in the input of each kept sequence. */
  kept: number[];
  /** How many kept sequences lost the end of their response. */
  truncated: number;
  /** How many were dropped: the prompt alone leaves no room for a response token, or the response is empty. */
  dropped: number;
}

/**
 * Fits each prompt + response into `maxIds` ids by cutting the end of the response; the prompt
 * is kept whole (a sequence whose prompt leaves no room for one response token is dropped).
 * LM batches hold T + 1 ids (inputs and shifted targets); a scalar model reads its value at the
 * last input position, so reward and value models need maxIds = T.
 */
export function fitSequences(sequences: readonly Sequence[], maxIds: number): FittedSequences {
  const fitted: FittedSequences = { sequences: [], kept: [], truncated: 0, dropped: 0 };
  sequences.forEach(({ prompt, response }, index) => {
    const room = maxIds - prompt.length;
    if (prompt.length === 0 || response.length === 0 || room < 1) {
      fitted.dropped += 1;
      return;
    }
    if (response.length > room) fitted.truncated += 1;
    fitted.sequences.push({ prompt, response: response.slice(0, room) });
    fitted.kept.push(index);
  });
  return fitted;
}

/** A fresh random permutation of 0..n−1 (Fisher–Yates). */
export function shuffledIndices(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Throws unless a count option (epochs, batch sizes) is an integer ≥ 1. */
export function assertCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer ≥ 1, got ${value}`);
}

/** Stops training with a clear error when a loss is NaN or infinite. */
export function assertFiniteLoss(stage: string, step: number, loss: number): void {
  if (!Number.isFinite(loss)) throw new Error(`${stage} diverged at step ${step}: loss is ${loss}; lower the learning rate`);
}

export interface SftProgress {
  /** 1-based epoch. */
  epoch: number;
  /** SFT steps done, 1-based (pretraining-mix steps are not counted). */
  step: number;
  totalSteps: number;
  /** Mean cross-entropy over this batch's response tokens. */
  loss: number;
  lr: number;
  gradNorm: number;
  /** Share of this batch's response tokens whose most likely prediction is the target (TRL's mean_token_accuracy). */
  tokenAccuracy: number;
  /** Loss of the latest pretraining-mix batch, once there has been one. */
  pretrainLoss?: number;
}

export interface SftOptions {
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /** Sequences per batch, at most model.B (default model.B); rows beyond it are padding. */
  batchSize?: number;
  seed: number;
  /** The cosine schedule's floor as a share of lr (default 0.1, the paper's). */
  minLrRatio?: number;
  adamw?: Omit<AdamwHyperparams, 'lr'>;
  /** The pretraining token stream, needed when pretrainMix > 0. */
  pretrainStream?: Int32Array;
  /** Extra pretraining batches per SFT batch: 0.25 runs one after every fourth SFT batch (default 0). */
  pretrainMix?: number;
  /** Report every this many steps (default 1) and at the end of each epoch. */
  logEvery?: number;
  onProgress?(progress: SftProgress): void | Promise<void>;
  /** Checked between steps (e.g. a pause button). */
  shouldStop?(): boolean;
}

export interface SftResult {
  steps: number;
  /** Mean batch loss over the last epoch run. */
  loss: number;
  truncated: number;
  dropped: number;
  stopped: boolean;
}

/**
 * Fine-tunes an 'lm' model on prompt/response token ids (formatPrompt(prompt) and
 * formatResponse(response), encoded). The optimizer state is reset first: SFT is a new phase.
 * Each step's loss is awaited and checked; a NaN or infinite loss stops training with an error.
 */
export async function trainSft(model: GptModel, data: readonly Sequence[], options: SftOptions): Promise<SftResult> {
  if (model.kind !== 'lm') throw new Error(`trainSft needs an 'lm' model, got '${model.kind}'`);
  assertCount('SFT epochs', options.epochs);
  const batchSize = options.batchSize ?? model.B;
  assertCount('SFT batch size', batchSize);
  if (batchSize > model.B) throw new Error(`SFT batch size ${batchSize} exceeds the model's B=${model.B}`);
  const mix = options.pretrainMix ?? 0;
  if (!(mix >= 0) || !Number.isFinite(mix)) throw new Error(`pretrainMix must be a finite number ≥ 0, got ${mix}`);
  if (mix > 0 && !options.pretrainStream) throw new Error('pretrainMix > 0 needs a pretrainStream');
  const fitted = fitSequences(data, model.T + 1);
  const examples = fitted.sequences;
  if (examples.length === 0) throw new Error(`no SFT example fits T=${model.T} (${fitted.dropped} dropped)`);

  const batchesPerEpoch = Math.ceil(examples.length / batchSize);
  const totalSteps = options.epochs * batchesPerEpoch;
  const schedule: LrSchedule = { maxLr: options.lr, minLr: options.lr * (options.minLrRatio ?? PAPER_MIN_LR_RATIO), warmupSteps: 0, totalSteps };
  const adamw = options.adamw ?? DEFAULT_ADAMW;
  const logEvery = options.logEvery ?? 1;
  const shuffleRng = new Rng(options.seed);
  const windowRng = new Rng(options.seed + 1);
  const padRows = paddingRowWeights(model.B, model.T, batchSize);
  model.resetOptimizer();

  let step = 0;
  let epochLosses: number[] = [];
  let pretrainLoss: number | undefined;
  let stopped = false;
  for (let epoch = 1; epoch <= options.epochs && !stopped; epoch++) {
    const order = shuffledIndices(examples.length, shuffleRng);
    const losses: number[] = [];
    for (let first = 0; first < order.length; first += batchSize) {
      if (options.shouldStop?.()) {
        stopped = true;
        break;
      }
      const lr = learningRate(step, schedule);
      const batch = sequenceBatch(order.slice(first, first + batchSize).map((i) => examples[i]), model.B, model.T, PAD_ID);
      const endOfEpoch = first + batchSize >= order.length;
      const report = (step + 1) % logEvery === 0 || endOfEpoch;
      model.setBatch(batch);
      // On reporting steps the forward runs first so the logits can be read for token accuracy.
      const tokenAccuracy = report ? await responseTokenAccuracy(model, batch) : NaN;
      const { loss, gradNorm } = await model.step({ reuseForward: report, optimizer: { ...adamw, lr } });
      step += 1;
      assertFiniteLoss('SFT', step, loss);
      losses.push(loss);
      for (let extra = pretrainBatchesAfter(step, mix); extra > 0; extra--) {
        model.setBatch({ ...sampleWindows(options.pretrainStream!, model.B, model.T, windowRng), weights: padRows });
        pretrainLoss = (await model.step({ optimizer: { ...adamw, lr } })).loss;
        assertFiniteLoss('SFT pretraining mix', step, pretrainLoss);
      }
      if (report) await options.onProgress?.({ epoch, step, totalSteps, loss, lr, gradNorm, tokenAccuracy, ...(pretrainLoss === undefined ? {} : { pretrainLoss }) });
    }
    if (losses.length > 0) epochLosses = losses;
  }
  const loss = epochLosses.length > 0 ? epochLosses.reduce((sum, l) => sum + l, 0) / epochLosses.length : NaN;
  return { steps: step, loss, truncated: fitted.truncated, dropped: fitted.dropped, stopped };
}

/** How many pretraining batches follow SFT step `step` (1-based) so that they total ⌊step·mix⌋. */
function pretrainBatchesAfter(step: number, mix: number): number {
  return Math.floor(step * mix) - Math.floor((step - 1) * mix);
}

/** (B,T) weights: 1 on the first `rows` rows, 0 on the padding rows beyond. */
function paddingRowWeights(B: number, T: number, rows: number): Float32Array {
  const weights = new Float32Array(B * T);
  weights.fill(1, 0, rows * T);
  return weights;
}

/** Runs the forward and returns the share of weighted positions whose argmax logit is the target. */
async function responseTokenAccuracy(model: GptModel, batch: SequenceBatch): Promise<number> {
  await model.evaluate();
  const logits = await model.readLogits(); // (B,T,V)
  const V = model.config.vocabSize;
  let correct = 0;
  let counted = 0;
  for (let n = 0; n < batch.weights.length; n++) {
    if (batch.weights[n] === 0) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[n * V + v] > logits[n * V + best]) best = v;
    if (best === batch.targets[n]) correct += 1;
    counted += 1;
  }
  return counted > 0 ? correct / counted : NaN;
}

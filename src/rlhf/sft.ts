// Supervised fine-tuning (InstructGPT §3.5, Appendix C.1): the pretrained LM learns the labelers'
// demonstrations with cross-entropy on response tokens only (the prompt is context, never a
// target), for several epochs, shuffled every epoch, with a cosine learning rate that decays to
// 10% of its peak and no warmup. An optional pretraining mix interleaves extra batches of random
// windows from the pretraining stream.
//
// Not reproduced: the paper's residual dropout of 0.2 (the GPU model has no dropout).
import { Rng } from '../model/random.ts';
import { DEFAULT_ADAMW, type AdamwHyperparams, type GptModel } from '../model/gpt.ts';
import { sampleWindows } from '../model/lm-training.ts';
import { sequenceBatch, type Sequence, type SequenceBatch } from './batches.ts';
import {
  assertCount,
  assertFinite,
  fitSequences,
  PAD_ID,
  paperLearningRates,
  planSteps,
  shuffledEpochs,
  trainingLoop,
  type StageHooks,
} from './training-loop.ts';

/** An SFT step's log, under TRL's SFTTrainer names where it has one. */
export interface SftProgress {
  /** 1-based epoch. */
  epoch: number;
  /** SFT steps done, 1-based (pretraining-mix steps are not counted). */
  step: number;
  totalSteps: number;
  /** Mean cross-entropy over this batch's response tokens. */
  loss: number;
  learning_rate: number;
  grad_norm: number;
  /** Share of this batch's response tokens whose most likely prediction is the target. */
  mean_token_accuracy: number;
  /** Loss of the latest pretraining-mix batch, once there has been one. */
  pretrain_loss?: number;
}

export interface SftOptions extends StageHooks<SftProgress> {
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

  const plan = shuffledEpochs(examples.length, options.epochs, batchSize, new Rng(options.seed));
  const adamw = options.adamw ?? DEFAULT_ADAMW;
  const windowRng = new Rng(options.seed + 1);
  const padRows = paddingRowWeights(model.B, model.T, batchSize);
  model.resetOptimizer();

  let pretrainLoss: number | undefined;
  const loop = {
    plan,
    learningRate: paperLearningRates(options.lr, planSteps(plan), options.minLrRatio),
    logEvery: options.logEvery,
    shouldStop: options.shouldStop,
  };
  const { steps, loss, stopped } = await trainingLoop(
    loop,
    async (indices, { epoch, step, totalSteps, lr, report }) => {
      const batch = sequenceBatch(
        indices.map((i) => examples[i]),
        model.B,
        model.T,
        PAD_ID,
      );
      model.setBatch(batch);
      // On reporting steps the forward runs first so the logits can be read for token accuracy.
      const accuracy = report ? await responseTokenAccuracy(model, batch) : NaN;
      const { loss, gradNorm } = await model.step({ reuseForward: report, optimizer: { ...adamw, lr } });
      assertFinite('loss', loss, { stage: 'SFT', step });
      for (let extra = pretrainBatchesAfter(step, mix); extra > 0; extra--) {
        model.setBatch({ ...sampleWindows(options.pretrainStream!, model.B, model.T, windowRng), weights: padRows });
        pretrainLoss = (await model.step({ optimizer: { ...adamw, lr } })).loss;
        assertFinite('loss', pretrainLoss, { stage: 'SFT pretraining mix', step });
      }
      const progress: SftProgress = {
        epoch,
        step,
        totalSteps,
        loss,
        learning_rate: lr,
        grad_norm: gradNorm,
        mean_token_accuracy: accuracy,
      };
      if (pretrainLoss !== undefined) progress.pretrain_loss = pretrainLoss;
      if (report) await options.onProgress?.(progress);
      return loss;
    },
  );
  return { steps, loss, truncated: fitted.truncated, dropped: fitted.dropped, stopped };
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

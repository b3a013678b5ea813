// What every trainer in this folder shares: the one epoch loop of SFT, the reward model and DPO
// (shuffled batches, a learning rate per step, reporting every few steps, a stop check between
// steps, the mean loss of the last epoch), the progress hooks every stage takes, truncation of
// prompt + response sequences to the model's length, the per-epoch shuffle, option checks and the
// NaN/Inf guard.
import type { Rng } from '../model/random.ts';
import { learningRate } from '../model/lm-training.ts';
import type { Sequence } from './batches.ts';

/**
 * Id of padding rows and positions. Padding always comes after a row's real tokens and carries
 * weight 0 (and no value gradient), so under causal attention its id changes nothing.
 */
export const PAD_ID = 0;

/** Paper, Appendix C.1 and C.2: SFT and RM learning rates decay (cosine) to 10% of the peak. */
export const PAPER_MIN_LR_RATIO = 0.1;

/** The one progress callback type of every stage; the stage awaits it. */
export type OnProgress<P> = (progress: P) => void | Promise<void>;

/** How a caller follows and stops a stage: progress reports, and a check between steps (e.g. a pause button). */
export interface StageHooks<P> {
  onProgress?: OnProgress<P>;
  shouldStop?(): boolean;
}

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

/** Where a value was computed, for the error when it is not finite. */
export interface DivergenceSite {
  /** 'SFT', 'reward model', 'DPO', 'PPO'… */
  stage: string;
  /** 1-based optimizer step, written "at step N". */
  step?: number;
  /** Any other place, written in parentheses after the value. */
  where?: string;
  /** What to do about it (default: lower the learning rate). */
  advice?: string;
}

/**
 * Stops training with a clear error when a loss (or any statistic) is NaN or infinite:
 * "STAGE diverged at step N: NAME is VALUE (WHERE); ADVICE".
 */
export function assertFinite(name: string, value: number, site: DivergenceSite): void {
  if (Number.isFinite(value)) return;
  const at = site.step === undefined ? '' : ` at step ${site.step}`;
  const where = site.where === undefined ? '' : ` (${site.where})`;
  throw new Error(
    `${site.stage} diverged${at}: ${name} is ${value}${where}; ${site.advice ?? 'lower the learning rate'}`,
  );
}

/** The paper's SFT and RM schedule, step → lr: cosine from lr down to lr·minLrRatio over totalSteps, no warmup. */
export function paperLearningRates(
  lr: number,
  totalSteps: number,
  minLrRatio = PAPER_MIN_LR_RATIO,
): (step: number) => number {
  const schedule = { maxLr: lr, minLr: lr * minLrRatio, warmupSteps: 0, totalSteps };
  return (step) => learningRate(step, schedule);
}

/** Per epoch, its batches of example indices, in the order they are trained on: (epochs, batches, examples). */
export type EpochPlan = readonly (readonly (readonly number[])[])[];

/** `epochs` fresh shuffles of n examples, each cut into batches of batchSize (the last may be smaller). */
export function shuffledEpochs(n: number, epochs: number, batchSize: number, rng: Rng): number[][][] {
  return Array.from({ length: epochs }, () => {
    const order = shuffledIndices(n, rng);
    return Array.from({ length: Math.ceil(n / batchSize) }, (_, b) => order.slice(b * batchSize, (b + 1) * batchSize));
  });
}

/** Where an optimizer step stands in its run; the loop hands it to the step function. */
export interface LoopStep {
  /** 1-based epoch. */
  epoch: number;
  /** 1-based number of this step. */
  step: number;
  totalSteps: number;
  /** This step's learning rate. */
  lr: number;
  /** Whether this step reports progress: every logEvery steps, an epoch's last step, and evaluation steps. */
  report: boolean;
  /** Whether this step evaluates on held-out data: every evalEvery steps. */
  evaluate: boolean;
}

export interface LoopSettings {
  plan: EpochPlan;
  /** The learning rate of 0-based step `step`. */
  learningRate(step: number): number;
  /** Report every this many steps (default 1) and at the end of each epoch. */
  logEvery?: number;
  /** Evaluate every this many steps (default never). */
  evalEvery?: number;
  /** Checked before each step; true ends the run there. */
  shouldStop?(): boolean;
}

export interface LoopResult {
  steps: number;
  /** Mean step loss over the last epoch run (NaN when no step ran). */
  loss: number;
  stopped: boolean;
}

/** Total optimizer steps of a plan. */
export function planSteps(plan: EpochPlan): number {
  return plan.reduce((sum, batches) => sum + batches.length, 0);
}

/**
 * Runs `trainStep` on every batch of the plan, epoch by epoch, until the plan ends or shouldStop;
 * trainStep does one optimizer step (and any reporting it is asked for) and returns its loss.
 */
export async function trainingLoop(
  settings: LoopSettings,
  trainStep: (batch: readonly number[], at: LoopStep) => Promise<number>,
): Promise<LoopResult> {
  const totalSteps = planSteps(settings.plan);
  const logEvery = settings.logEvery ?? 1;
  let step = 0;
  let epochLosses: number[] = [];
  for (const [e, batches] of settings.plan.entries()) {
    const losses: number[] = [];
    for (const [b, batch] of batches.entries()) {
      if (settings.shouldStop?.())
        return { steps: step, loss: meanLoss(losses.length > 0 ? losses : epochLosses), stopped: true };
      const lr = settings.learningRate(step);
      step += 1;
      const evaluate = settings.evalEvery !== undefined && step % settings.evalEvery === 0;
      const report = step % logEvery === 0 || b === batches.length - 1 || evaluate;
      losses.push(await trainStep(batch, { epoch: e + 1, step, totalSteps, lr, report, evaluate }));
    }
    if (losses.length > 0) epochLosses = losses;
  }
  return { steps: step, loss: meanLoss(epochLosses), stopped: false };
}

function meanLoss(losses: readonly number[]): number {
  return losses.length > 0 ? losses.reduce((sum, l) => sum + l, 0) / losses.length : NaN;
}

// Direct Preference Optimization (Rafailov et al. 2023), as TRL's DPOTrainer runs it with the
// sigmoid loss: a policy (initialised from SFT) and a frozen reference (the SFT model), both 'lm'
// models of the same shape, trained on chosen/rejected pairs taken from rankings. Each step puts
// pair i's chosen output in row 2i and its rejected output in row 2i+1, sums each row's response
// log-probs from a forward of both models, and dpoLoss gives d loss / d (sum log p) per row. The
// LM backward takes that as per-token weights w = −dL/dlogp with lossScale 1 on the response
// tokens, reusing the policy's forward. Defaults follow TRL: β = 0.1, linear learning-rate decay
// to 0 after an optional linear warmup (the Hugging Face Trainer's "linear" schedule). Sequences
// that do not fit T + 1 ids lose the end of their response; the prompt is kept whole.
import { Rng } from '../model/random.ts';
import { DEFAULT_ADAMW, type AdamwHyperparams, type GptModel } from '../model/gpt.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { formatPrompt, formatResponse, type Ranking } from '../world/index.ts';
import { sequenceBatch, type Sequence, type SequenceBatch } from './batches.ts';
import { dpoLoss, tokenWeightsFromLogprobGradient, type DpoLossResult } from './losses.ts';
import { rankingPairs } from './rankings.ts';
import {
  assertCount,
  assertFinite,
  fitSequences,
  PAD_ID,
  planSteps,
  shuffledEpochs,
  trainingLoop,
  type StageHooks,
} from './training-loop.ts';

/** TRL DPOConfig's default β: the strength of the implicit KL constraint to the reference. */
export const TRL_DPO_BETA = 0.1;

/** A comparison as token ids: formatPrompt(prompt), and formatResponse of the preferred and the other output. */
export interface PreferenceSequences {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/** Every ranking's chosen/rejected pairs (rankingPairs: C(K,2) minus ties), encoded. */
export function encodePreferencePairs(tokenizer: Tokenizer, rankings: readonly Ranking[]): PreferenceSequences[] {
  return rankings.flatMap((ranking) => {
    const prompt = tokenizer.encode(formatPrompt(ranking.prompt));
    return rankingPairs(ranking).map((pair) => ({
      prompt,
      chosen: tokenizer.encode(formatResponse(pair.chosen)),
      rejected: tokenizer.encode(formatResponse(pair.rejected)),
    }));
  });
}

/** DPO statistics over a set of pairs (a run's result; DpoProgress logs them under TRL's names). */
export interface DpoMetrics {
  /** −mean log σ(margin). */
  loss: number;
  /** rewards/accuracies: share of pairs whose implicit reward margin is positive. */
  accuracy: number;
  /** rewards/margins: mean of chosen − rejected implicit rewards. */
  margin: number;
  /** rewards/chosen: mean β(log π − log π_ref) of the chosen outputs. */
  chosenReward: number;
  /** rewards/rejected. */
  rejectedReward: number;
  /** logps/chosen: mean summed response log-prob of the chosen outputs under the policy. */
  chosenLogp: number;
  /** logps/rejected. */
  rejectedLogp: number;
  pairs: number;
}

/** A DPO step's log, under TRL's DPOTrainer names. */
export interface DpoProgress {
  epoch: number;
  /** 1-based optimizer step. */
  step: number;
  totalSteps: number;
  loss: number;
  'rewards/accuracies': number;
  'rewards/margins': number;
  'rewards/chosen': number;
  'rewards/rejected': number;
  'logps/chosen': number;
  'logps/rejected': number;
  learning_rate: number;
  grad_norm: number;
  /** Held-out pairs' metrics, on evaluation steps. */
  heldout?: DpoMetrics;
}

export interface DpoOptions extends StageHooks<DpoProgress> {
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  seed: number;
  /** Default TRL_DPO_BETA. */
  beta?: number;
  /** Pairs per step, at most ⌊B/2⌋ (default ⌊B/2⌋). */
  pairsPerBatch?: number;
  /** Steps of linear warmup from 0 (default 0, as TRL). */
  warmupSteps?: number;
  adamw?: Omit<AdamwHyperparams, 'lr'>;
  heldout?: readonly PreferenceSequences[];
  /** Evaluate on the held-out pairs every this many steps (default: only at the end). */
  evalEvery?: number;
  /** Report every this many steps (default 1) and at the end of each epoch. */
  logEvery?: number;
}

export interface DpoResult {
  steps: number;
  /** Mean batch loss over the last epoch run. */
  loss: number;
  heldout?: DpoMetrics;
  /** Responses cut to fit T + 1 ids, and pairs dropped because the prompt left no room. */
  truncated: number;
  dropped: number;
  stopped: boolean;
}

/**
 * Trains `policy` by DPO against the frozen `reference` (never updated). The loss is computed on
 * the CPU from both forwards and checked before any update: a NaN or infinite loss stops training
 * with an error. The policy's optimizer state is reset first.
 */
export async function trainDpo(
  policy: GptModel,
  reference: GptModel,
  pairs: readonly PreferenceSequences[],
  options: DpoOptions,
): Promise<DpoResult> {
  checkModels(policy, reference);
  const beta = options.beta ?? TRL_DPO_BETA;
  assertCount('DPO epochs', options.epochs);
  const pairsPerBatch = options.pairsPerBatch ?? Math.floor(policy.B / 2);
  assertCount('DPO pairsPerBatch', pairsPerBatch);
  if (2 * pairsPerBatch > policy.B)
    throw new Error(`DPO pairsPerBatch ${pairsPerBatch} needs ${2 * pairsPerBatch} rows; the model has B=${policy.B}`);
  const fitted = fitPairs(pairs, policy.T);
  const data = fitted.pairs;
  if (data.length === 0) throw new Error(`no preference pair fits T=${policy.T} (${fitted.dropped} dropped)`);
  const plan = shuffledEpochs(data.length, options.epochs, pairsPerBatch, new Rng(options.seed));
  const totalSteps = planSteps(plan);
  const warmupSteps = options.warmupSteps ?? 0;
  const adamw = options.adamw ?? DEFAULT_ADAMW;
  policy.resetOptimizer();

  const loop = {
    plan,
    learningRate: (step: number) => linearLearningRate(step, options.lr, warmupSteps, totalSteps),
    logEvery: options.logEvery,
    ...(options.heldout && { evalEvery: options.evalEvery }),
    shouldStop: options.shouldStop,
  };
  const { steps, loss, stopped } = await trainingLoop(loop, async (indices, { epoch, step, lr, report, evaluate }) => {
    const { metrics, gradNorm } = await dpoStep(
      policy,
      reference,
      indices.map((i) => data[i]),
      beta,
      { ...adamw, lr },
      step,
    );
    if (!report) return metrics.loss;
    const progress: DpoProgress = {
      epoch,
      step,
      totalSteps,
      ...trlLog(metrics),
      learning_rate: lr,
      grad_norm: gradNorm,
    };
    if (evaluate) progress.heldout = await evaluateDpo(policy, reference, options.heldout!, beta);
    await options.onProgress?.(progress);
    return metrics.loss;
  });
  const result: DpoResult = { steps, loss, truncated: fitted.truncated, dropped: fitted.dropped, stopped };
  if (options.heldout) result.heldout = await evaluateDpo(policy, reference, options.heldout, beta);
  return result;
}

/** DPO metrics of the policy against the reference on pairs (forward only); pairs that do not fit are left out. */
export async function evaluateDpo(
  policy: GptModel,
  reference: GptModel,
  pairs: readonly PreferenceSequences[],
  beta = TRL_DPO_BETA,
): Promise<DpoMetrics> {
  checkModels(policy, reference);
  const data = fitPairs(pairs, policy.T).pairs;
  if (data.length === 0) throw new Error(`evaluateDpo: no preference pair fits T=${policy.T}`);
  const sums = {
    policyChosen: [] as number[],
    policyRejected: [] as number[],
    refChosen: [] as number[],
    refRejected: [] as number[],
  };
  const perBatch = Math.floor(policy.B / 2);
  for (let first = 0; first < data.length; first += perBatch) {
    const logps = await pairLogps(
      policy,
      reference,
      pairBatch(data.slice(first, first + perBatch), policy.B, policy.T),
    );
    for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key].push(...logps[key]);
  }
  return metricsOf(
    dpoLoss(sums.policyChosen, sums.policyRejected, sums.refChosen, sums.refRejected, beta),
    sums.policyChosen,
    sums.policyRejected,
  );
}

/** One optimizer step of the policy on a batch of pairs. */
async function dpoStep(
  policy: GptModel,
  reference: GptModel,
  pairs: readonly PreferenceSequences[],
  beta: number,
  optimizer: AdamwHyperparams,
  step: number,
): Promise<{ metrics: DpoMetrics; gradNorm: number }> {
  const { B, T } = policy;
  const batch = pairBatch(pairs, B, T);
  const logps = await pairLogps(policy, reference, batch);
  const result = dpoLoss(logps.policyChosen, logps.policyRejected, logps.refChosen, logps.refRejected, beta);
  assertFinite('loss', result.loss, { stage: 'DPO', step });
  const dLogprobs = new Float32Array(B * T); // (B,T) d loss / d logp(target), nonzero on response tokens
  pairs.forEach((_, i) => {
    for (let t = 0; t < T; t++) {
      dLogprobs[2 * i * T + t] = batch.weights[2 * i * T + t] * result.dPolicyChosen[i];
      dLogprobs[(2 * i + 1) * T + t] = batch.weights[(2 * i + 1) * T + t] * result.dPolicyRejected[i];
    }
  });
  policy.setBatch({
    tokens: batch.tokens,
    targets: batch.targets,
    weights: tokenWeightsFromLogprobGradient(dLogprobs),
    lossScale: 1,
  });
  const { gradNorm } = await policy.step({ reuseForward: true, optimizer });
  return { metrics: metricsOf(result, logps.policyChosen, logps.policyRejected), gradNorm };
}

/** Pair i's chosen output in row 2i and its rejected output in row 2i+1. */
function pairBatch(pairs: readonly PreferenceSequences[], B: number, T: number): SequenceBatch {
  const rows: Sequence[] = pairs.flatMap(({ prompt, chosen, rejected }) => [
    { prompt, response: chosen },
    { prompt, response: rejected },
  ]);
  return sequenceBatch(rows, B, T, PAD_ID);
}

/**
 * Forwards the batch through both models and sums each row's response log-probs; the policy's
 * forward stays in place for a following step({ reuseForward: true }).
 */
async function pairLogps(policy: GptModel, reference: GptModel, batch: SequenceBatch) {
  reference.setBatch(batch);
  policy.setBatch(batch);
  const [ref, pol] = await Promise.all([reference.evaluate(), policy.evaluate()]);
  const pairs = batch.lastTokenIndex.length / 2;
  const rowSum = (logprobs: Float32Array, row: number) => {
    let sum = 0;
    for (let t = 0; t < policy.T; t++) sum += batch.weights[row * policy.T + t] * logprobs[row * policy.T + t];
    return sum;
  };
  const column = (logprobs: Float32Array, offset: number) =>
    Array.from({ length: pairs }, (_, i) => rowSum(logprobs, 2 * i + offset));
  return {
    policyChosen: column(pol.logprobs!, 0),
    policyRejected: column(pol.logprobs!, 1),
    refChosen: column(ref.logprobs!, 0),
    refRejected: column(ref.logprobs!, 1),
  };
}

/** The metrics under TRL's DPOTrainer log names. */
function trlLog(
  m: DpoMetrics,
): Omit<DpoProgress, 'epoch' | 'step' | 'totalSteps' | 'learning_rate' | 'grad_norm' | 'heldout'> {
  return {
    loss: m.loss,
    'rewards/accuracies': m.accuracy,
    'rewards/margins': m.margin,
    'rewards/chosen': m.chosenReward,
    'rewards/rejected': m.rejectedReward,
    'logps/chosen': m.chosenLogp,
    'logps/rejected': m.rejectedLogp,
  };
}

function metricsOf(
  result: DpoLossResult,
  policyChosen: readonly number[],
  policyRejected: readonly number[],
): DpoMetrics {
  const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  return {
    loss: result.loss,
    accuracy: result.accuracy,
    margin: result.rewardMargin,
    chosenReward: mean(result.chosenRewards),
    rejectedReward: mean(result.rejectedRewards),
    chosenLogp: mean(policyChosen),
    rejectedLogp: mean(policyRejected),
    pairs: policyChosen.length,
  };
}

/** Both outputs of each pair cut to fit T + 1 ids; a pair is dropped when its prompt leaves no room. */
function fitPairs(
  pairs: readonly PreferenceSequences[],
  T: number,
): { pairs: PreferenceSequences[]; truncated: number; dropped: number } {
  const out = { pairs: [] as PreferenceSequences[], truncated: 0, dropped: 0 };
  for (const { prompt, chosen, rejected } of pairs) {
    const fitted = fitSequences(
      [
        { prompt, response: chosen },
        { prompt, response: rejected },
      ],
      T + 1,
    );
    if (fitted.dropped > 0) {
      out.dropped += 1;
      continue;
    }
    out.pairs.push({ prompt, chosen: fitted.sequences[0].response, rejected: fitted.sequences[1].response });
    out.truncated += fitted.truncated;
  }
  return out;
}

/** The Hugging Face Trainer's "linear" schedule: lr·t/warmup during warmup, then linear decay to 0 at totalSteps. */
function linearLearningRate(step: number, lr: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return (lr * step) / warmupSteps;
  return lr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

function checkModels(policy: GptModel, reference: GptModel): void {
  if (policy === reference) throw new Error('DPO needs a separate frozen reference model, not the policy itself');
  if (policy.kind !== 'lm' || reference.kind !== 'lm')
    throw new Error(`DPO needs two 'lm' models, got '${policy.kind}' and '${reference.kind}'`);
  if (policy.B !== reference.B || policy.T !== reference.T)
    throw new Error(
      `policy (B=${policy.B}, T=${policy.T}) and reference (B=${reference.B}, T=${reference.T}) must share a batch shape`,
    );
  if (policy.B < 2) throw new Error(`DPO puts chosen and rejected in two rows: B must be at least 2, got ${policy.B}`);
  if (policy.config.vocabSize !== reference.config.vocabSize)
    throw new Error('policy and reference must share a vocabulary');
}

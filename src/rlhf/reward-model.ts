// The reward model of InstructGPT §3.5: the SFT trunk with a fresh scalar head, trained on
// rankings with the K-way loss of eq. 1. The K outputs of one prompt are ONE batch element: they
// fill K rows of the scalar model's (B,T) batch (several prompts share a batch when their outputs
// fit), one forward gives all K rewards (read at each sequence's last token), rankingLoss turns
// them into d loss / d reward for all C(K,2) comparisons at once, and one backward follows — K
// forward passes per prompt, not C(K,2). One epoch, cosine learning rate down to 10% with no
// warmup (Appendix C.2). Afterwards the head's bias is shifted so the labelers' demonstrations
// score 0 on average ("normalized so that the labeler demonstrations achieve a mean score of 0").
//
// Sequences longer than T tokens lose the end of their response (the value is read at the last
// token that fits), as TRL's RewardTrainer truncates to max_length.
import { Rng } from '../model/random.ts';
import { DEFAULT_ADAMW, type AdamwHyperparams, type GptModel } from '../model/gpt.ts';
import { initScalarHead, type GptConfig } from '../model/config.ts';
import { joinScalarParams, readTensor, writeTensor } from '../model/layout.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { formatPrompt, formatResponse, type Ranking } from '../world/index.ts';
import { sequenceBatch, type Sequence } from './batches.ts';
import { rankingLoss } from './losses.ts';
import { checkRanking, rankingPairs } from './rankings.ts';
import {
  assertCount,
  assertFinite,
  fitSequences,
  PAD_ID,
  paperLearningRates,
  planSteps,
  shuffledIndices,
  trainingLoop,
  type StageHooks,
} from './training-loop.ts';

/** A ranking as token ids: formatPrompt(prompt) and each formatResponse(response), encoded. */
export interface EncodedRanking {
  prompt: number[];
  responses: number[][];
  /** Indices into responses, best first. */
  order: number[];
  /** Pairs of positions in order judged equal (skipped by the loss). */
  ties?: ReadonlyArray<readonly [number, number]>;
}

export function encodeRanking(tokenizer: Tokenizer, ranking: Ranking): EncodedRanking {
  checkRanking(ranking);
  return {
    prompt: tokenizer.encode(formatPrompt(ranking.prompt)),
    responses: ranking.responses.map((response) => tokenizer.encode(formatResponse(response))),
    order: [...ranking.order],
    ties: ranking.ties ?? [],
  };
}

/** Reward-model parameters (modelLayout 'scalar'): a copy of the SFT trunk and a fresh score head (initScalarHead). */
export function rewardModelParams(config: GptConfig, trunk: Float32Array, seed: number): Float32Array {
  return joinScalarParams(config, { params: trunk, scalarHead: initScalarHead(config, seed) });
}

/** Writes rewardModelParams into a 'scalar' model. */
export function initRewardModel(model: GptModel, trunk: Float32Array, seed: number): void {
  requireScalar(model, 'initRewardModel');
  model.writeParams(rewardModelParams(model.config, trunk, seed));
}

/** A reward-model step's log, under TRL's RewardTrainer names where it has one. */
export interface RewardModelProgress {
  epoch: number;
  /** 1-based step; one step is one batch of whole rankings. */
  step: number;
  totalSteps: number;
  /** Mean over this batch's prompts of each prompt's mean pairwise loss (eq. 1). */
  loss: number;
  /** Share of this batch's comparisons the rewards order correctly. */
  accuracy: number;
  /** Mean r_better − r_worse over this batch's comparisons. */
  margin: number;
  learning_rate: number;
  grad_norm: number;
  /** Pairwise accuracy on the held-out rankings, on evaluation steps. */
  heldout_accuracy?: number;
  heldout_loss?: number;
}

export interface RewardModelOptions extends StageHooks<RewardModelProgress> {
  /** Passes over the rankings (default 1: the paper's single epoch). */
  epochs?: number;
  lr: number;
  seed: number;
  minLrRatio?: number;
  adamw?: Omit<AdamwHyperparams, 'lr'>;
  /** Most prompts in one batch (default: as many as fit in model.B rows). */
  promptsPerBatch?: number;
  /** Rankings never trained on, for held-out accuracy. */
  heldout?: readonly EncodedRanking[];
  /** Evaluate on the held-out rankings every this many steps (default: only at the end). */
  evalEvery?: number;
  /** Labeler demonstrations: after training, score.bias is shifted so their mean reward is 0. */
  demonstrations?: readonly Sequence[];
  /** Report every this many steps (default 1) and at the end of each epoch. */
  logEvery?: number;
}

export interface RankingEvaluation {
  /** Mean over rankings of each ranking's mean pairwise loss. */
  loss: number;
  /** Share of all (untied) comparisons ordered correctly. */
  accuracy: number;
  pairs: number;
  rankings: number;
}

export interface RewardModelResult {
  steps: number;
  /** Mean batch loss over the last epoch run. */
  loss: number;
  train: RankingEvaluation;
  heldout?: RankingEvaluation;
  /** The demonstrations' mean reward before centering: what was subtracted from score.bias. */
  biasShift?: number;
  /** Responses cut to fit T tokens, and rankings dropped (prompt too long, or nothing left to compare). */
  truncated: number;
  dropped: number;
  stopped: boolean;
}

/**
 * Trains a 'scalar' model (initialised with initRewardModel) on rankings. Each step: one forward
 * over the batch's K·(prompts) rows, rankingLoss per prompt on the rewards at the last tokens,
 * d loss / d reward scaled by 1/(prompts in the batch) into setValueGradients, then backward and
 * AdamW reusing that forward. A NaN or infinite loss stops before it reaches the weights.
 */
export async function trainRewardModel(
  model: GptModel,
  rankings: readonly EncodedRanking[],
  options: RewardModelOptions,
): Promise<RewardModelResult> {
  requireScalar(model, 'trainRewardModel');
  const fitted = fitRankings(rankings, model.T);
  const data = fitted.rankings;
  if (data.length === 0) throw new Error(`no ranking fits T=${model.T} (${fitted.dropped} dropped)`);
  for (const r of data) {
    const rows = distinctResponses(r.responses).distinct.length;
    if (rows > model.B)
      throw new Error(`a ranking of ${rows} distinct outputs does not fit a batch of B=${model.B} rows`);
  }
  const epochs = options.epochs ?? 1;
  assertCount('reward-model epochs', epochs);
  if (options.promptsPerBatch !== undefined) assertCount('promptsPerBatch', options.promptsPerBatch);
  const rng = new Rng(options.seed);
  const plan = Array.from({ length: epochs }, () =>
    packRankings(data, shuffledIndices(data.length, rng), model.B, options.promptsPerBatch ?? Infinity),
  );
  const adamw = options.adamw ?? DEFAULT_ADAMW;
  model.resetOptimizer();

  const loop = {
    plan,
    learningRate: paperLearningRates(options.lr, planSteps(plan), options.minLrRatio),
    logEvery: options.logEvery,
    ...(options.heldout && { evalEvery: options.evalEvery }),
    shouldStop: options.shouldStop,
  };
  const { steps, loss, stopped } = await trainingLoop(
    loop,
    async (group, { epoch, step, totalSteps, lr, report, evaluate }) => {
      const { loss, accuracy, margin, gradNorm } = await rankingStep(
        model,
        group.map((i) => data[i]),
        { ...adamw, lr },
        step,
      );
      if (!report) return loss;
      const progress: RewardModelProgress = {
        epoch,
        step,
        totalSteps,
        loss,
        accuracy,
        margin,
        learning_rate: lr,
        grad_norm: gradNorm,
      };
      if (evaluate) {
        const heldout = await evaluateRankings(model, options.heldout!);
        progress.heldout_accuracy = heldout.accuracy;
        progress.heldout_loss = heldout.loss;
      }
      await options.onProgress?.(progress);
      return loss;
    },
  );

  const result: RewardModelResult = {
    steps,
    loss,
    train: await evaluateRankings(model, data),
    truncated: fitted.truncated,
    dropped: fitted.dropped,
    stopped,
  };
  if (options.heldout) result.heldout = await evaluateRankings(model, options.heldout);
  if (options.demonstrations) result.biasShift = await centerRewards(model, options.demonstrations);
  return result;
}

/** One optimizer step on whole rankings packed into the batch; returns the batch's statistics. */
async function rankingStep(
  model: GptModel,
  rankings: readonly EncodedRanking[],
  optimizer: AdamwHyperparams,
  step: number,
): Promise<{ loss: number; accuracy: number; margin: number; gradNorm: number }> {
  const { B, T } = model;
  const { batch, rows } = rankingBatch(rankings, B, T);
  model.setBatch({ tokens: batch.tokens });
  const { values } = await model.evaluate(); // (B,T)
  const dvalues = new Float32Array(B * T); // (B,T) nonzero only at each sequence's last token
  let lossSum = 0;
  let correct = 0;
  let marginSum = 0;
  let pairs = 0;
  rankings.forEach((ranking, r) => {
    const positions = ranking.order.map((response) => rows[r][response] * T + batch.lastTokenIndex[rows[r][response]]); // best first
    const result = rankingLoss(
      positions.map((p) => values![p]),
      ranking.ties,
    );
    positions.forEach((p, i) => (dvalues[p] += result.dRewards[i] / rankings.length)); // identical outputs share p
    lossSum += result.loss;
    correct += result.accuracy * result.pairs;
    marginSum += result.margin * result.pairs;
    pairs += result.pairs;
  });
  const loss = lossSum / rankings.length;
  assertFinite('loss', loss, { stage: 'reward model', step });
  model.setValueGradients(dvalues);
  const { gradNorm } = await model.step({ reuseForward: true, optimizer });
  return { loss, accuracy: correct / pairs, margin: marginSum / pairs, gradNorm };
}

/**
 * The rankings' distinct outputs as consecutive rows of one batch; rows[r][i] is the row of
 * ranking r's response i. Identical outputs of one ranking share a row: they are tied, so only
 * their comparisons with the others carry loss, and their reward gradients add up on that row.
 */
function rankingBatch(rankings: readonly EncodedRanking[], B: number, T: number) {
  const sequences: Sequence[] = [];
  const rows = rankings.map((ranking) => {
    const { distinct, indexOf } = distinctResponses(ranking.responses);
    const first = sequences.length;
    distinct.forEach((response) => sequences.push({ prompt: ranking.prompt, response }));
    return indexOf.map((d) => first + d);
  });
  return { batch: sequenceBatch(sequences, B, T, PAD_ID), rows };
}

/** A ranking's responses without repeats, and for each response the index of its copy in distinct. */
function distinctResponses(responses: readonly number[][]): { distinct: number[][]; indexOf: number[] } {
  const byKey = new Map<string, number>();
  const distinct: number[][] = [];
  const indexOf = responses.map((response) => {
    const key = response.join(',');
    if (!byKey.has(key)) {
      byKey.set(key, distinct.length);
      distinct.push(response);
    }
    return byKey.get(key)!;
  });
  return { distinct, indexOf };
}

/** Groups ranking indices, in the given order, into batches of at most B rows (distinct outputs) and maxPrompts prompts. */
function packRankings(
  rankings: readonly EncodedRanking[],
  order: readonly number[],
  B: number,
  maxPrompts: number,
): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let rows = 0;
  for (const index of order) {
    const K = distinctResponses(rankings[index].responses).distinct.length;
    if (current.length > 0 && (rows + K > B || current.length >= maxPrompts)) {
      batches.push(current);
      current = [];
      rows = 0;
    }
    current.push(index);
    rows += K;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Cuts responses to fit T tokens after the prompt and marks outputs that became identical as
 * ties; drops rankings whose prompt leaves no room or that are left with nothing to compare.
 * The kept list gives each fitted ranking's index in the input.
 */
function fitRankings(
  rankings: readonly EncodedRanking[],
  T: number,
): { rankings: EncodedRanking[]; kept: number[]; truncated: number; dropped: number } {
  const out = { rankings: [] as EncodedRanking[], kept: [] as number[], truncated: 0, dropped: 0 };
  rankings.forEach((ranking, index) => {
    const fitted = fitSequences(
      ranking.responses.map((response) => ({ prompt: ranking.prompt, response })),
      T,
    );
    if (fitted.dropped > 0) {
      out.dropped += 1;
      return;
    }
    const responses = fitted.sequences.map((s) => s.response);
    const ties = withIdenticalTies(responses, ranking.order, ranking.ties ?? []);
    const K = responses.length;
    if (ties.length >= (K * (K - 1)) / 2) {
      out.dropped += 1;
      return;
    }
    out.rankings.push({ prompt: ranking.prompt, responses, order: ranking.order, ties });
    out.kept.push(index);
    out.truncated += fitted.truncated;
  });
  return out;
}

/** The given ties plus pairs of positions whose token sequences are identical (distinctResponses), without repeats. */
function withIdenticalTies(
  responses: readonly number[][],
  order: readonly number[],
  ties: ReadonlyArray<readonly [number, number]>,
): [number, number][] {
  const K = order.length;
  const { indexOf } = distinctResponses(responses);
  const keys = new Set(ties.map(([a, b]) => Math.min(a, b) * K + Math.max(a, b)));
  for (let i = 0; i < K; i++) {
    for (let j = i + 1; j < K; j++) if (indexOf[order[i]] === indexOf[order[j]]) keys.add(i * K + j);
  }
  return [...keys].map((key) => [Math.floor(key / K), key % K]);
}

/**
 * Rewards of prompt/response token sequences (forward only, model.B at a time): the value at each
 * sequence's last token. Responses are cut to fit T tokens; a prompt that leaves no room throws.
 */
export async function scoreSequences(model: GptModel, sequences: readonly Sequence[]): Promise<number[]> {
  requireScalar(model, 'scoreSequences');
  const { B, T } = model;
  const fitted = fitSequences(sequences, T);
  if (fitted.dropped > 0)
    throw new Error(
      `${fitted.dropped} sequences have no room for a response in T=${T} tokens (or an empty prompt or response)`,
    );
  const rewards: number[] = [];
  for (let first = 0; first < fitted.sequences.length; first += B) {
    const batch = sequenceBatch(fitted.sequences.slice(first, first + B), B, T, PAD_ID);
    model.setBatch({ tokens: batch.tokens });
    const { values } = await model.evaluate(); // (B,T)
    batch.lastTokenIndex.forEach((last, b) => rewards.push(values![b * T + last]));
  }
  return rewards;
}

/** Rewards of (prompt, response) texts in the chat frame. */
export function scoreTexts(
  model: GptModel,
  tokenizer: Tokenizer,
  items: readonly { prompt: string; response: string }[],
): Promise<number[]> {
  return scoreSequences(
    model,
    items.map(({ prompt, response }) => ({
      prompt: tokenizer.encode(formatPrompt(prompt)),
      response: tokenizer.encode(formatResponse(response)),
    })),
  );
}

/** Rewards of every fitted ranking's outputs, in response order; null for rankings that do not fit. */
async function rankingRewards(
  model: GptModel,
  rankings: readonly EncodedRanking[],
): Promise<{ fitted: EncodedRanking[]; rewards: (number[] | null)[] }> {
  const { rankings: fitted, kept } = fitRankings(rankings, model.T);
  const distinct = fitted.map((r) => distinctResponses(r.responses));
  const flat = await scoreSequences(
    model,
    fitted.flatMap((r, i) => distinct[i].distinct.map((response) => ({ prompt: r.prompt, response }))),
  );
  const rewards: (number[] | null)[] = rankings.map(() => null);
  let next = 0;
  distinct.forEach(({ distinct: outputs, indexOf }, i) => {
    rewards[kept[i]] = indexOf.map((d) => flat[next + d]);
    next += outputs.length;
  });
  return { fitted, rewards };
}

/** Loss and pairwise accuracy on rankings (forward only); rankings that do not fit T are left out. */
export async function evaluateRankings(
  model: GptModel,
  rankings: readonly EncodedRanking[],
): Promise<RankingEvaluation> {
  const { fitted, rewards } = await rankingRewards(model, rankings);
  const scored = rewards.filter((r): r is number[] => r !== null);
  let lossSum = 0;
  let correct = 0;
  let pairs = 0;
  fitted.forEach((ranking, i) => {
    const result = rankingLoss(
      ranking.order.map((response) => scored[i][response]),
      ranking.ties,
    );
    lossSum += result.loss;
    correct += result.accuracy * result.pairs;
    pairs += result.pairs;
  });
  return {
    loss: fitted.length > 0 ? lossSum / fitted.length : NaN,
    accuracy: pairs > 0 ? correct / pairs : NaN,
    pairs,
    rankings: fitted.length,
  };
}

/**
 * Shifts score.bias so the mean reward of the demonstrations is 0 (the loss is invariant to a
 * shift, so rankings are unaffected); returns the mean that was subtracted.
 */
export async function centerRewards(model: GptModel, demonstrations: readonly Sequence[]): Promise<number> {
  if (demonstrations.length === 0) throw new Error('centerRewards: no demonstrations');
  const rewards = await scoreSequences(model, demonstrations);
  const mean = rewards.reduce((sum, r) => sum + r, 0) / rewards.length;
  const params = await model.readParams();
  const [current] = readTensor(model.layout, params, 'score.bias');
  writeTensor(model.layout, params, 'score.bias', [current - mean]);
  model.writeParams(params);
  return mean;
}

export interface MispredictedComparison {
  /** Index of the ranking in the list given. */
  ranking: number;
  promptId: string;
  prompt: string;
  /** The output the labeler preferred, and the one it ranked lower. */
  chosen: string;
  rejected: string;
  chosenReward: number;
  rejectedReward: number;
}

/**
 * The comparisons the reward model gets wrong (reward of the preferred output not above the
 * other's), most confidently wrong first — for inspecting what it has not learned. Rankings
 * that do not fit T are skipped.
 */
export async function mispredictedComparisons(
  model: GptModel,
  tokenizer: Tokenizer,
  rankings: readonly Ranking[],
): Promise<MispredictedComparison[]> {
  const { rewards } = await rankingRewards(
    model,
    rankings.map((ranking) => encodeRanking(tokenizer, ranking)),
  );
  const wrong: MispredictedComparison[] = [];
  rankings.forEach((ranking, r) => {
    const scored = rewards[r];
    if (!scored) return;
    for (const pair of rankingPairs(ranking)) {
      const chosenReward = scored[pair.chosenIndex];
      const rejectedReward = scored[pair.rejectedIndex];
      if (chosenReward > rejectedReward) continue;
      wrong.push({
        ranking: r,
        promptId: pair.promptId,
        prompt: pair.prompt,
        chosen: pair.chosen,
        rejected: pair.rejected,
        chosenReward,
        rejectedReward,
      });
    }
  });
  return wrong.sort((a, b) => b.rejectedReward - b.chosenReward - (a.rejectedReward - a.chosenReward));
}

function requireScalar(model: GptModel, where: string): void {
  if (model.kind !== 'scalar') throw new Error(`${where} needs a 'scalar' model, got '${model.kind}'`);
}

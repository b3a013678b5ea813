// The reward-model stage as the worker, the CLI and the pipeline run it: a GPU 'scalar' model gets
// the SFT trunk and a fresh score head, trainRewardModel trains it on the rankings (held-out
// accuracy on the held-out ones, rewards centred on the demonstrations), and the trained trunk and
// head come back; the model is freed whatever happens.
import { GptModel } from '../model/gpt.ts';
import type { GptConfig } from '../model/config.ts';
import { splitScalarParams, type ScalarModelParams } from '../model/layout.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { Ranking } from '../world/index.ts';
import type { Sequence } from './batches.ts';
import {
  encodeRanking,
  evaluateRankings,
  initRewardModel,
  trainRewardModel,
  type RankingEvaluation,
  type RewardModelOptions,
  type RewardModelProgress,
  type RewardModelResult,
} from './reward-model.ts';
import type { StageHooks } from './training-loop.ts';

export interface RewardModelStageSettings extends Omit<
  RewardModelOptions,
  keyof StageHooks<RewardModelProgress> | 'heldout' | 'evalEvery' | 'demonstrations'
> {
  /** Rows per batch (raised to the largest ranking's K) and sequence length of the model. */
  B: number;
  T: number;
  /** Evaluate on the held-out rankings about this many times during the run (default: only at the end). */
  heldoutEvaluations?: number;
  /** Also measure loss and accuracy on the training rankings before training. */
  evaluateBefore?: boolean;
}

export interface RewardModelData {
  train: readonly Ranking[];
  heldout?: readonly Ranking[];
  /** Labeler demonstrations: after training their mean reward is shifted to 0. */
  demonstrations?: readonly Sequence[];
}

export interface RewardModelStageResult {
  model: ScalarModelParams;
  result: RewardModelResult;
  /** On the training rankings before training (with evaluateBefore). */
  before?: RankingEvaluation;
}

/** Batch rows of the reward model: B, or more when a ranking has more outputs (one ranking fills K rows). */
export function rewardModelRows(B: number, rankings: readonly Ranking[]): number {
  return Math.max(B, mostOutputs(rankings));
}

/** The largest K among the rankings. */
function mostOutputs(rankings: readonly Ranking[]): number {
  return Math.max(...rankings.map((r) => r.responses.length));
}

/** Trains a reward model from the SFT trunk `trunk` on the rankings. */
export async function runRewardModelStage(
  device: GPUDevice,
  trunk: { config: GptConfig; tokenizer: Tokenizer; params: Float32Array },
  data: RewardModelData,
  settings: RewardModelStageSettings,
  hooks: StageHooks<RewardModelProgress> = {},
): Promise<RewardModelStageResult> {
  const { B, T, heldoutEvaluations, evaluateBefore, ...options } = settings;
  const encode = (rankings: readonly Ranking[]) => rankings.map((r) => encodeRanking(trunk.tokenizer, r));
  const train = encode(data.train);
  const heldout = data.heldout && data.heldout.length > 0 ? encode(data.heldout) : undefined;
  const K = mostOutputs([...data.train, ...(data.heldout ?? [])]);
  const rows = Math.max(B, K);
  const model = new GptModel(device, trunk.config, 'scalar', rows, T, 'reward-model');
  try {
    initRewardModel(model, trunk.params, options.seed);
    const before = evaluateBefore ? await evaluateRankings(model, train) : undefined;
    const result = await trainRewardModel(model, train, {
      ...options,
      ...hooks,
      ...(heldout && { heldout }),
      ...(heldout &&
        heldoutEvaluations && {
          evalEvery: heldoutEvalEvery(train.length, rows, K, options.epochs ?? 1, heldoutEvaluations),
        }),
      ...(data.demonstrations && data.demonstrations.length > 0 && { demonstrations: data.demonstrations }),
    });
    return { model: splitScalarParams(trunk.config, await model.readParams()), result, ...(before && { before }) };
  } finally {
    model.destroy();
  }
}

/** Steps between held-out evaluations: about `evaluations` over the run (whole rankings of K outputs fill B rows). */
function heldoutEvalEvery(rankings: number, B: number, K: number, epochs: number, evaluations: number): number {
  const steps = epochs * Math.ceil(rankings / Math.max(1, Math.floor(B / K)));
  return Math.max(1, Math.round(steps / evaluations));
}

// The worker's one-shot training jobs on named checkpoints: SFT on demonstrations, the reward
// model on rankings (train and held-out accuracy, the comparisons it gets wrong, scoring any text)
// and DPO on the same comparisons. Each job builds its GPU models for the base's shape, streams
// progress, and registers its result as a checkpoint with its lineage.
import { GptModel } from '../src/model/gpt.ts';
import { joinScalarParams, type ScalarModelParams } from '../src/model/layout.ts';
import type { GptConfig } from '../src/model/config.ts';
import type { Checkpoint } from '../src/model/checkpoint.ts';
import type { Tokenizer } from '../src/model/tokenizer.ts';
import { buildDemonstrations, buildPromptSet, type Ranking } from '../src/world/index.ts';
import { demonstrationSequences } from '../src/rlhf/datasets.ts';
import type { SftResult } from '../src/rlhf/sft.ts';
import { runSftStage, type SftReport } from '../src/rlhf/sft-stage.ts';
import {
  mispredictedComparisons,
  scoreTexts,
  type MispredictedComparison,
  type RankingEvaluation,
  type RewardModelProgress,
} from '../src/rlhf/reward-model.ts';
import { runRewardModelStage } from '../src/rlhf/reward-model-stage.ts';
import { encodePreferencePairs, type DpoProgress, type DpoResult } from '../src/rlhf/dpo.ts';
import { runDpoStage } from '../src/rlhf/dpo-stage.ts';
import { assertComparisons } from '../src/rlhf/rankings.ts';
import type { StageHooks } from '../src/rlhf/training-loop.ts';
import { lineageMeta, type CheckpointRegistry, type CheckpointSummary } from './checkpoints.ts';
import { afterInteractive } from './priority.ts';

export type { SftReport } from '../src/rlhf/sft-stage.ts';

/** Batch rows and sequence length of every training model for a base of this shape. */
export function trainingShape(config: GptConfig): { B: number; T: number } {
  return { B: config.nEmbd <= 64 ? 4 : 16, T: Math.min(config.nCtx, 128) };
}

export interface DemonstrationText {
  prompt: string;
  response: string;
}

/** A checkpoint of the base's shape and tokenizer holding `params` (and a score head for a reward model). */
export function checkpointOf(
  base: Checkpoint,
  params: Float32Array | ScalarModelParams,
  meta: Record<string, string>,
): Checkpoint {
  const weights = params instanceof Float32Array ? { params } : params;
  return { config: base.config, tokenizer: base.tokenizer, ...weights, meta };
}

/** A reward-model checkpoint's trunk and score head. */
export function rewardModelWeights(checkpoint: Checkpoint): ScalarModelParams {
  if (!checkpoint.scalarHead) throw new Error('this checkpoint has no score head: it is not a reward model');
  return { params: checkpoint.params, scalarHead: checkpoint.scalarHead };
}

export interface SftSettings {
  epochs: number;
  lr: number;
  /** The lesson's seed: the order of the demonstrations, and the TinyWorld whose held-out demonstrations give the held-out loss. */
  seed: number;
}

/** Held-out demonstrations the SFT curve's held-out loss is measured on (one batch at most). */
const SFT_HELDOUT_DEMONSTRATIONS = 8;

/** Fine-tunes the base model on the demonstrations and registers it as "sft"; reports the held-out loss about ten times. */
export async function runSft(
  device: GPUDevice,
  registry: CheckpointRegistry,
  demonstrations: readonly DemonstrationText[],
  settings: SftSettings,
  hooks: StageHooks<SftReport>,
): Promise<{ summary: CheckpointSummary; result: SftResult }> {
  if (demonstrations.length === 0)
    throw new Error('SFT needs at least one demonstration: write one or add the starter set');
  const base = registry.base();
  const heldoutPrompts = buildPromptSet(settings.seed).heldout.slice(0, SFT_HELDOUT_DEMONSTRATIONS);
  const heldout = demonstrationSequences(base.tokenizer, buildDemonstrations(settings.seed, heldoutPrompts));
  const data = demonstrationSequences(base.tokenizer, demonstrations);
  const { params, result } = await runSftStage(
    device,
    base,
    data,
    { ...settings, ...trainingShape(base.config), heldout },
    hooks,
  );
  const meta = lineageMeta({ kind: 'sft', parent: 'base', step: result.steps });
  return { summary: registry.put('sft', checkpointOf(base, params, meta)), result };
}

export interface RewardModelSettings {
  epochs: number;
  lr: number;
  seed: number;
}

export interface LabeledMisprediction extends MispredictedComparison {
  split: 'train' | 'heldout';
}

export interface RewardModelOutcome {
  summary: CheckpointSummary;
  steps: number;
  train: RankingEvaluation;
  heldout?: RankingEvaluation;
  truncated: number;
  dropped: number;
  stopped: boolean;
}

/** The checkpoint the reward model and PPO start from: SFT when there is one, else the base. */
export function trunkName(registry: CheckpointRegistry): 'sft' | 'base' {
  return registry.has('sft') ? 'sft' : 'base';
}

/** Held-out evaluations per reward-model run, about (the curve's points). */
const HELDOUT_EVALUATIONS = 10;

/** Trains a reward model on the SFT trunk (eq. 1, K-way) and registers it as "reward_model". */
export async function runRewardModel(
  device: GPUDevice,
  registry: CheckpointRegistry,
  rankings: { train: readonly Ranking[]; heldout: readonly Ranking[] },
  demonstrations: readonly DemonstrationText[],
  settings: RewardModelSettings,
  hooks: StageHooks<RewardModelProgress>,
): Promise<RewardModelOutcome> {
  if (rankings.train.length === 0)
    throw new Error('the reward model needs rankings: rank some outputs or auto-rank them');
  assertComparisons(rankings.train, 'the training rankings');
  const base = registry.base();
  const parent = trunkName(registry);
  const trunk = { ...base, params: registry.get(parent).params };
  const data = { ...rankings, demonstrations: demonstrationSequences(base.tokenizer, demonstrations) };
  const { model, result } = await runRewardModelStage(
    device,
    trunk,
    data,
    { ...settings, ...trainingShape(base.config), heldoutEvaluations: HELDOUT_EVALUATIONS },
    hooks,
  );
  const meta = lineageMeta({ kind: 'reward_model', parent, step: result.steps });
  const summary = registry.put('reward_model', checkpointOf(base, model, meta));
  return {
    summary,
    steps: result.steps,
    train: result.train,
    heldout: result.heldout,
    truncated: result.truncated,
    dropped: result.dropped,
    stopped: result.stopped,
  };
}

/** Runs `use` on a 'scalar' model holding the reward model, then frees it. */
async function withRewardModel<R>(
  device: GPUDevice,
  registry: CheckpointRegistry,
  use: (model: GptModel, tokenizer: Tokenizer) => Promise<R>,
): Promise<R> {
  const rm = registry.get('reward_model');
  const { B, T } = trainingShape(rm.config);
  const model = new GptModel(device, rm.config, 'scalar', B, T, 'reward-model.scorer');
  try {
    model.writeParams(joinScalarParams(rm.config, rewardModelWeights(rm)));
    return await use(model, rm.tokenizer);
  } finally {
    model.destroy();
  }
}

/** The reward model's score of each (prompt, response) in the chat frame. */
export function scoreWithRewardModel(
  device: GPUDevice,
  registry: CheckpointRegistry,
  items: readonly DemonstrationText[],
): Promise<number[]> {
  return withRewardModel(device, registry, (model, tokenizer) => scoreTexts(model, tokenizer, items));
}

/** Rankings checked per chunk of the mistakes job; an interactive request waits for one chunk at most. */
const MISTAKES_CHUNK = 4;

/** The comparisons the reward model orders wrongly, most confidently wrong first, tagged by split; gives way to interactive requests between chunks. */
export function rewardModelMistakes(
  device: GPUDevice,
  registry: CheckpointRegistry,
  rankings: { train: readonly Ranking[]; heldout: readonly Ranking[] },
  limit: number,
): Promise<LabeledMisprediction[]> {
  return withRewardModel(device, registry, async (model, tokenizer) => {
    const wrong: LabeledMisprediction[] = [];
    for (const split of ['heldout', 'train'] as const) {
      if (rankings[split].length === 0) continue;
      for (let first = 0; first < rankings[split].length; first += MISTAKES_CHUNK) {
        await afterInteractive();
        for (const m of await mispredictedComparisons(
          model,
          tokenizer,
          rankings[split].slice(first, first + MISTAKES_CHUNK),
        ))
          wrong.push({ ...m, split });
      }
    }
    const confidence = (m: MispredictedComparison) => m.rejectedReward - m.chosenReward;
    return wrong.sort((a, b) => confidence(b) - confidence(a)).slice(0, limit);
  });
}

export interface DpoSettings {
  epochs: number;
  lr: number;
  beta: number;
  seed: number;
}

/** DPO from SFT on the rankings' chosen/rejected pairs; registers the result as "dpo". */
export async function runDpo(
  device: GPUDevice,
  registry: CheckpointRegistry,
  rankings: readonly Ranking[],
  settings: DpoSettings,
  hooks: StageHooks<DpoProgress>,
): Promise<{ summary: CheckpointSummary; result: DpoResult }> {
  if (rankings.length === 0) throw new Error('DPO needs rankings: rank some outputs or auto-rank them');
  assertComparisons(rankings, 'the rankings');
  const base = registry.base();
  const parent = trunkName(registry);
  const start = { config: base.config, params: registry.get(parent).params };
  const pairs = { train: encodePreferencePairs(base.tokenizer, rankings) };
  const { params, result } = await runDpoStage(
    device,
    start,
    pairs,
    { ...settings, ...trainingShape(base.config) },
    hooks,
  );
  const meta = lineageMeta({ kind: 'dpo', parent, step: result.steps });
  return { summary: registry.put('dpo', checkpointOf(base, params, meta)), result };
}

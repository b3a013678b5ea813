// The worker's one-shot training jobs on named checkpoints: SFT on demonstrations, the reward
// model on rankings (train and held-out accuracy, the comparisons it gets wrong, scoring any text)
// and DPO on the same comparisons. Each job builds its GPU models for the base's shape, streams
// progress, and registers its result as a checkpoint with its lineage.
import { GptModel } from '../src/model/gpt.ts';
import { parameterLayout, type GptConfig } from '../src/model/config.ts';
import type { Checkpoint } from '../src/model/checkpoint.ts';
import type { Tokenizer } from '../src/model/tokenizer.ts';
import { buildDemonstrations, buildPromptSet, formatPrompt, formatResponse, type Ranking } from '../src/world/index.ts';
import { sequenceBatch, type Sequence } from '../src/rlhf/batches.ts';
import { trainSft, type SftProgress, type SftResult } from '../src/rlhf/sft.ts';
import { fitSequences, PAD_ID } from '../src/rlhf/training-loop.ts';
import {
  encodeRanking,
  initRewardModel,
  mispredictedComparisons,
  scoreTexts,
  trainRewardModel,
  type MispredictedComparison,
  type RankingEvaluation,
  type RewardModelProgress,
} from '../src/rlhf/reward-model.ts';
import { encodePreferencePairs, trainDpo, type DpoProgress, type DpoResult } from '../src/rlhf/dpo.ts';
import { assertComparisons } from '../src/rlhf/rankings.ts';
import { lineageMeta, type CheckpointRegistry, type CheckpointSummary } from './checkpoints.ts';
import { afterInteractive } from './priority.ts';

/** Batch rows and sequence length of every training model for a base of this shape. */
export function trainingShape(config: GptConfig): { B: number; T: number } {
  return { B: config.nEmbd <= 64 ? 4 : 16, T: Math.min(config.nCtx, 128) };
}

export interface Hooks<P> {
  onProgress?(progress: P): void | Promise<void>;
  shouldStop?(): boolean;
}

export interface DemonstrationText {
  prompt: string;
  response: string;
}

export function encodeDemonstrations(tokenizer: Tokenizer, demonstrations: readonly DemonstrationText[]): Sequence[] {
  return demonstrations.map((d) => ({ prompt: tokenizer.encode(formatPrompt(d.prompt)), response: tokenizer.encode(formatResponse(d.response)) }));
}

/** A reward model's flat 'scalar' parameters: the trunk followed by the score head. */
export function scalarParams(checkpoint: Checkpoint): Float32Array {
  if (!checkpoint.scalarHead) throw new Error('this checkpoint has no score head: it is not a reward model');
  const flat = new Float32Array(checkpoint.params.length + checkpoint.scalarHead.length);
  flat.set(checkpoint.params);
  flat.set(checkpoint.scalarHead, checkpoint.params.length);
  return flat;
}

/** A checkpoint from a model's flat parameters ('scalar' ones are split into trunk and head). */
export function checkpointOf(base: Checkpoint, flat: Float32Array, scalar: boolean, meta: Record<string, string>): Checkpoint {
  const trunk = parameterLayout(base.config).totalFloats;
  return {
    config: base.config,
    tokenizer: base.tokenizer,
    params: flat.slice(0, trunk),
    ...(scalar && { scalarHead: flat.slice(trunk) }),
    meta,
  };
}

export interface SftSettings {
  epochs: number;
  lr: number;
  /** The lesson's seed: the order of the demonstrations, and the TinyWorld whose held-out demonstrations give the held-out loss. */
  seed: number;
}

/** SFT's progress as the page sees it: the trainer's, with the held-out loss at some steps. */
export interface SftReport extends SftProgress {
  /** Mean loss on TinyWorld demonstrations for held-out prompts (none of them is trained on). */
  heldoutLoss?: number;
}

/** Held-out demonstrations the SFT curve's held-out loss is measured on (one batch at most). */
const SFT_HELDOUT_DEMONSTRATIONS = 8;
/** Held-out losses per SFT run, about (and one at the last step). */
const SFT_HELDOUT_EVALUATIONS = 10;

/** TinyWorld's demonstrations for its first held-out prompts, as one batch of sequences. */
function sftHeldoutSequences(base: Checkpoint, worldSeed: number, model: GptModel): Sequence[] {
  const prompts = buildPromptSet(worldSeed).heldout.slice(0, Math.min(SFT_HELDOUT_DEMONSTRATIONS, model.B));
  const demonstrations = buildDemonstrations(worldSeed, prompts).map((d) => ({ prompt: d.prompt, response: d.response }));
  return fitSequences(encodeDemonstrations(base.tokenizer, demonstrations), model.T + 1).sequences;
}

/** Mean −log p of the response tokens of `sequences` (one forward pass; the weights are untouched). */
async function responseLoss(model: GptModel, sequences: readonly Sequence[]): Promise<number> {
  const batch = sequenceBatch(sequences, model.B, model.T, PAD_ID);
  model.setBatch(batch);
  const { logprobs } = await model.evaluate();
  let loss = 0;
  let weight = 0;
  batch.weights.forEach((w, i) => {
    loss -= w * logprobs![i];
    weight += w;
  });
  return loss / weight;
}

/** Fine-tunes the base model on the demonstrations and registers it as "sft"; reports the held-out loss about ten times. */
export async function runSft(
  device: GPUDevice,
  registry: CheckpointRegistry,
  demonstrations: readonly DemonstrationText[],
  settings: SftSettings,
  hooks: Hooks<SftReport>,
): Promise<{ summary: CheckpointSummary; result: SftResult }> {
  if (demonstrations.length === 0) throw new Error('SFT needs at least one demonstration: write one or add the starter set');
  const base = registry.base();
  const { B, T } = trainingShape(base.config);
  const model = new GptModel(device, base.config, 'lm', B, T, 'sft');
  try {
    model.writeParams(base.params);
    const heldout = sftHeldoutSequences(base, settings.seed, model);
    const onProgress = async (p: SftProgress) => {
      const every = Math.max(1, Math.round(p.totalSteps / SFT_HELDOUT_EVALUATIONS));
      const due = heldout.length > 0 && (p.step % every === 0 || p.step === p.totalSteps);
      await hooks.onProgress?.(due ? { ...p, heldoutLoss: await responseLoss(model, heldout) } : p);
    };
    const result = await trainSft(model, encodeDemonstrations(base.tokenizer, demonstrations), { ...settings, shouldStop: hooks.shouldStop, onProgress });
    const params = await model.readParams();
    const meta = lineageMeta({ kind: 'sft', parent: 'base', step: result.steps });
    return { summary: registry.put('sft', checkpointOf(base, params, false, meta)), result };
  } finally {
    model.destroy();
  }
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

/** Steps between held-out evaluations: about HELDOUT_EVALUATIONS over the run (whole rankings fill B rows). */
function heldoutEvalEvery(rankings: number, B: number, K: number, epochs: number): number {
  const steps = epochs * Math.ceil(rankings / Math.max(1, Math.floor(B / K)));
  return Math.max(1, Math.round(steps / HELDOUT_EVALUATIONS));
}

/** Trains a reward model on the SFT trunk (eq. 1, K-way) and registers it as "reward_model". */
export async function runRewardModel(
  device: GPUDevice,
  registry: CheckpointRegistry,
  rankings: { train: readonly Ranking[]; heldout: readonly Ranking[] },
  demonstrations: readonly DemonstrationText[],
  settings: RewardModelSettings,
  hooks: Hooks<RewardModelProgress>,
): Promise<RewardModelOutcome> {
  if (rankings.train.length === 0) throw new Error('the reward model needs rankings: rank some outputs or auto-rank them');
  assertComparisons(rankings.train, 'the training rankings');
  const base = registry.base();
  const parent = trunkName(registry);
  const { B, T } = trainingShape(base.config);
  const K = Math.max(...rankings.train.map((r) => r.responses.length), ...rankings.heldout.map((r) => r.responses.length));
  const model = new GptModel(device, base.config, 'scalar', Math.max(B, K), T, 'reward-model');
  try {
    initRewardModel(model, registry.get(parent).params, settings.seed);
    const { tokenizer } = base;
    const heldout = rankings.heldout.map((r) => encodeRanking(tokenizer, r));
    const result = await trainRewardModel(model, rankings.train.map((r) => encodeRanking(tokenizer, r)), {
      ...settings,
      ...hooks,
      ...(heldout.length > 0 && { heldout, evalEvery: heldoutEvalEvery(rankings.train.length, Math.max(B, K), K, settings.epochs) }),
      ...(demonstrations.length > 0 && { demonstrations: encodeDemonstrations(tokenizer, demonstrations) }),
    });
    const params = await model.readParams();
    const meta = lineageMeta({ kind: 'reward_model', parent, step: result.steps });
    const summary = registry.put('reward_model', checkpointOf(base, params, true, meta));
    return { summary, steps: result.steps, train: result.train, heldout: result.heldout, truncated: result.truncated, dropped: result.dropped, stopped: result.stopped };
  } finally {
    model.destroy();
  }
}

/** Runs `use` on a 'scalar' model holding the reward model, then frees it. */
async function withRewardModel<R>(device: GPUDevice, registry: CheckpointRegistry, use: (model: GptModel, tokenizer: Tokenizer) => Promise<R>): Promise<R> {
  const rm = registry.get('reward_model');
  const { B, T } = trainingShape(rm.config);
  const model = new GptModel(device, rm.config, 'scalar', B, T, 'reward-model.scorer');
  try {
    model.writeParams(scalarParams(rm));
    return await use(model, rm.tokenizer);
  } finally {
    model.destroy();
  }
}

/** The reward model's score of each (prompt, response) in the chat frame. */
export function scoreWithRewardModel(device: GPUDevice, registry: CheckpointRegistry, items: readonly DemonstrationText[]): Promise<number[]> {
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
        for (const m of await mispredictedComparisons(model, tokenizer, rankings[split].slice(first, first + MISTAKES_CHUNK))) wrong.push({ ...m, split });
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
  hooks: Hooks<DpoProgress>,
): Promise<{ summary: CheckpointSummary; result: DpoResult }> {
  if (rankings.length === 0) throw new Error('DPO needs rankings: rank some outputs or auto-rank them');
  assertComparisons(rankings, 'the rankings');
  const base = registry.base();
  const parent = trunkName(registry);
  const { B, T } = trainingShape(base.config);
  const policy = new GptModel(device, base.config, 'lm', B, T, 'dpo-policy');
  const reference = new GptModel(device, base.config, 'lm', B, T, 'dpo-reference');
  try {
    const start = registry.get(parent).params;
    policy.writeParams(start);
    reference.writeParams(start);
    const result = await trainDpo(policy, reference, encodePreferencePairs(base.tokenizer, rankings), { ...settings, ...hooks });
    const params = await policy.readParams();
    const meta = lineageMeta({ kind: 'dpo', parent, step: result.steps });
    return { summary: registry.put('dpo', checkpointOf(base, params, false, meta)), result };
  } finally {
    policy.destroy();
    reference.destroy();
  }
}

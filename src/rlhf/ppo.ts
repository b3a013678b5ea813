// PPO for RLHF, InstructGPT §3.5 (Ouyang et al. 2022) in the shape of TRL's PPOTrainer: each
// iteration samples one response per prompt from the policy, scores it with the frozen reward
// model, penalises the per-token KL to the frozen SFT reference, estimates advantages with GAE
// against a value model initialised from the reward model, and runs several epochs of clipped
// PPO updates over shuffled minibatches, optionally mixing in a pretraining language-modelling
// gradient (PPO-ptx). Metrics are named as TRL logs them.
//
// Four GPT-2s on one device, all with the same (B, T) shape (B = minibatch rows, T = longest
// prompt + response):
//   policy    'lm'      initialised from SFT, trained; a GptSampler reads its live params;
//   reference 'lm'      frozen SFT: log π_SFT for the KL penalty;
//   value     'scalar'  initialised from the reward model (trunk and head), trained;
//   reward    'scalar'  frozen reward model, read at the response's last token.
//
// Data alignment (one row of a (B,T) batch, see responseMask in losses.ts): ids = prompt (length
// P) + response (length n, ending in EOS when it ended), tokens[t] = ids[t], targets[t] = ids[t+1].
// Response token i (0 ≤ i < n) is the target of input position p = P − 1 + i, so at that position
//   logprob(p)    = log π(response[i] | ids[0..p])           (policy and reference),
//   value(p)      = V(ids[0..p]), the state just before response[i] is drawn,
//   entropy(p)    = H(π(· | ids[0..p])),
// which is TRL's `logits[:, context_length − 1 : −1]` and `values[:, context_length − 1 : −1]`.
// The reward model's score is read at input position P + n − 1, the last token itself (EOS when
// the response ended). The value after the last token is 0 (the episode ends), so GAE runs over
// exactly the n response positions; TRL instead places the score one position past EOS and keeps
// one extra value there, which InstructGPT's formulation does not need.
//
// Everything here runs unchanged in a browser worker and in Node: no Node imports.
import { GptModel, type AdamwHyperparams } from '../model/gpt.ts';
import type { GptConfig } from '../model/config.ts';
import { GptSampler } from '../model/sampler.ts';
import { Rng } from '../model/random.ts';
import { sampleWindows } from '../model/lm-training.ts';
import { ppoPolicyLoss, ppoValueLoss, tokenWeightsFromLogprobGradient } from './losses.ts';
import { explainedVariance, gae, tokenRewards, whiten } from './advantages.ts';
import { adaptiveKlController, klK3, type AdaptiveKlController } from './kl.ts';
import { sequenceBatch, type SequenceBatch } from './batches.ts';
import { assertFinite, shuffledIndices, type DivergenceSite } from './training-loop.ts';

/** The four models of PPO; all share B, T and the vocabulary. */
export interface PpoModels {
  policy: GptModel;
  reference: GptModel;
  value: GptModel;
  reward: GptModel;
}

/**
 * AdamW for PPO: β2 = 0.95 as InstructGPT's Adam; no weight decay (TRL's default; decay would pull
 * the policy toward zero, a drift from SFT the KL penalty would then fight); global-norm clip 1.0
 * (TRL's max_grad_norm). lr is of the order of TRL's PPO default (3e-6); small models take much
 * more (the unit test uses 3e-2 on a micro model), so callers usually set it.
 */
export const DEFAULT_PPO_ADAMW: AdamwHyperparams = {
  lr: 1e-5,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0,
  gradClip: 1.0,
};

/**
 * PPO-ptx's pretraining coefficient γ_ptx, scaled to our normalisation. InstructGPT uses γ = 27.8
 * with 8× as many pretraining examples as RL episodes, without saying how either term is
 * normalised, so the number itself does not transfer. Here the policy update minimises
 *   L = L_PPO + γ_ptx · L_ptx,
 * both per-token means over one minibatch: L_PPO averages −A·ratio over response tokens (A whitened
 * to unit variance), L_ptx averages −log π over B windows of T tokens drawn alongside the B
 * episodes. We draw 1× rather than 8× the sequences because each window batch costs a full forward
 * and backward on our (B,T) shape, and the count changes only the noise of a mean, not its size.
 * With equal normalisation, γ_ptx = 1 weighs a pretraining token like a response token whose
 * advantage is one standard deviation. 27.8 would let the coherent pretraining gradient dominate
 * the summed gradient, and the norm clip would then shrink the PPO part with it. Raise γ_ptx to
 * trade reward for a lower alignment tax, as the paper's sweep of the coefficient does.
 */
export const DEFAULT_PTX_COEF = 1;

export interface PpoPretrainingMix {
  /** The pretraining token stream (documents joined by EOS) that windows are drawn from. */
  stream: Int32Array;
  /** γ_ptx > 0 (default DEFAULT_PTX_COEF). */
  coef?: number;
}

export interface PpoOptions {
  /** The end-of-response token; also pads batches. */
  eosId: number;
  /** Episodes per iteration at most (TRL batch_size); the sampler's batch. Default: the models' B. */
  batchSize?: number;
  /** TRL response_length; the models' T also bounds prompt + response. Default 48. */
  maxNewTokens?: number;
  /**
   * Sampling temperature (default 1: PPO needs samples from π itself). Log-probs are always those of the untempered
   * policy (the GPU evaluate has no temperature, unlike TRL, which divides logits by it), so with a
   * temperature ≠ 1 the rollouts are slightly off-policy for the ratio and the KL penalty.
   */
  temperature?: number;
  /** PPO epochs over each batch (TRL num_ppo_epochs, default 4). */
  ppoEpochs?: number;
  /** β, the KL penalty coefficient (default 0.02, InstructGPT). 0 is allowed: no penalty. */
  klCoef?: number;
  /** Adaptive β (Ziegler et al. 2019, TRL's AdaptiveKLController) toward a target summed KL per episode. */
  adaptiveKl?: { target: number; horizon: number };
  /** GAE discount γ (default 1, as InstructGPT and TRL). */
  gamma?: number;
  /** GAE λ (default 0.95, TRL). */
  lambda?: number;
  /** Policy ratio clip ε (TRL cliprange, default 0.2). */
  clipRange?: number;
  /** Value clip around the rollout values (TRL cliprange_value, default 0.2). */
  clipRangeValue?: number;
  /** Subtracted from the score of responses that never produced EOS (TRL missing_eos_penalty). */
  missingEosPenalty?: number;
  policyOptimizer?: AdamwHyperparams;
  valueOptimizer?: AdamwHyperparams;
  /** PPO-ptx: a pretraining gradient added to every policy update. */
  ptx?: PpoPretrainingMix;
  /** Seeds sampling, minibatch shuffling and pretraining windows. */
  seed?: number;
  /** How many episodes of each iteration go into its samples table (default 4). */
  samplesPerIteration?: number;
  /** Called with every iteration's result as soon as it is ready (may be async; awaited). */
  onMetrics?: (result: PpoIterationResult) => void | Promise<void>;
}

/** Per-iteration statistics, named as TRL's PPOTrainer logs them where it has a name. */
export interface PpoMetrics {
  /** Mean reward-model score (after any missing-EOS penalty, as TRL logs it). */
  'objective/scores': number;
  /** Unbiased standard deviation of the scores. */
  'objective/scores_std': number;
  /** Σ over the response of k1 = log π − log π_ref, mean over episodes. */
  'objective/kl': number;
  /** Σ over the response of k3 (≥ 0), mean over episodes. */
  'objective/kl_k3': number;
  /** Mean entropy of the policy over response positions (TRL logs Σ −log π per episode instead). */
  'objective/entropy': number;
  /** Σ over the response of −β·k1, mean over episodes. */
  'objective/non_score_reward': number;
  /** non_score_reward + scores: the mean return the policy maximises. */
  'objective/rlhf_reward': number;
  'policy/approxkl_avg': number;
  'policy/clipfrac_avg': number;
  'loss/policy_avg': number;
  'loss/value_avg': number;
  'val/clipfrac_avg': number;
  /** 1 − Var[R − V]/Var[R] of the rollout values; NaN only when the returns do not vary. */
  'val/vf_explained_var': number;
  /** Mean pretraining −log π per token over the ptx windows (PPO-ptx only). */
  'loss/ptx_avg'?: number;
  /** Mean response length in tokens, EOS included. */
  response_length_mean: number;
  /** Share of responses that ended with EOS. */
  ended_share: number;
  /** β used for this iteration's rewards (TRL's PPOTrainer logs it as objective/kl_coef). */
  'objective/kl_coef': number;
}

export interface PpoSample {
  promptIndex: number;
  response: number[];
  ended: boolean;
  /** The reward-model score (after any missing-EOS penalty). */
  reward: number;
  /** Σ k1 over the response. */
  kl: number;
}

/** What an iteration is doing now: the rollout's sampling, its scoring passes, or minibatch updates. */
export type PpoPhase =
  | { phase: 'sampling' }
  | { phase: 'scoring' }
  | { phase: 'training'; epoch: number; epochs: number; minibatch: number; minibatches: number };

export interface PpoIterationResult {
  /** 0-based iteration count of this trainer. */
  iteration: number;
  metrics: PpoMetrics;
  samples: PpoSample[];
}

/** One rollout: a prompt and the response the policy sampled for it. */
export interface Episode {
  promptIndex: number;
  prompt: number[];
  response: number[];
  ended: boolean;
}

/** What the rollout forward passes give for one episode, over its n response tokens. */
export interface EpisodeForward {
  logprobs: number[]; // (n) log π_old(response[i])
  refLogprobs: number[]; // (n) log π_ref(response[i])
  values: number[]; // (n) V of the state before response[i]
  entropy: number[]; // (n) H(π) at the same positions
  /** Reward-model output at the last token, before any missing-EOS penalty. */
  score: number;
}

/** Rewards, advantages and statistics of one episode. */
export interface EpisodeTargets {
  rewards: number[]; // (n) −β·k1 per token, + score at the last
  advantages: number[]; // (n) GAE, whitened over the whole batch
  returns: number[]; // (n) GAE advantages (before whitening) + values: the value targets
  /** Score after any missing-EOS penalty. */
  score: number;
  kl: number;
  klK3: number;
  nonScoreReward: number;
}

export interface TargetOptions {
  /** β of the per-token KL penalty. */
  klCoef: number;
  gamma: number;
  lambda: number;
  missingEosPenalty?: number;
}

/** One minibatch laid out as the (B,T) batch the models take; every array is 0 off the response mask. */
export interface Minibatch {
  batch: SequenceBatch;
  oldLogprobs: Float32Array; // (B,T)
  oldValues: Float32Array; // (B,T)
  advantages: Float32Array; // (B,T)
  returns: Float32Array; // (B,T)
  rewards: Float32Array; // (B,T) per-token rewards (for inspection)
}

/** Flat (B·T) per-position outputs of the four rollout forward passes over one batch. */
export interface RolloutOutputs {
  logprobs: ArrayLike<number>;
  refLogprobs: ArrayLike<number>;
  entropy: ArrayLike<number>;
  values: ArrayLike<number>;
  rewardValues: ArrayLike<number>;
}

/** Index of response token 0's position in the flat (B,T) arrays for row b: b·T + P − 1. */
function responseStart(row: number, T: number, promptLength: number): number {
  return row * T + promptLength - 1;
}

/**
 * Reads each episode's response positions out of the flat outputs of one batch built by
 * sequenceBatch(episodes, B, T, …): row b's response token i sits at b·T + P_b − 1 + i, and the
 * reward model's score at b·T + lastTokenIndex[b].
 */
export function readEpisodeForwards(
  episodes: readonly Episode[],
  batch: SequenceBatch,
  T: number,
  outputs: RolloutOutputs,
): EpisodeForward[] {
  return episodes.map((episode, row) => {
    const last = batch.lastTokenIndex[row];
    if (last >= T)
      throw new Error(`episode ${episode.promptIndex}: ${last + 1} tokens do not fit the reward model's T=${T}`);
    const start = responseStart(row, T, episode.prompt.length);
    const slice = (flat: ArrayLike<number>) =>
      Array.from({ length: episode.response.length }, (_, i) => flat[start + i]);
    return {
      logprobs: slice(outputs.logprobs),
      refLogprobs: slice(outputs.refLogprobs),
      values: slice(outputs.values),
      entropy: slice(outputs.entropy),
      score: outputs.rewardValues[row * T + last],
    };
  });
}

/**
 * Per-token rewards (InstructGPT eq. 2 spread over tokens as TRL does: −β·k1 on every token, the
 * score at the last), GAE per episode, then advantages whitened over every response token of the
 * batch (TRL masked_whiten at rollout time, not per minibatch). Needs ≥ 2 response tokens in all.
 */
export function episodeTargets(
  episodes: readonly Episode[],
  forwards: readonly EpisodeForward[],
  options: TargetOptions,
): EpisodeTargets[] {
  if (episodes.length !== forwards.length)
    throw new Error(`episodeTargets: ${episodes.length} episodes but ${forwards.length} forwards`);
  const raw = forwards.map((f, e) => {
    const reward = tokenRewards(f.score, f.logprobs, f.refLogprobs, options.klCoef, {
      ended: episodes[e].ended,
      missingEosPenalty: options.missingEosPenalty,
    });
    const { advantages, returns } = gae(reward.rewards, f.values, options.gamma, options.lambda);
    const k3 = f.logprobs.reduce((sum, logprob, t) => sum + klK3(logprob, f.refLogprobs[t]), 0);
    return {
      rewards: reward.rewards,
      advantages,
      returns,
      score: reward.score,
      kl: reward.kl,
      klK3: k3,
      nonScoreReward: reward.nonScoreReward,
    };
  });
  const all = raw.flatMap((r) => r.advantages);
  const whitened = whiten(all, new Array<number>(all.length).fill(1));
  let offset = 0;
  return raw.map((r) => {
    const advantages = whitened.slice(offset, offset + r.advantages.length);
    offset += r.advantages.length;
    return { ...r, advantages };
  });
}

/** Packs episodes `rows` into a (B,T) minibatch with their rollout arrays at the response positions. */
export function assembleMinibatch(
  episodes: readonly Episode[],
  forwards: readonly EpisodeForward[],
  targets: readonly EpisodeTargets[],
  rows: readonly number[],
  B: number,
  T: number,
  padId: number,
): Minibatch {
  const batch = sequenceBatch(
    rows.map((e) => episodes[e]),
    B,
    T,
    padId,
  );
  const flat = () => new Float32Array(B * T);
  const minibatch: Minibatch = {
    batch,
    oldLogprobs: flat(),
    oldValues: flat(),
    advantages: flat(),
    returns: flat(),
    rewards: flat(),
  };
  rows.forEach((e, row) => {
    const start = responseStart(row, T, episodes[e].prompt.length);
    minibatch.oldLogprobs.set(forwards[e].logprobs, start);
    minibatch.oldValues.set(forwards[e].values, start);
    minibatch.advantages.set(targets[e].advantages, start);
    minibatch.returns.set(targets[e].returns, start);
    minibatch.rewards.set(targets[e].rewards, start);
  });
  return minibatch;
}

/**
 * Allocates the four PPO models with shape (B,T): policy and reference from the SFT parameters,
 * value and reward models from the reward model's (trunk and scalar head). The caller owns them.
 */
export function createPpoModels(
  device: GPUDevice,
  config: GptConfig,
  weights: { sft: Float32Array; rewardModel: Float32Array },
  B: number,
  T: number,
): PpoModels {
  const models: PpoModels = {
    policy: new GptModel(device, config, 'lm', B, T, 'ppo-policy'),
    reference: new GptModel(device, config, 'lm', B, T, 'ppo-reference'),
    value: new GptModel(device, config, 'scalar', B, T, 'ppo-value'),
    reward: new GptModel(device, config, 'scalar', B, T, 'ppo-reward'),
  };
  models.policy.writeParams(weights.sft);
  models.reference.writeParams(weights.sft);
  models.value.writeParams(weights.rewardModel);
  models.reward.writeParams(weights.rewardModel);
  return models;
}

/** Running means of the statistics of every minibatch update. */
class UpdateStats {
  private readonly sums = new Map<string, number>();
  private count = 0;

  add(values: Record<string, number>): void {
    for (const [name, value] of Object.entries(values)) this.sums.set(name, (this.sums.get(name) ?? 0) + value);
    this.count += 1;
  }

  mean(name: string): number {
    return (this.sums.get(name) ?? NaN) / this.count;
  }
}

type Resolved = Required<Omit<PpoOptions, 'adaptiveKl' | 'missingEosPenalty' | 'ptx' | 'onMetrics'>> &
  Pick<PpoOptions, 'adaptiveKl' | 'missingEosPenalty' | 'ptx' | 'onMetrics'>;

/**
 * The PPO loop. `iterate(prompts)` runs one rollout and its PPO epochs and returns (and streams
 * through onMetrics) the iteration's metrics. Models belong to the caller; destroy() frees the sampler.
 */
export class PpoTrainer {
  readonly options: Resolved;
  private readonly sampler: GptSampler;
  private readonly klController?: AdaptiveKlController;
  private readonly rng: Rng;
  private iterations = 0;
  private running = false;

  constructor(
    readonly models: PpoModels,
    options: PpoOptions,
  ) {
    checkModels(models);
    const { policy } = models;
    this.options = {
      batchSize: policy.B,
      maxNewTokens: 48,
      temperature: 1,
      ppoEpochs: 4,
      klCoef: 0.02,
      gamma: 1,
      lambda: 0.95,
      clipRange: 0.2,
      clipRangeValue: 0.2,
      policyOptimizer: DEFAULT_PPO_ADAMW,
      valueOptimizer: DEFAULT_PPO_ADAMW,
      seed: 1,
      samplesPerIteration: 4,
      ...definedEntries(options),
    };
    checkOptions(this.options, policy.T);
    const { adaptiveKl, klCoef } = this.options;
    if (adaptiveKl) this.klController = adaptiveKlController(klCoef, adaptiveKl.target, adaptiveKl.horizon);
    this.rng = new Rng(this.options.seed);
    this.sampler = new GptSampler(
      policy.device,
      policy.config,
      policy.params,
      'lm',
      this.options.batchSize,
      policy.T,
      this.options.eosId,
      'ppo-sampler',
    );
  }

  /** The KL coefficient the next iteration will use. */
  get klCoef(): number {
    return this.klController?.value ?? this.options.klCoef;
  }

  /**
   * One PPO iteration on up to batchSize chat-framed prompts (at least 2: advantages are whitened
   * over the batch): rollout, rewards and advantages, ppoEpochs of minibatch updates, metrics.
   * Throws when any loss, gradient norm or metric is NaN or infinite. onPhase hears each phase as
   * it begins (epoch and minibatch 1-based), for progress.
   */
  async iterate(prompts: number[][], onPhase?: (phase: PpoPhase) => void): Promise<PpoIterationResult> {
    if (this.running) throw new Error('PpoTrainer.iterate: the previous iteration has not finished');
    this.running = true;
    try {
      return await this.runIteration(prompts, onPhase ?? (() => {}));
    } finally {
      this.running = false;
    }
  }

  private async runIteration(prompts: number[][], onPhase: (phase: PpoPhase) => void): Promise<PpoIterationResult> {
    this.checkPrompts(prompts);
    const iteration = this.iterations;
    const klCoef = this.klCoef;
    onPhase({ phase: 'sampling' });
    const episodes = await this.rollout(prompts, iteration);
    onPhase({ phase: 'scoring' });
    const forwards = await this.rolloutForward(episodes);
    forwards.forEach((f, e) => checkForward(f, e, iteration));
    const targets = episodeTargets(episodes, forwards, {
      klCoef,
      gamma: this.options.gamma,
      lambda: this.options.lambda,
      missingEosPenalty: this.options.missingEosPenalty,
    });
    const stats = await this.optimise(episodes, forwards, targets, iteration, onPhase);
    const metrics: PpoMetrics = {
      ...rolloutMetrics(episodes, forwards, targets, klCoef),
      'policy/approxkl_avg': stats.mean('approxkl'),
      'policy/clipfrac_avg': stats.mean('pgClipfrac'),
      'loss/policy_avg': stats.mean('pgLoss'),
      'loss/value_avg': stats.mean('vfLoss'),
      'val/clipfrac_avg': stats.mean('vfClipfrac'),
      ...(this.options.ptx ? { 'loss/ptx_avg': stats.mean('ptxLoss') } : {}),
    };
    checkMetrics(metrics, iteration);
    this.klController?.update(metrics['objective/kl'], episodes.length);
    this.iterations += 1;
    const samples = episodes.slice(0, this.options.samplesPerIteration).map((episode, e) => ({
      promptIndex: episode.promptIndex,
      response: episode.response,
      ended: episode.ended,
      reward: targets[e].score,
      kl: targets[e].kl,
    }));
    const result: PpoIterationResult = { iteration, metrics, samples };
    await this.options.onMetrics?.(result);
    return result;
  }

  private checkPrompts(prompts: number[][]): void {
    const { batchSize } = this.options;
    const { T } = this.models.policy;
    if (prompts.length < 2 || prompts.length > batchSize)
      throw new Error(`PpoTrainer.iterate: between 2 and batchSize=${batchSize} prompts, got ${prompts.length}`);
    prompts.forEach((prompt, i) => {
      if (prompt.length === 0 || prompt.length >= T)
        throw new Error(
          `PpoTrainer.iterate: prompt ${i} has ${prompt.length} tokens; prompts need 1 to T−1=${T - 1} so that a response fits`,
        );
    });
  }

  /** Samples one response per prompt from the live policy (no top-k/top-p: PPO needs π itself). */
  private async rollout(prompts: number[][], iteration: number): Promise<Episode[]> {
    const { maxNewTokens, temperature, seed } = this.options;
    const generation = await this.sampler.generate(prompts, {
      maxNewTokens,
      temperature,
      topK: 0,
      topP: 1,
      seed: seed + iteration,
    });
    return prompts.map((prompt, promptIndex) => ({
      promptIndex,
      prompt,
      response: generation.tokens[promptIndex],
      ended: generation.ended[promptIndex],
    }));
  }

  /** Old policy log-probs and entropy, reference log-probs, values and scores, model.B episodes at a time. */
  private async rolloutForward(episodes: readonly Episode[]): Promise<EpisodeForward[]> {
    const { policy, reference, value, reward } = this.models;
    const { B, T } = policy;
    const forwards: EpisodeForward[] = [];
    for (let first = 0; first < episodes.length; first += B) {
      const chunk = episodes.slice(first, first + B);
      const batch = sequenceBatch(chunk, B, T, this.options.eosId);
      for (const model of [policy, reference]) model.setBatch(batch);
      for (const model of [value, reward]) model.setBatch({ tokens: batch.tokens });
      const [pi, ref, v, r] = await Promise.all([
        policy.evaluate(),
        reference.evaluate(),
        value.evaluate(),
        reward.evaluate(),
      ]);
      const outputs = {
        logprobs: pi.logprobs!,
        entropy: pi.entropy!,
        refLogprobs: ref.logprobs!,
        values: v.values!,
        rewardValues: r.values!,
      };
      forwards.push(...readEpisodeForwards(chunk, batch, T, outputs));
    }
    return forwards;
  }

  /** ppoEpochs passes over the episodes in fresh random minibatches of model.B (TRL's loop). */
  private async optimise(
    episodes: Episode[],
    forwards: EpisodeForward[],
    targets: EpisodeTargets[],
    iteration: number,
    onPhase: (phase: PpoPhase) => void,
  ): Promise<UpdateStats> {
    const { B, T } = this.models.policy;
    const stats = new UpdateStats();
    const epochs = this.options.ppoEpochs;
    const minibatches = Math.ceil(episodes.length / B);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffledIndices(episodes.length, this.rng);
      for (let first = 0; first < order.length; first += B) {
        onPhase({ phase: 'training', epoch: epoch + 1, epochs, minibatch: first / B + 1, minibatches });
        const where = `iteration ${iteration}, epoch ${epoch}, minibatch ${first / B}`;
        const minibatch = assembleMinibatch(
          episodes,
          forwards,
          targets,
          order.slice(first, first + B),
          B,
          T,
          this.options.eosId,
        );
        const policyStats = await this.policyUpdate(minibatch, where);
        const valueStats = await this.valueUpdate(minibatch, where);
        stats.add({ ...policyStats, ...valueStats });
      }
    }
    return stats;
  }

  /**
   * Policy forward → clipped surrogate on the CPU → d loss / d logp as per-token weights (lossScale 1)
   * → backward of the same forward → AdamW. With PPO-ptx, a language-modelling pass over B random
   * windows (loss scaled by γ_ptx / Σweights) adds its gradient before the one AdamW update, so the
   * step follows InstructGPT's objective, PPO loss + γ_ptx · pretraining loss.
   */
  private async policyUpdate(minibatch: Minibatch, where: string): Promise<Record<string, number>> {
    const { policy } = this.models;
    const { batch } = minibatch;
    policy.setBatch(batch);
    const { logprobs } = await policy.evaluate();
    const pg = ppoPolicyLoss(
      logprobs!,
      minibatch.oldLogprobs,
      minibatch.advantages,
      batch.weights,
      this.options.clipRange,
    );
    assertFinite('loss/policy', pg.loss, ppoSite(where));
    policy.setBatch({
      tokens: batch.tokens,
      targets: batch.targets,
      weights: tokenWeightsFromLogprobGradient(pg.dNewLogprobs),
      lossScale: 1,
    });
    const { ptx, policyOptimizer } = this.options;
    const result: Record<string, number> = { pgLoss: pg.loss, pgClipfrac: pg.clipfrac, approxkl: pg.approxkl };
    if (!ptx) {
      const { gradNorm } = await policy.step({ reuseForward: true, optimizer: policyOptimizer });
      assertFinite('policy gradient norm', gradNorm, ppoSite(where));
      return result;
    }
    const coef = ptx.coef ?? DEFAULT_PTX_COEF;
    const ppoGradient = policy.step({ reuseForward: true });
    policy.setBatch({
      ...sampleWindows(ptx.stream, policy.B, policy.T, this.rng),
      lossScale: coef / (policy.B * policy.T),
    });
    const [, mixed] = await Promise.all([ppoGradient, policy.step({ zeroGrad: false, optimizer: policyOptimizer })]);
    assertFinite('loss/ptx', mixed.loss, ppoSite(where));
    assertFinite('policy gradient norm', mixed.gradNorm, ppoSite(where));
    return { ...result, ptxLoss: mixed.loss / coef };
  }

  /** Value forward → TRL's clipped value loss → d loss / d values → backward of the same forward → AdamW. */
  private async valueUpdate(minibatch: Minibatch, where: string): Promise<Record<string, number>> {
    const { value } = this.models;
    const { batch } = minibatch;
    value.setBatch({ tokens: batch.tokens });
    const { values } = await value.evaluate();
    const vf = ppoValueLoss(
      values!,
      minibatch.oldValues,
      minibatch.returns,
      batch.weights,
      this.options.clipRangeValue,
    );
    assertFinite('loss/value', vf.loss, ppoSite(where));
    value.setValueGradients(Float32Array.from(vf.dValues));
    const { gradNorm } = await value.step({ reuseForward: true, optimizer: this.options.valueOptimizer });
    assertFinite('value gradient norm', gradNorm, ppoSite(where));
    return { vfLoss: vf.loss, vfClipfrac: vf.clipfrac };
  }

  /** Frees the sampler (the models belong to the caller). */
  destroy(): void {
    this.sampler.destroy();
  }
}

/** The metrics that depend only on the rollout (the update statistics are added by the trainer). */
type UpdateMetricName =
  | 'policy/approxkl_avg'
  | 'policy/clipfrac_avg'
  | 'loss/policy_avg'
  | 'loss/value_avg'
  | 'val/clipfrac_avg'
  | 'loss/ptx_avg';

function rolloutMetrics(
  episodes: Episode[],
  forwards: EpisodeForward[],
  targets: EpisodeTargets[],
  klCoef: number,
): Omit<PpoMetrics, UpdateMetricName> {
  const scores = targets.map((t) => t.score);
  const meanScore = mean(scores);
  const nonScore = mean(targets.map((t) => t.nonScoreReward));
  const values = forwards.flatMap((f) => f.values);
  const returns = targets.flatMap((t) => t.returns);
  return {
    'objective/scores': meanScore,
    'objective/scores_std': Math.sqrt(scores.reduce((sum, s) => sum + (s - meanScore) ** 2, 0) / (scores.length - 1)),
    'objective/kl': mean(targets.map((t) => t.kl)),
    'objective/kl_k3': mean(targets.map((t) => t.klK3)),
    'objective/entropy': mean(forwards.flatMap((f) => f.entropy)),
    'objective/non_score_reward': nonScore,
    'objective/rlhf_reward': nonScore + meanScore,
    'val/vf_explained_var': explainedVariance(values, returns, new Array<number>(values.length).fill(1)),
    response_length_mean: mean(episodes.map((e) => e.response.length)),
    ended_share: mean(episodes.map((e) => (e.ended ? 1 : 0))),
    'objective/kl_coef': klCoef,
  };
}

function checkModels({ policy, reference, value, reward }: PpoModels): void {
  const kinds: [string, GptModel, 'lm' | 'scalar'][] = [
    ['policy', policy, 'lm'],
    ['reference', reference, 'lm'],
    ['value', value, 'scalar'],
    ['reward', reward, 'scalar'],
  ];
  for (const [name, model, kind] of kinds) {
    if (model.kind !== kind)
      throw new Error(`PpoTrainer: the ${name} model must be a '${kind}' model, got '${model.kind}'`);
    if (model.B !== policy.B || model.T !== policy.T)
      throw new Error(
        `PpoTrainer: the ${name} model has shape (${model.B},${model.T}), the policy (${policy.B},${policy.T})`,
      );
    if (model.config.vocabSize !== policy.config.vocabSize)
      throw new Error(
        `PpoTrainer: the ${name} model's vocabulary (${model.config.vocabSize}) differs from the policy's (${policy.config.vocabSize})`,
      );
  }
  if (policy === reference)
    throw new Error('PpoTrainer: the reference must be a separate, frozen copy of the SFT model');
}

function checkOptions(o: Resolved, T: number): void {
  const positiveInteger = (name: string, n: number) => {
    if (!Number.isInteger(n) || n < 1) throw new Error(`PpoTrainer: ${name} must be a positive integer, got ${n}`);
  };
  positiveInteger('batchSize', o.batchSize);
  positiveInteger('maxNewTokens', o.maxNewTokens);
  positiveInteger('ppoEpochs', o.ppoEpochs);
  if (o.batchSize < 2)
    throw new Error('PpoTrainer: batchSize must be at least 2 (advantages are whitened over the batch)');
  if (!(o.klCoef >= 0)) throw new Error(`PpoTrainer: klCoef must be ≥ 0, got ${o.klCoef}`);
  if (!(o.temperature > 0))
    throw new Error(`PpoTrainer: temperature must be > 0 (PPO samples from π), got ${o.temperature}`);
  if (!(o.gamma >= 0 && o.gamma <= 1) || !(o.lambda >= 0 && o.lambda <= 1))
    throw new Error(`PpoTrainer: gamma and lambda must be in [0, 1], got ${o.gamma}, ${o.lambda}`);
  if (!(o.clipRange > 0) || !(o.clipRangeValue > 0))
    throw new Error(`PpoTrainer: clip ranges must be > 0, got ${o.clipRange}, ${o.clipRangeValue}`);
  if (o.missingEosPenalty !== undefined && !(o.missingEosPenalty >= 0))
    throw new Error(`PpoTrainer: missingEosPenalty must be ≥ 0, got ${o.missingEosPenalty}`);
  if (o.ptx) {
    const coef = o.ptx.coef ?? DEFAULT_PTX_COEF;
    if (!(coef > 0 && Number.isFinite(coef)))
      throw new Error(`PpoTrainer: ptx.coef must be a finite number > 0, got ${coef}`);
    if (o.ptx.stream.length < T + 1)
      throw new Error(
        `PpoTrainer: the pretraining stream has ${o.ptx.stream.length} tokens, fewer than one window of T+1=${T + 1}`,
      );
  }
}

/** Where a PPO value was computed, for assertFinite. */
function ppoSite(where: string): DivergenceSite {
  return { stage: 'PPO', where, advice: 'lower the learning rate or raise β' };
}

function checkForward(f: EpisodeForward, e: number, iteration: number): void {
  const site = ppoSite(`iteration ${iteration}, episode ${e}`);
  assertFinite('reward-model score', f.score, site);
  for (const [name, values] of [
    ['policy log-prob', f.logprobs],
    ['reference log-prob', f.refLogprobs],
    ['value', f.values],
    ['entropy', f.entropy],
  ] as const) {
    for (const v of values) assertFinite(name, v, site);
  }
}

/** Every metric finite, except an explained variance that is NaN because the returns did not vary. */
function checkMetrics(metrics: PpoMetrics, iteration: number): void {
  for (const [name, value] of Object.entries(metrics) as [string, number][]) {
    if (name === 'val/vf_explained_var' && Number.isNaN(value)) continue;
    assertFinite(name, value, ppoSite(`iteration ${iteration}`));
  }
}

/** The options without keys set to undefined, so that `{ klCoef: undefined }` keeps the default. */
function definedEntries(options: PpoOptions): PpoOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as unknown as PpoOptions;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

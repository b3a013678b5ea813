// PPO's bookkeeping between rollouts and the loss: per-token rewards (reward-model score at the
// end, KL penalty on every token, InstructGPT eq. 2), generalised advantage estimation (Schulman
// et al. 2016), TRL's masked whitening, and the value head's explained variance.
// All vectors are over one response's tokens (length n) unless a mask says otherwise.
import { klK1 } from './kl.ts';

export interface GaeResult {
  /** A_t = Σ_k (γλ)^k δ_{t+k}, δ_t = r_t + γ V_{t+1} − V_t. */
  advantages: number[];
  /** A_t + V_t: the value head's regression targets. */
  returns: number[];
}

/**
 * GAE over one response of n tokens: rewards[t] and values[t] (the value of the state before token
 * t), with the value after the last token taken as 0 (the episode ends there).
 * λ = 1 gives returns = discounted reward-to-go; λ = 0 gives advantages = one-step TD residuals.
 * Defaults γ = 1, λ = 0.95 as TRL's PPOConfig.
 */
export function gae(rewards: ArrayLike<number>, values: ArrayLike<number>, gamma = 1, lambda = 0.95): GaeResult {
  const n = rewards.length;
  if (values.length !== n) throw new Error(`gae: ${n} rewards but ${values.length} values`);
  const advantages = new Array<number>(n);
  let nextAdvantage = 0;
  let nextValue = 0;
  for (let t = n - 1; t >= 0; t--) {
    const delta = rewards[t] + gamma * nextValue - values[t];
    nextAdvantage = delta + gamma * lambda * nextAdvantage;
    advantages[t] = nextAdvantage;
    nextValue = values[t];
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]) };
}

/** TRL masked_mean: Σ mask·x / Σ mask. */
export function maskedMean(values: ArrayLike<number>, mask: ArrayLike<number>): number {
  checkMask('maskedMean', values, mask);
  let sum = 0;
  let total = 0;
  for (let t = 0; t < values.length; t++) {
    sum += mask[t] * values[t];
    total += mask[t];
  }
  if (!(total > 0)) throw new Error('maskedMean: the mask selects nothing');
  return sum / total;
}

/** TRL masked_var with unbiased = True: masked mean of squared deviations × Σmask/(Σmask − 1). */
export function maskedVariance(values: ArrayLike<number>, mask: ArrayLike<number>): number {
  const mean = maskedMean(values, mask);
  let squares = 0;
  let total = 0;
  for (let t = 0; t < values.length; t++) {
    squares += mask[t] * (values[t] - mean) ** 2;
    total += mask[t];
  }
  if (!(total > 1))
    throw new Error(`maskedVariance: an unbiased variance needs more than one masked entry, got ${total}`);
  return squares / (total - 1);
}

/**
 * TRL masked_whiten: (x − mean)/√(var + 1e-8) with the masked mean and unbiased masked variance;
 * with shiftMean = false the mean is added back (rescale only, as TRL does for rewards).
 * Entries off the mask come out 0, as TRL's PPOTrainer masks whitened advantages right after.
 */
export function whiten(values: ArrayLike<number>, mask: ArrayLike<number>, shiftMean = true): number[] {
  const mean = maskedMean(values, mask);
  const inverseStd = 1 / Math.sqrt(maskedVariance(values, mask) + 1e-8);
  return Array.from(values, (x, t) => (mask[t] === 0 ? 0 : (x - mean) * inverseStd + (shiftMean ? 0 : mean)));
}

/**
 * 1 − Var[R − V]/Var[R] over masked entries: 1 for a perfect value head, 0 for one no better than
 * a constant, negative for worse. NaN when the returns do not vary (as stable-baselines and
 * OpenAI baselines' explained_variance report it).
 */
export function explainedVariance(
  values: ArrayLike<number>,
  returns: ArrayLike<number>,
  mask: ArrayLike<number>,
): number {
  checkMask('explainedVariance', values, mask);
  checkMask('explainedVariance', returns, mask);
  const varReturns = maskedVariance(returns, mask);
  if (varReturns === 0) return NaN;
  const residuals = Array.from(returns, (R, t) => R - values[t]);
  return 1 - maskedVariance(residuals, mask) / varReturns;
}

export interface TokenRewardOptions {
  /** Whether the response ended with EOS (rather than running into the length limit). */
  ended: boolean;
  /** Amount subtracted from the score of a response that did not end (TRL's missing_eos_penalty, ≥ 0). */
  missingEosPenalty?: number;
}

export interface TokenRewardResult {
  /** Per response token: −β·(log π − log π_ref), plus the score at the last token. */
  rewards: number[];
  /** Σ_t −β·(log π − log π_ref): the KL part of the return (TRL's non_score_reward, summed). */
  nonScoreReward: number;
  /** Σ_t (log π − log π_ref): the k1 estimate of KL(π ‖ π_ref) for this response. */
  kl: number;
  /** The score that was added at the last token (after any missing-EOS penalty). */
  score: number;
}

/**
 * InstructGPT's PPO reward, R(x, y) = r_θ(x, y) − β log(π(y|x)/π_SFT(y|x)), spread over tokens as
 * TRL's PPOTrainer does: the KL penalty (k1) on every response token and the reward-model score at
 * the last one. A response that hit the length limit without EOS has missingEosPenalty subtracted
 * from its score (TRL PPOTrainer's missing_eos_penalty).
 */
export function tokenRewards(
  score: number,
  logprobs: ArrayLike<number>,
  refLogprobs: ArrayLike<number>,
  klCoef: number,
  options: TokenRewardOptions,
): TokenRewardResult {
  const n = logprobs.length;
  if (n === 0 || refLogprobs.length !== n)
    throw new Error(`tokenRewards: need equal, non-empty log-prob arrays, got ${n} and ${refLogprobs.length}`);
  const rewards = Array.from(logprobs, (logprob, t) => -klCoef * klK1(logprob, refLogprobs[t]));
  const nonScoreReward = rewards.reduce((sum, r) => sum + r, 0);
  let kl = 0;
  for (let t = 0; t < n; t++) kl += klK1(logprobs[t], refLogprobs[t]);
  const finalScore = options.ended ? score : score - (options.missingEosPenalty ?? 0);
  rewards[n - 1] += finalScore;
  return { rewards, nonScoreReward, kl, score: finalScore };
}

function checkMask(where: string, values: ArrayLike<number>, mask: ArrayLike<number>): void {
  if (values.length !== mask.length) throw new Error(`${where}: ${values.length} values but a mask of ${mask.length}`);
}

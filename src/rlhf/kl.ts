// The KL penalty of PPO: per-token estimators of KL(π ‖ π_ref) from the log-probs of a token
// sampled from π (Schulman, "Approximating KL Divergence", 2020), and the adaptive KL coefficient
// of Ziegler et al. 2019 as TRL's AdaptiveKLController implements it.
//
// With r = π_ref(x)/π(x) and x ~ π, log r = refLogprob − logprob:
//   k1 = −log r            unbiased, can be negative, high variance (the InstructGPT penalty);
//   k2 = ½ (log r)²        biased, low variance, ≥ 0;
//   k3 = (r − 1) − log r   unbiased and ≥ 0 (log is concave: log r ≤ r − 1).

/** k1 = −log r = log π(x) − log π_ref(x). */
export function klK1(logprob: number, refLogprob: number): number {
  return logprob - refLogprob;
}

/** k2 = ½ (log r)². */
export function klK2(logprob: number, refLogprob: number): number {
  const logRatio = refLogprob - logprob;
  return 0.5 * logRatio * logRatio;
}

/** k3 = (r − 1) − log r, with expm1 so that it stays ≥ 0 and accurate when r ≈ 1. */
export function klK3(logprob: number, refLogprob: number): number {
  const logRatio = refLogprob - logprob;
  return Math.max(0, Math.expm1(logRatio) - logRatio);
}

export interface AdaptiveKlController {
  /** The current KL coefficient β. */
  readonly value: number;
  /** Moves β toward the target KL after a batch of nSteps samples whose mean KL was currentKl; returns the new β. */
  update(currentKl: number, nSteps: number): number;
}

/**
 * Ziegler et al. 2019 (TRL AdaptiveKLController): e = clip(KL/target − 1, −0.2, 0.2),
 * β ← β·(1 + e·nSteps/horizon). β grows while the policy drifts further than the target KL and
 * shrinks while it stays closer.
 */
export function adaptiveKlController(initialKlCoef: number, target: number, horizon: number): AdaptiveKlController {
  if (!(initialKlCoef >= 0) || !(target > 0) || !(horizon > 0))
    throw new Error(
      `adaptiveKlController: need β ≥ 0, target > 0, horizon > 0, got ${initialKlCoef}, ${target}, ${horizon}`,
    );
  let klCoef = initialKlCoef;
  return {
    get value() {
      return klCoef;
    },
    update(currentKl: number, nSteps: number): number {
      const proportionalError = Math.min(Math.max(currentKl / target - 1, -0.2), 0.2);
      klCoef *= 1 + (proportionalError * nSteps) / horizon;
      return klCoef;
    },
  };
}

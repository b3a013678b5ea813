// The RLHF losses as plain TypeScript on small arrays: the reward model's K-way ranking loss
// (InstructGPT eq. 1), PPO's clipped policy and value losses, DPO, and the SFT response mask.
// Each loss returns its value, the statistics worth plotting, and its gradient with respect to
// what the GPU model produced — per-token log-probs (of the target at each position) or per-position
// values. The model takes those back as follows (see src/model/gpt.ts):
//   scalar model: setValueGradients(dValues) directly;
//   LM: per-token weights w with lossScale 1, w = −dL/dlogp (tokenWeightsFromLogprobGradient),
//       because the cross-entropy backward computes d/dlogits = (softmax − onehot)·w·scale and
//       d logp(target)/d logits = onehot − softmax.
// Vectors come in as ArrayLike<number> (number[] or Float32Array) and go out as number[].

export interface RankingLossResult {
  /** −1/C Σ_{i<j, not tied} log σ(r_i − r_j), C the number of pairs compared. */
  loss: number;
  /** d loss / d rewards[i], same order as the input. */
  dRewards: number[];
  /** Share of compared pairs the rewards already order correctly (r_i > r_j strictly). */
  accuracy: number;
  /** Mean r_i − r_j over compared pairs. */
  margin: number;
  /** C: how many pairs were compared (C(K,2) minus ties). */
  pairs: number;
}

/**
 * InstructGPT's reward-model loss for one prompt: rewards[i] is the reward of the output ranked
 * i-th (best first), and every pair i < j is one comparison "i preferred over j". All C(K,2)
 * comparisons of a prompt form one loss averaged over its pairs (the paper's eq. 1, which keeps a
 * prompt's pairs in one batch element to avoid overfitting). `ties` lists pairs of ranking
 * positions the labeler judged equal; the paper does not say how ties enter the loss, so they are
 * skipped, as in OpenRLHF's PairWiseLoss and TRL's RewardTrainer, which train only on strict
 * preferences.
 */
export function rankingLoss(
  rewards: ArrayLike<number>,
  ties: ReadonlyArray<readonly [number, number]> = [],
): RankingLossResult {
  const K = rewards.length;
  const tied = tiedPairKeys(ties, K);
  const dRewards = new Array<number>(K).fill(0);
  let lossSum = 0;
  let correct = 0;
  let marginSum = 0;
  let pairs = 0;
  for (let i = 0; i < K; i++) {
    for (let j = i + 1; j < K; j++) {
      if (tied.has(i * K + j)) continue;
      const difference = rewards[i] - rewards[j];
      lossSum += softplus(-difference); // −log σ(d)
      const slope = sigmoid(-difference); // d(−log σ(d))/dd = −σ(−d); stored as its magnitude
      dRewards[i] -= slope;
      dRewards[j] += slope;
      if (difference > 0) correct += 1;
      marginSum += difference;
      pairs += 1;
    }
  }
  if (pairs === 0) throw new Error(`rankingLoss: no pairs to compare (K=${K}, ${ties.length} ties)`);
  return {
    loss: lossSum / pairs,
    dRewards: dRewards.map((d) => d / pairs),
    accuracy: correct / pairs,
    margin: marginSum / pairs,
    pairs,
  };
}

/** Tied pairs as keys min·K + max, checked to be distinct valid positions. */
function tiedPairKeys(ties: ReadonlyArray<readonly [number, number]>, K: number): Set<number> {
  const keys = new Set<number>();
  for (const [a, b] of ties) {
    const valid = Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < K && b < K && a !== b;
    if (!valid) throw new Error(`rankingLoss: tie (${a}, ${b}) is not a pair of distinct positions below K=${K}`);
    keys.add(Math.min(a, b) * K + Math.max(a, b));
  }
  return keys;
}

export interface PpoPolicyLossResult {
  /** Masked mean of max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)). */
  loss: number;
  /** d loss / d newLogprobs per token (B·T); 0 off the mask and where the clipped term is active. */
  dNewLogprobs: number[];
  /** Share of masked tokens where the clipped term is strictly larger (TRL's pg_clipfrac). */
  clipfrac: number;
  /** Masked mean of ½(new − old)² (TRL's approxkl). */
  approxkl: number;
}

/**
 * PPO's clipped surrogate (Schulman et al. 2017) per token, written as TRL's PPOTrainer writes it:
 * pg_losses = −A·ratio, pg_losses2 = −A·clamp(ratio, 1−ε, 1+ε), loss = masked_mean(max(…)).
 * Arrays are flat over B·T; mask is 1 on response tokens (any non-negative weights work: the mean
 * is Σ mask·x / Σ mask). Advantages are expected already whitened (see whiten in advantages.ts).
 * Gradient: d(−A·ratio)/d new = −A·ratio where the unclipped term is the max, else 0 (the clipped
 * term is constant in new), as autograd gives it.
 */
export function ppoPolicyLoss(
  newLogprobs: ArrayLike<number>,
  oldLogprobs: ArrayLike<number>,
  advantages: ArrayLike<number>,
  mask: ArrayLike<number>,
  clipEps = 0.2,
): PpoPolicyLossResult {
  const n = checkSameLength('ppoPolicyLoss', newLogprobs, oldLogprobs, advantages, mask);
  const inverseTotal = 1 / maskTotal('ppoPolicyLoss', mask);
  const dNewLogprobs = new Array<number>(n).fill(0);
  let loss = 0;
  let clipped = 0;
  let approxkl = 0;
  for (let t = 0; t < n; t++) {
    const m = mask[t];
    if (m === 0) continue;
    const logRatio = newLogprobs[t] - oldLogprobs[t];
    const ratio = Math.exp(logRatio);
    const A = advantages[t];
    const unclipped = -A * ratio;
    const clippedTerm = -A * clamp(ratio, 1 - clipEps, 1 + clipEps);
    if (clippedTerm > unclipped) {
      loss += m * clippedTerm;
      clipped += m;
    } else {
      loss += m * unclipped;
      dNewLogprobs[t] = m * unclipped * inverseTotal; // d(−A·e^{new−old})/d new = −A·ratio
    }
    approxkl += m * 0.5 * logRatio * logRatio;
  }
  return {
    loss: loss * inverseTotal,
    dNewLogprobs,
    clipfrac: clipped * inverseTotal,
    approxkl: approxkl * inverseTotal,
  };
}

export interface PpoValueLossResult {
  /** ½ · masked mean of max((v − R)², (clip(v, old ± c) − R)²). */
  loss: number;
  /** d loss / d newValues per position (B·T). */
  dValues: number[];
  /** Share of masked positions where the clipped error is strictly larger (TRL's vf_clipfrac). */
  clipfrac: number;
}

/**
 * TRL PPOTrainer's clipped value loss: vpredclipped = clamp(v, old − c, old + c),
 * loss = 0.5 · masked_mean(max((v − R)², (vpredclipped − R)²)). The clipped error can only be
 * strictly larger when v lies outside old ± c, where vpredclipped is constant: gradient 0 there,
 * otherwise (v − R)·mask / Σ mask.
 */
export function ppoValueLoss(
  newValues: ArrayLike<number>,
  oldValues: ArrayLike<number>,
  returns: ArrayLike<number>,
  mask: ArrayLike<number>,
  clipRange = 0.2,
): PpoValueLossResult {
  const n = checkSameLength('ppoValueLoss', newValues, oldValues, returns, mask);
  const inverseTotal = 1 / maskTotal('ppoValueLoss', mask);
  const dValues = new Array<number>(n).fill(0);
  let loss = 0;
  let clipped = 0;
  for (let t = 0; t < n; t++) {
    const m = mask[t];
    if (m === 0) continue;
    const error = newValues[t] - returns[t];
    const clippedError = clamp(newValues[t], oldValues[t] - clipRange, oldValues[t] + clipRange) - returns[t];
    if (clippedError * clippedError > error * error) {
      loss += m * clippedError * clippedError;
      clipped += m;
    } else {
      loss += m * error * error;
      dValues[t] = m * error * inverseTotal;
    }
  }
  return { loss: 0.5 * loss * inverseTotal, dValues, clipfrac: clipped * inverseTotal };
}

export interface DpoLossResult {
  /** −mean log σ(β((πc − rc) − (πr − rr))). */
  loss: number;
  /** d loss / d policyChosen per pair; every response token of the pair's chosen output gets this
   *  same d loss / d logp (the sequence log-prob is their sum). */
  dPolicyChosen: number[];
  /** d loss / d policyRejected per pair (likewise for the rejected output's tokens). */
  dPolicyRejected: number[];
  /** Share of pairs whose implicit reward margin is positive (TRL's rewards/accuracies). */
  accuracy: number;
  /** Mean over pairs of chosenRewards − rejectedRewards (TRL's rewards/margins). */
  rewardMargin: number;
  /** β(πc − rc) per pair: the implicit reward of the chosen output. */
  chosenRewards: number[];
  /** β(πr − rr) per pair. */
  rejectedRewards: number[];
}

/**
 * DPO (Rafailov et al. 2023) on sequence log-prob sums over each response's tokens, one entry per
 * (prompt, chosen, rejected) pair; the reference log-probs are constants (no gradient). Sigmoid
 * loss without label smoothing, statistics named as TRL's DPOTrainer logs them.
 */
export function dpoLoss(
  policyChosen: ArrayLike<number>,
  policyRejected: ArrayLike<number>,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  beta: number,
): DpoLossResult {
  const n = checkSameLength('dpoLoss', policyChosen, policyRejected, refChosen, refRejected);
  if (n === 0) throw new Error('dpoLoss: no pairs');
  const chosenRewards: number[] = [];
  const rejectedRewards: number[] = [];
  const dPolicyChosen: number[] = [];
  const dPolicyRejected: number[] = [];
  let loss = 0;
  let correct = 0;
  let marginSum = 0;
  for (let p = 0; p < n; p++) {
    const chosen = beta * (policyChosen[p] - refChosen[p]);
    const rejected = beta * (policyRejected[p] - refRejected[p]);
    const margin = chosen - rejected;
    loss += softplus(-margin); // −log σ(margin)
    const slope = (beta * sigmoid(-margin)) / n; // −d loss / d policyChosen
    dPolicyChosen.push(-slope);
    dPolicyRejected.push(slope);
    chosenRewards.push(chosen);
    rejectedRewards.push(rejected);
    if (margin > 0) correct += 1;
    marginSum += margin;
  }
  return {
    loss: loss / n,
    dPolicyChosen,
    dPolicyRejected,
    accuracy: correct / n,
    rewardMargin: marginSum / n,
    chosenRewards,
    rejectedRewards,
  };
}

/**
 * SFT (and DPO, PPO) loss weights for one (T)-long row of a (B,T) batch holding one sequence
 * ids[0..totalLength−1] = prompt ids[0..promptLength−1], then the response ending with EOS at
 * ids[totalLength−1], then padding. The row's inputs are tokens[t] = ids[t] and its targets
 * targets[t] = ids[t+1], so position t predicts ids[t+1]:
 *   weight[t] = 1  ⇔  ids[t+1] is a response token  ⇔  promptLength − 1 ≤ t ≤ totalLength − 2;
 * i.e. the last prompt position (whose target is the first response token) is in, the EOS
 * position (whose target would be padding) is out, and the EOS itself is a target (at
 * t = totalLength − 2). The same positions hold the policy's log-prob of each response token and,
 * for the value model, the value of the state before each response token (TRL's
 * values[:, context_length − 1 : −1]).
 * Needs promptLength ≥ 1, a non-empty response, and totalLength ≤ T + 1 (the last target must fit).
 */
export function responseMask(promptLength: number, totalLength: number, T: number): Float32Array {
  const valid =
    Number.isInteger(promptLength) &&
    Number.isInteger(totalLength) &&
    Number.isInteger(T) &&
    promptLength >= 1 &&
    totalLength > promptLength &&
    totalLength <= T + 1;
  if (!valid)
    throw new Error(
      `responseMask: need 1 ≤ promptLength < totalLength ≤ T + 1, got promptLength=${promptLength} totalLength=${totalLength} T=${T}`,
    );
  const weights = new Float32Array(T); // (T)
  weights.fill(1, promptLength - 1, totalLength - 1);
  return weights;
}

/**
 * The per-token weights the LM backward takes (with lossScale 1) for a gradient d loss / d logp
 * of each position's target: w = −dL/dlogp, since the backward computes (softmax − onehot)·w.
 */
export function tokenWeightsFromLogprobGradient(dLogprobs: ArrayLike<number>): Float32Array {
  return Float32Array.from(dLogprobs, (d) => -d);
}

/** log(1 + e^x) without overflow: max(x, 0) + log1p(e^−|x|). */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(x) without overflow on either side. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function clamp(x: number, low: number, high: number): number {
  return Math.min(Math.max(x, low), high);
}

function checkSameLength(where: string, ...arrays: ArrayLike<number>[]): number {
  const n = arrays[0].length;
  if (arrays.some((a) => a.length !== n))
    throw new Error(`${where}: arrays differ in length (${arrays.map((a) => a.length).join(', ')})`);
  return n;
}

function maskTotal(where: string, mask: ArrayLike<number>): number {
  let total = 0;
  for (let t = 0; t < mask.length; t++) total += mask[t];
  if (!(total > 0)) throw new Error(`${where}: the mask selects no tokens`);
  return total;
}

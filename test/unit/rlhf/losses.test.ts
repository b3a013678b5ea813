// Tests for the RLHF losses on hand-worked inputs: the K-way ranking loss against its pairwise
// definition, PPO's clipped policy and value losses on both sides of the clip, DPO, the SFT
// response mask's off-by-one, and every returned gradient against finite differences.
import { describe, expect, it } from 'vitest';
import {
  dpoLoss,
  ppoPolicyLoss,
  ppoValueLoss,
  rankingLoss,
  responseMask,
  tokenWeightsFromLogprobGradient,
} from '../../../src/rlhf/losses.ts';

/** d f / d x[i] for every i, by central differences. */
function numericGradient(f: (x: number[]) => number, x: readonly number[], h = 1e-5): number[] {
  return x.map((_, i) => {
    const plus = [...x];
    const minus = [...x];
    plus[i] += h;
    minus[i] -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

function expectClose(actual: readonly number[], expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i], digits));
}

const pairLoss = (better: number, worse: number) => -Math.log(1 / (1 + Math.exp(-(better - worse))));

describe('rankingLoss', () => {
  it('for K = 2 is −log σ(r1 − r2)', () => {
    expect(rankingLoss([0.7, -0.4]).loss).toBeCloseTo(pairLoss(0.7, -0.4), 12);
    expect(rankingLoss([0, 0]).loss).toBeCloseTo(Math.log(2), 12);
  });

  it('for K = 4 is the mean of its C(4,2) = 6 pairwise losses, best-ranked first', () => {
    const rewards = [1.2, -0.3, 0.5, -2];
    let sum = 0;
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) sum += rankingLoss([rewards[i], rewards[j]]).loss;
    const result = rankingLoss(rewards);
    expect(result.pairs).toBe(6);
    expect(result.loss).toBeCloseTo(sum / 6, 12);
  });

  it('reports accuracy and margin over pairs', () => {
    // pairs (0,1): 3−1 = 2 ✓, (0,2): 3−2 = 1 ✓, (1,2): 1−2 = −1 ✗
    const result = rankingLoss([3, 1, 2]);
    expect(result.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.margin).toBeCloseTo(2 / 3, 12);
  });

  it('skips tied pairs, in either order, and averages over the rest', () => {
    const rewards = [0.2, 0.9, -1];
    const expected = (pairLoss(0.2, -1) + pairLoss(0.9, -1)) / 2;
    expect(rankingLoss(rewards, [[0, 1]]).loss).toBeCloseTo(expected, 12);
    expect(rankingLoss(rewards, [[1, 0]]).pairs).toBe(2);
    expect(() => rankingLoss([1, 2], [[0, 1]])).toThrow(/no pairs/);
    expect(() => rankingLoss([1, 2, 3], [[0, 3]])).toThrow(/tie/);
    expect(() => rankingLoss([1])).toThrow(/no pairs/);
  });

  it('has the gradient finite differences give, with and without ties', () => {
    const rewards = [0.3, 1.1, -0.6, 0.2, -0.1];
    const ties: [number, number][] = [[1, 3]];
    expectClose(
      rankingLoss(rewards).dRewards,
      numericGradient((r) => rankingLoss(r).loss, rewards),
      8,
    );
    expectClose(
      rankingLoss(rewards, ties).dRewards,
      numericGradient((r) => rankingLoss(r, ties).loss, rewards),
      8,
    );
  });

  it('stays finite for huge reward gaps (stable log σ)', () => {
    expect(rankingLoss([1000, -1000]).loss).toBe(0);
    expect(rankingLoss([-1000, 1000]).loss).toBeCloseTo(2000, 9);
    expectClose(rankingLoss([-1000, 1000]).dRewards, [-1, 1], 12);
  });
});

describe('ppoPolicyLoss', () => {
  // ε = 0.2, old log-probs 0, so ratio = e^new. Tokens:
  //   A=+1, ratio 1.5: −1.5 vs clipped −1.2 → clipped term is the max, gradient 0
  //   A=+1, ratio 0.5: −0.5 vs clipped −0.8 → unclipped, gradient −A·ratio = −0.5
  //   A=−1, ratio 1.5:  1.5 vs clipped  1.2 → unclipped, gradient 1.5
  //   A=−1, ratio 0.5:  0.5 vs clipped  0.8 → clipped term is the max, gradient 0
  //   A=+2, ratio 1.1: −2.2 either way (inside the clip range) → gradient −2.2
  //   a masked-out token with a wild ratio: ignored.
  const newLogprobs = [Math.log(1.5), Math.log(0.5), Math.log(1.5), Math.log(0.5), Math.log(1.1), 3];
  const oldLogprobs = [0, 0, 0, 0, 0, 0];
  const advantages = [1, 1, -1, -1, 2, 5];
  const mask = [1, 1, 1, 1, 1, 0];

  it('takes the pessimistic term on both sides of the clip for positive and negative advantages', () => {
    const result = ppoPolicyLoss(newLogprobs, oldLogprobs, advantages, mask);
    expect(result.loss).toBeCloseTo((-1.2 - 0.5 + 1.5 + 0.8 - 2.2) / 5, 12);
    expectClose(result.dNewLogprobs, [0, -0.5 / 5, 1.5 / 5, 0, -2.2 / 5, 0], 12);
    expect(result.clipfrac).toBeCloseTo(2 / 5, 12);
    const logs = newLogprobs.slice(0, 5);
    expect(result.approxkl).toBeCloseTo(logs.reduce((s, l) => s + 0.5 * l * l, 0) / 5, 12);
  });

  it('has the gradient finite differences give away from the kinks', () => {
    const at = [0.1, -0.35, 0.4, -0.05, 0.15, -0.5];
    const result = ppoPolicyLoss(at, oldLogprobs, advantages, mask);
    const numeric = numericGradient((x) => ppoPolicyLoss(x, oldLogprobs, advantages, mask).loss, at);
    expectClose(result.dNewLogprobs, numeric, 7);
  });

  it('respects clipEps and rejects an empty mask or ragged arrays', () => {
    expect(ppoPolicyLoss([Math.log(1.5)], [0], [1], [1], 0.6).clipfrac).toBe(0);
    expect(() => ppoPolicyLoss([0], [0], [1], [0])).toThrow(/mask/);
    expect(() => ppoPolicyLoss([0, 0], [0], [1], [1])).toThrow(/length/);
  });
});

describe('ppoValueLoss', () => {
  // c = 0.2, old values 0, return 1:
  //   v = 0.5 → clipped 0.2: (−0.5)² = 0.25 < (−0.8)² = 0.64 → clipped, gradient 0
  //   v = 0.1 → inside: 0.81 either way → gradient v − R = −0.9
  //   v = 1.5 → clipped 0.2: 0.25 < 0.64 → clipped, gradient 0
  //   v = −0.5 → clipped −0.2: 2.25 > 1.44 → unclipped, gradient −1.5
  const newValues = [0.5, 0.1, 1.5, -0.5, 7];
  const oldValues = [0, 0, 0, 0, 0];
  const returns = [1, 1, 1, 1, 1];
  const mask = [1, 1, 1, 1, 0];

  it('is TRL’s ½·mean of the larger squared error, with zero gradient where clipping wins', () => {
    const result = ppoValueLoss(newValues, oldValues, returns, mask);
    expect(result.loss).toBeCloseTo((0.5 * (0.64 + 0.81 + 0.64 + 2.25)) / 4, 12);
    expectClose(result.dValues, [0, -0.9 / 4, 0, -1.5 / 4, 0], 12);
    expect(result.clipfrac).toBeCloseTo(2 / 4, 12);
  });

  it('has the gradient finite differences give away from the kinks', () => {
    const at = [0.35, 0.05, 1.3, -0.45, 2];
    const numeric = numericGradient((v) => ppoValueLoss(v, oldValues, returns, mask).loss, at);
    expectClose(ppoValueLoss(at, oldValues, returns, mask).dValues, numeric, 7);
  });
});

describe('dpoLoss', () => {
  it('is log 2 with zero accuracy and margin when policy and reference agree', () => {
    const result = dpoLoss([-5, -3], [-4, -6], [-5, -3], [-4, -6], 0.1);
    expect(result.loss).toBeCloseTo(Math.log(2), 12);
    expect(result.accuracy).toBe(0);
    expect(result.rewardMargin).toBe(0);
    expectClose(result.dPolicyChosen, [(-0.1 * 0.5) / 2, (-0.1 * 0.5) / 2], 12);
  });

  it('has the gradients finite differences give, and the implicit rewards', () => {
    const policyChosen = [-4.2, -7.5, -3.1];
    const policyRejected = [-5.0, -6.9, -3.3];
    const refChosen = [-4.6, -7.0, -3.0];
    const refRejected = [-4.8, -7.2, -3.9];
    const beta = 0.5;
    const result = dpoLoss(policyChosen, policyRejected, refChosen, refRejected, beta);
    const numericChosen = numericGradient(
      (x) => dpoLoss(x, policyRejected, refChosen, refRejected, beta).loss,
      policyChosen,
    );
    const numericRejected = numericGradient(
      (x) => dpoLoss(policyChosen, x, refChosen, refRejected, beta).loss,
      policyRejected,
    );
    expectClose(result.dPolicyChosen, numericChosen, 8);
    expectClose(result.dPolicyRejected, numericRejected, 8);
    expectClose(result.chosenRewards, [0.2, -0.25, -0.05], 12);
    expectClose(result.rejectedRewards, [-0.1, 0.15, 0.3], 12);
    // margins 0.3, −0.4, −0.35
    expect(result.accuracy).toBeCloseTo(1 / 3, 12);
    expect(result.rewardMargin).toBeCloseTo((0.3 - 0.4 - 0.35) / 3, 12);
    const expectedLoss = [0.3, -0.4, -0.35].reduce((s, m) => s + Math.log1p(Math.exp(-m)), 0) / 3;
    expect(result.loss).toBeCloseTo(expectedLoss, 12);
  });
});

describe('responseMask', () => {
  it('weights the positions whose target is a response token, EOS included', () => {
    // ids = [p0 p1 p2 | a0 a1 EOS]: promptLength 3, totalLength 6, in a row of T = 8.
    // position t predicts ids[t+1]: t=2 → a0, t=3 → a1, t=4 → EOS; t=5 would predict padding.
    expect(Array.from(responseMask(3, 6, 8))).toEqual([0, 0, 1, 1, 1, 0, 0, 0]);
  });

  it('has one weight per response token and fits a sequence of T + 1 ids exactly', () => {
    expect(responseMask(4, 11, 16).reduce((s, w) => s + w, 0)).toBe(7);
    expect(Array.from(responseMask(1, 5, 4))).toEqual([1, 1, 1, 1]);
    expect(() => responseMask(1, 6, 4)).toThrow(/T \+ 1/);
    expect(() => responseMask(3, 3, 8)).toThrow();
    expect(() => responseMask(0, 3, 8)).toThrow();
  });
});

describe('tokenWeightsFromLogprobGradient', () => {
  it('negates d loss / d logp into the LM backward’s per-token weights', () => {
    expect(Array.from(tokenWeightsFromLogprobGradient([-0.25, 0, 0.5]))).toEqual([0.25, -0, -0.5]);
  });
});

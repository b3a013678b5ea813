// Tests for PPO's bookkeeping: GAE on a hand-worked 3-step response, masked whitening, explained
// variance, and per-token rewards (KL penalty everywhere, score and missing-EOS penalty at the end).
import { describe, expect, it } from 'vitest';
import {
  explainedVariance,
  gae,
  maskedMean,
  maskedVariance,
  tokenRewards,
  whiten,
} from '../../../src/rlhf/advantages.ts';

function expectClose(actual: readonly number[], expected: readonly number[], digits = 12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i], digits));
}

describe('gae', () => {
  const rewards = [1, 0, 2];
  const values = [0.5, 1, 1.5];

  it('with γ = 1, λ = 1 gives returns = reward-to-go', () => {
    const { advantages, returns } = gae(rewards, values, 1, 1);
    expectClose(returns, [3, 2, 2]);
    expectClose(advantages, [2.5, 1, 0.5]);
  });

  it('with λ = 0 gives the one-step TD residuals r_t + γV_{t+1} − V_t (V after the end = 0)', () => {
    const { advantages, returns } = gae(rewards, values, 1, 0);
    expectClose(advantages, [1 + 1 - 0.5, 0 + 1.5 - 1, 2 + 0 - 1.5]);
    expectClose(returns, [2, 1.5, 2]);
  });

  it('discounts by γλ in between', () => {
    // δ = [1 + 0.9·1 − 0.5, 0 + 0.9·1.5 − 1, 2 − 1.5] = [1.4, 0.35, 0.5]; γλ = 0.45
    const { advantages } = gae(rewards, values, 0.9, 0.5);
    expectClose(advantages, [1.4 + 0.45 * (0.35 + 0.45 * 0.5), 0.35 + 0.45 * 0.5, 0.5]);
  });

  it('rejects mismatched lengths', () => {
    expect(() => gae([1, 2], [0])).toThrow();
  });
});

describe('whiten', () => {
  const values = [1, 2, 3, 4, 100, -7];
  const mask = [1, 1, 1, 1, 0, 0];

  it('gives masked entries mean 0 and unbiased variance 1, and zeroes the rest', () => {
    const white = whiten(values, mask);
    expect(maskedMean(white, mask)).toBeCloseTo(0, 12);
    expect(maskedVariance(white, mask)).toBeCloseTo(1, 7);
    expect(white.slice(4)).toEqual([0, 0]);
    // mean 2.5, unbiased variance 5/3
    expect(white[0]).toBeCloseTo(-1.5 / Math.sqrt(5 / 3 + 1e-8), 12);
  });

  it('keeps the mean when shiftMean is false', () => {
    const scaled = whiten(values, mask, false);
    expect(maskedMean(scaled, mask)).toBeCloseTo(2.5, 12);
    expect(maskedVariance(scaled, mask)).toBeCloseTo(1, 7);
  });

  it('needs at least two masked entries', () => {
    expect(() => whiten([1, 2], [1, 0])).toThrow(/more than one/);
    expect(() => whiten([1, 2], [0, 0])).toThrow(/nothing/);
  });
});

describe('explainedVariance', () => {
  const returns = [1, 3, 2, 6, 50];
  const mask = [1, 1, 1, 1, 0];

  it('is 1 for a perfect value head, 0 for the constant mean, and 1 − Var[R−V]/Var[R] between', () => {
    expect(explainedVariance(returns, returns, mask)).toBeCloseTo(1, 12);
    expect(explainedVariance([3, 3, 3, 3, 0], returns, mask)).toBeCloseTo(0, 12);
    // residuals [1, 1, 0, 2]: mean 1, squared deviations 0+0+1+1 = 2; returns: mean 3, 4+0+1+9 = 14
    expect(explainedVariance([0, 2, 2, 4, 0], returns, mask)).toBeCloseTo(1 - 2 / 14, 12);
  });

  it('is NaN when the returns do not vary', () => {
    expect(explainedVariance([1, 2], [5, 5], [1, 1])).toBeNaN();
  });
});

describe('tokenRewards', () => {
  const logprobs = [-1, -2, -0.5];
  const refLogprobs = [-1.5, -2, -1];

  it('puts −β·(log π − log π_ref) on every token and the score on the last', () => {
    const result = tokenRewards(2, logprobs, refLogprobs, 0.1, { ended: true, missingEosPenalty: 1 });
    expectClose(result.rewards, [-0.05, 0, -0.05 + 2]);
    expect(result.nonScoreReward).toBeCloseTo(-0.1, 12);
    expect(result.kl).toBeCloseTo(1, 12);
    expect(result.score).toBe(2);
  });

  it('subtracts the missing-EOS penalty from the score of a response that did not end', () => {
    const result = tokenRewards(2, logprobs, refLogprobs, 0.1, { ended: false, missingEosPenalty: 1 });
    expect(result.score).toBe(1);
    expect(result.rewards[2]).toBeCloseTo(-0.05 + 1, 12);
    expect(tokenRewards(2, logprobs, refLogprobs, 0.1, { ended: false }).score).toBe(2);
  });

  it('rejects empty or mismatched log-probs', () => {
    expect(() => tokenRewards(1, [], [], 0.1, { ended: true })).toThrow();
    expect(() => tokenRewards(1, [0], [0, 1], 0.1, { ended: true })).toThrow();
  });
});

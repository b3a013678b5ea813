// Tests for the KL estimators (k3 ≥ 0 everywhere; k1 and k3 unbiased, by exact expectation over a
// small discrete distribution) and the adaptive KL controller's direction and clipping.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { adaptiveKlController, klK1, klK2, klK3 } from '../../../src/rlhf/kl.ts';

const policy = [0.5, 0.3, 0.15, 0.05];
const reference = [0.2, 0.4, 0.1, 0.3];
const exactKl = policy.reduce((sum, p, i) => sum + p * Math.log(p / reference[i]), 0);
const expectation = (estimator: (logprob: number, refLogprob: number) => number) =>
  policy.reduce((sum, p, i) => sum + p * estimator(Math.log(p), Math.log(reference[i])), 0);

describe('KL estimators', () => {
  it('k3 is never negative', () => {
    const logprob = fc.double({ min: -50, max: 0, noNaN: true });
    fc.assert(fc.property(logprob, logprob, (lp, ref) => klK3(lp, ref) >= 0));
  });

  it('k1 and k3 are unbiased: their expectation under π is KL(π ‖ π_ref) exactly', () => {
    expect(exactKl).toBeGreaterThan(0.1);
    expect(expectation(klK1)).toBeCloseTo(exactKl, 12);
    expect(expectation(klK3)).toBeCloseTo(exactKl, 12);
  });

  it('k2 is ½(log r)², biased but never negative', () => {
    expect(klK2(-1, -3)).toBeCloseTo(2, 12);
    const logprob = fc.double({ min: -50, max: 0, noNaN: true });
    fc.assert(fc.property(logprob, logprob, (lp, ref) => klK2(lp, ref) >= 0));
    expect(expectation(klK2)).not.toBeCloseTo(exactKl, 3);
  });

  it('all vanish when the policy equals the reference, and k3 stays accurate for tiny differences', () => {
    expect([klK1(-2, -2), klK2(-2, -2), klK3(-2, -2)]).toEqual([0, 0, 0]);
    expect(klK3(-2, -2 + 1e-6)).toBeCloseTo(0.5e-12, 18);
  });
});

describe('adaptiveKlController', () => {
  it('raises β when KL is above target, lowers it below, keeps it at target', () => {
    const controller = adaptiveKlController(0.1, 6, 10_000);
    expect(controller.update(6, 256)).toBeCloseTo(0.1, 15);
    expect(controller.update(6.6, 256)).toBeCloseTo(0.1 * (1 + (0.1 * 256) / 10_000), 15);
    const before = controller.value;
    expect(controller.update(5.4, 256)).toBeLessThan(before);
  });

  it('clips the proportional error to ±0.2', () => {
    const high = adaptiveKlController(0.2, 1, 100);
    expect(high.update(50, 10)).toBeCloseTo(0.2 * (1 + 0.2 * 0.1), 15);
    const low = adaptiveKlController(0.2, 1, 100);
    expect(low.update(0, 10)).toBeCloseTo(0.2 * (1 - 0.2 * 0.1), 15);
    expect(low.value).toBeCloseTo(0.196, 15);
  });

  it('rejects a non-positive target or horizon', () => {
    expect(() => adaptiveKlController(0.1, 0, 100)).toThrow();
    expect(() => adaptiveKlController(0.1, 6, 0)).toThrow();
  });
});

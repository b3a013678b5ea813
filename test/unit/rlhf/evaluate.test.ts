// The evaluation's pairwise credit: preferenceCredit gives 1 / ½ / 0 for a win / tie / loss, and
// winRate — the pipeline's and the lab's "preferred over" figure — is the mean credit over prompts,
// so a model ties itself at ½ and its win rates against another sum to 1.
import { describe, expect, it } from 'vitest';
import { buildPromptSet, candidateResponses, createRng, heldoutLabeler } from '../../../src/world/index.ts';
import { preferenceCredit, winRate, type Response } from '../../../src/rlhf/evaluate.ts';

describe('preferenceCredit', () => {
  it('is 1 for a higher score, ½ for an equal one, 0 for a lower one', () => {
    expect([preferenceCredit(5, 3), preferenceCredit(4, 4), preferenceCredit(2, 6)]).toEqual([1, 0.5, 0]);
  });
});

describe('winRate', () => {
  const prompts = buildPromptSet(4, { train: 0, heldout: 30 }).heldout;
  const answers = (seed: number): Response[] =>
    prompts.map((p) => ({ text: candidateResponses(p, createRng(seed).fork(p.id), 1)[0].text, ended: true }));
  const first = answers(1);
  const second = answers(2);

  it('is ½ against itself', () => {
    expect(winRate(prompts, first, first, heldoutLabeler)).toBe(0.5);
  });

  it('is the mean per-prompt credit, and the two directions sum to 1', () => {
    const credits = prompts.map((p, i) =>
      preferenceCredit(heldoutLabeler.score(p, first[i].text), heldoutLabeler.score(p, second[i].text)),
    );
    const expected = credits.reduce((a, b) => a + b, 0) / prompts.length;
    expect(winRate(prompts, first, second, heldoutLabeler)).toBeCloseTo(expected, 12);
    expect(expected).not.toBe(0.5); // the two answer sets differ, so the test can tell the directions apart
    expect(
      winRate(prompts, first, second, heldoutLabeler) + winRate(prompts, second, first, heldoutLabeler),
    ).toBeCloseTo(1, 12);
  });
});

// Tests for the comparison data: simulated rankings are permutations with per-response ratings
// and flags, reproducible per prompt, ties for identical outputs; rankingPairs yields C(K,2)
// chosen/rejected pairs minus ties, better output first; malformed rankings are rejected;
// labelerCeiling is 1 for a noise-free labeler's own rankings, 0 for their reverse, and between
// for the noisy training labeler.
import { describe, expect, it } from 'vitest';
import {
  buildPromptSet,
  candidateResponses,
  createLabeler,
  createRng,
  trainingLabeler,
  type Ranking,
} from '../../../src/world/index.ts';
import { checkRanking, labelerCeiling, rankingPairs, simulatedRankings } from '../../../src/rlhf/rankings.ts';

const prompts = buildPromptSet(3, { train: 12, heldout: 1 }).train;
const responses = prompts.map((prompt, p) =>
  candidateResponses(prompt, createRng(5).fork(prompt.id), 4 + (p % 6)).map((c) => c.text),
);

/** C(K,2): the comparisons in a ranking of K outputs. */
function pairCount(K: number): number {
  return (K * (K - 1)) / 2;
}

describe('simulatedRankings', () => {
  const rankings = simulatedRankings(prompts, responses, trainingLabeler, createRng('rank'));

  it('ranks every prompt: a permutation of its K = 4..9 outputs, with Likert ratings and flags per output', () => {
    expect(rankings).toHaveLength(prompts.length);
    rankings.forEach((ranking, p) => {
      const K = responses[p].length;
      expect(ranking.promptId).toBe(prompts[p].id);
      expect(ranking.prompt).toBe(prompts[p].text);
      expect(ranking.source).toBe('simulated');
      expect([...ranking.order].sort((a, b) => a - b)).toEqual(Array.from({ length: K }, (_, i) => i));
      expect(ranking.likert).toHaveLength(K);
      for (const rating of ranking.likert!) expect(Number.isInteger(rating) && rating >= 1 && rating <= 7).toBe(true);
      expect(ranking.flags).toHaveLength(K);
      expect(typeof ranking.flags![0].failsToFollow).toBe('boolean');
    });
  });

  it('is reproducible, and a prompt is ranked the same whichever other prompts are ranked', () => {
    expect(simulatedRankings(prompts, responses, trainingLabeler, createRng('rank'))).toEqual(rankings);
    const alone = simulatedRankings(prompts.slice(5, 6), responses.slice(5, 6), trainingLabeler, createRng('rank'));
    expect(alone[0]).toEqual(rankings[5]);
  });

  it('follows the labeler: the output ranked first scores higher than the one ranked last, on average', () => {
    let gap = 0;
    rankings.forEach((ranking, p) => {
      const score = (i: number) => trainingLabeler.score(prompts[p], ranking.responses[i]);
      gap += score(ranking.order[0]) - score(ranking.order[ranking.order.length - 1]);
    });
    expect(gap / rankings.length).toBeGreaterThan(0.5);
  });

  it('marks identical outputs as ties', () => {
    const [ranking] = simulatedRankings(
      [prompts[0]],
      [['Same answer.', 'Other answer.', 'Same answer.']],
      trainingLabeler,
      createRng(1),
    );
    const positionOf = (index: number) => ranking.order.indexOf(index);
    const expected = [Math.min(positionOf(0), positionOf(2)), Math.max(positionOf(0), positionOf(2))];
    expect(ranking.ties).toEqual([expected]);
  });
});

describe('rankingPairs', () => {
  it('gives C(K,2) pairs, the better-ranked output as chosen', () => {
    for (const ranking of simulatedRankings(prompts, responses, trainingLabeler, createRng('pairs'))) {
      const K = ranking.responses.length;
      const pairs = rankingPairs(ranking);
      expect(pairs).toHaveLength(pairCount(K) - (ranking.ties?.length ?? 0));
      for (const pair of pairs) {
        expect(ranking.order.indexOf(pair.chosenIndex)).toBeLessThan(ranking.order.indexOf(pair.rejectedIndex));
        expect(pair.chosen).toBe(ranking.responses[pair.chosenIndex]);
        expect(pair.rejected).toBe(ranking.responses[pair.rejectedIndex]);
        expect(pair.prompt).toBe(ranking.prompt);
      }
    }
  });

  it('skips tied pairs', () => {
    const ranking: Ranking = {
      promptId: 'p',
      prompt: 'Q?',
      responses: ['a', 'b', 'c', 'd'],
      order: [2, 0, 3, 1],
      ties: [[1, 2]],
      source: 'human',
    };
    const pairs = rankingPairs(ranking).map((p) => `${p.chosen}>${p.rejected}`);
    expect(pairs).toEqual(['c>a', 'c>d', 'c>b', 'a>b', 'd>b']);
  });
});

describe('labelerCeiling', () => {
  // Without noise and at a vanishing temperature the labeler ranks by its score (Gumbel draws of
  // order 1 against score gaps / 1e-9): it agrees with its score on every comparison except those
  // between equal scores, which its Gumbel draw orders at random and the ceiling counts half.
  const exact = createLabeler({ ...trainingLabeler.config, name: 'exact', noise: 0, temperature: 1e-9 });
  const exactRankings = simulatedRankings(prompts, responses, exact, createRng('exact'));
  const promptOf = (r: Ranking) => prompts.find((q) => q.id === r.promptId)!;
  const pairs = exactRankings.flatMap((r) =>
    rankingPairs(r).map((p) => [exact.score(promptOf(r), p.chosen), exact.score(promptOf(r), p.rejected)]),
  );
  const equalShare = pairs.filter(([a, b]) => a === b).length / pairs.length;

  it('is 1 (less half the equal-score pairs) on a noise-free labeler’s own rankings, the rest on their reverse', () => {
    expect(pairs.filter(([a, b]) => a < b)).toEqual([]);
    expect(equalShare).toBeLessThan(0.5);
    expect(labelerCeiling(exactRankings, prompts, exact)).toBeCloseTo(1 - equalShare / 2, 12);
    const reversePosition = (r: Ranking, i: number) => r.order.length - 1 - i;
    const reversed = exactRankings.map((r) => ({
      ...r,
      order: [...r.order].reverse(),
      ties: r.ties?.map(([i, j]): [number, number] => [reversePosition(r, i), reversePosition(r, j)]),
    }));
    expect(labelerCeiling(reversed, prompts, exact)).toBeCloseTo(equalShare / 2, 12);
  });

  it('falls below 1 when the labeler is noisy, and names a ranking whose prompt is missing', () => {
    const noisy = simulatedRankings(prompts, responses, trainingLabeler, createRng('noisy'));
    const ceiling = labelerCeiling(noisy, prompts, trainingLabeler);
    expect(ceiling).toBeGreaterThan(0.5);
    expect(ceiling).toBeLessThan(labelerCeiling(exactRankings, prompts, exact));
    expect(() => labelerCeiling(noisy, prompts.slice(1), trainingLabeler)).toThrow(
      `ranking of prompt ${prompts[0].id}: no such prompt`,
    );
  });
});

describe('checkRanking', () => {
  const valid: Ranking = { promptId: 'p', prompt: 'Q?', responses: ['a', 'b', 'c'], order: [1, 2, 0], source: 'human' };

  it('accepts a well-formed ranking and names what is wrong with a malformed one', () => {
    expect(() => checkRanking(valid)).not.toThrow();
    expect(() => checkRanking({ ...valid, order: [1, 1, 0] })).toThrow(/not a permutation/);
    expect(() => checkRanking({ ...valid, order: [0, 1] })).toThrow(/not a permutation/);
    expect(() => checkRanking({ ...valid, responses: ['a'], order: [0] })).toThrow(/2 to 9/);
    expect(() =>
      checkRanking({
        ...valid,
        responses: Array.from({ length: 10 }, String),
        order: Array.from({ length: 10 }, (_, i) => i),
      }),
    ).toThrow(/2 to 9/);
    expect(() => checkRanking({ ...valid, ties: [[0, 0]] })).toThrow(/tie/);
    expect(() => checkRanking({ ...valid, likert: [7, 1] })).toThrow(/Likert/);
  });
});

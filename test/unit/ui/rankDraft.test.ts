// The ranking draft's pure helpers (src/ui/rank/draft.ts): moving an output, tie marks as a
// ranking's ties, and which prompt the Rank panel offers next.
import { describe, expect, it } from 'vitest';
import { USER_FAMILY } from '../../../src/store/labDataStore.ts';
import { moveInOrder, nextPromptToRank, promptsToRank, tiesFromMarks } from '../../../src/ui/rank/draft.ts';

describe('ranking draft helpers', () => {
  it('moves an item within the order', () => {
    expect(moveInOrder([0, 1, 2, 3], 2, 0)).toEqual([2, 0, 1, 3]);
    expect(moveInOrder([0, 1, 2, 3], 0, 1)).toEqual([1, 0, 2, 3]);
    expect(moveInOrder([0, 1, 2, 3], 3, 9)).toEqual([0, 1, 2, 3]);
    expect(moveInOrder([0, 1, 2, 3], 1, -1)).toEqual([1, 0, 2, 3]);
  });

  it('turns "tied with the one above" marks into every tied pair of positions', () => {
    expect(tiesFromMarks([false, false, false, false])).toEqual([]);
    expect(tiesFromMarks([false, true, false, false])).toEqual([[0, 1]]);
    expect(tiesFromMarks([false, true, true, false, true])).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
      [3, 4],
    ]);
  });

  it("offers the user's own unranked prompts first, then TinyWorld's, never a ranked or skipped one", () => {
    const prompt = (id: string, family: string) => ({ id, text: id, family, createdAt: 0 });
    const prompts = [prompt('train-0000', 'open_qa'), prompt('train-0001', 'bait'), prompt('mine', USER_FAMILY)];
    const ranked = [
      {
        id: 'r',
        createdAt: 1,
        promptId: 'train-0000',
        prompt: '',
        responses: ['a', 'b'],
        order: [0, 1],
        source: 'human' as const,
      },
    ];
    expect(nextPromptToRank(prompts, ranked, new Set())?.id).toBe('mine');
    expect(nextPromptToRank(prompts, ranked, new Set(['mine']))?.id).toBe('train-0001');
    expect(nextPromptToRank(prompts, ranked, new Set(['mine', 'train-0001']))).toBeUndefined();
    expect(promptsToRank(prompts, ranked, new Set(), 5).map((p) => p.id)).toEqual(['mine', 'train-0001']);
    expect(promptsToRank(prompts, [], new Set(), 2).map((p) => p.id)).toEqual(['mine', 'train-0000']);
  });
});

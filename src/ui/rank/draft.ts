// A ranking in the making, as the ranking board edits it (the Rank panel's and a student's pack's):
// the outputs' order best first, ties with the output above, 1–7 ratings and flags; moving an
// output, turning tie marks into a ranking's ties, and the finished board as a ranking's fields
// (draftJudgement). Also which prompts the Rank panel offers next. Pure functions, no React.
import type { StoredPrompt, StoredRanking } from '../../data/lab-db.ts';
import { isOwnPrompt } from '../../store/labDataStore.ts';
import type { Flags, Ranking } from '../../world/index.ts';

/** The prompt a draft ranks: its id and instruction. */
export interface DraftPrompt {
  id: string;
  text: string;
}

/** Outputs are named by letter (A, B, …) so they keep their name while they move. */
export const letter = (response: number) => String.fromCharCode(65 + response);

export interface Draft {
  prompt: DraftPrompt;
  responses: string[];
  /** Response indices, best first. */
  order: number[];
  /** By position: equally good as the output above (position 0 unused). */
  tiedWithAbove: boolean[];
  /** By response index. */
  likert: (number | undefined)[];
  flags: Partial<Flags>[];
}

export function newDraft(prompt: DraftPrompt, responses: string[]): Draft {
  const K = responses.length;
  return {
    prompt,
    responses,
    order: responses.map((_, i) => i),
    tiedWithAbove: new Array<boolean>(K).fill(false),
    likert: new Array<number | undefined>(K).fill(undefined),
    flags: responses.map(() => ({})),
  };
}

/** The order with the item at position `from` moved to position `to` (clamped to the ends). */
export function moveInOrder(order: readonly number[], from: number, to: number): number[] {
  const target = Math.min(order.length - 1, Math.max(0, to));
  const moved = [...order];
  const [item] = moved.splice(from, 1);
  moved.splice(target, 0, item);
  return moved;
}

/**
 * Ties as Ranking.ties from per-position marks ("equally good as the output above"): every pair of
 * positions inside a run of marked neighbours, so A = B = C ties (0,1), (0,2) and (1,2).
 */
export function tiesFromMarks(tiedWithAbove: readonly boolean[]): [number, number][] {
  const ties: [number, number][] = [];
  let groupStart = 0;
  for (let position = 1; position <= tiedWithAbove.length; position++) {
    if (position < tiedWithAbove.length && tiedWithAbove[position]) continue;
    for (let a = groupStart; a < position; a++) for (let b = a + 1; b < position; b++) ties.push([a, b]);
    groupStart = position;
  }
  return ties;
}

/** The next `count` prompts to rank: the user's own first, then TinyWorld's, skipping ranked and skipped ones. */
export function promptsToRank(
  prompts: readonly StoredPrompt[],
  rankings: readonly StoredRanking[],
  skipped: ReadonlySet<string>,
  count: number,
): StoredPrompt[] {
  const ranked = new Set(rankings.map((r) => r.promptId));
  const open = prompts.filter((p) => !ranked.has(p.id) && !skipped.has(p.id));
  return [...open.filter(isOwnPrompt), ...open.filter((p) => !isOwnPrompt(p))].slice(0, count);
}

/** The next prompt to rank (promptsToRank's first). */
export function nextPromptToRank(
  prompts: readonly StoredPrompt[],
  rankings: readonly StoredRanking[],
  skipped: ReadonlySet<string>,
): StoredPrompt | undefined {
  return promptsToRank(prompts, rankings, skipped, 1)[0];
}

/** A board's judgement as a ranking's fields (order, ties, Likert and flags as far as given), or why it cannot be saved yet. */
export function draftJudgement(
  draft: Draft,
): { judgement: Pick<Ranking, 'order' | 'ties' | 'likert' | 'flags'> } | { problem: string } {
  const rated = draft.likert.filter((v) => v !== undefined).length;
  if (rated !== 0 && rated !== draft.likert.length)
    return { problem: 'Rate the quality of every output (1–7), or of none.' };
  const ties = tiesFromMarks(draft.tiedWithAbove);
  const flagged = draft.flags.some((f) => Object.keys(f).length > 0);
  return {
    judgement: {
      order: draft.order,
      ...(ties.length > 0 && { ties }),
      ...(rated > 0 && { likert: draft.likert as number[] }),
      ...(flagged && { flags: draft.flags }),
    },
  };
}

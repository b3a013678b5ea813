// A ranking record (InstructGPT §3.4): a labeler — a person in the lab or a simulated labeler —
// orders K = 2..9 outputs of one prompt, best first, may mark outputs as equally good, and may rate
// each on a 1–7 Likert scale with the metadata flags. The record lives here, beside Prompt and
// Flags, so that storage (src/data) and training (src/rlhf) share one definition.
import type { Flags } from './labeler.ts';

/** Fewest and most outputs one ranking may hold (the paper's labelers ranked K = 4..9). */
export const MIN_RANKED = 2;
export const MAX_RANKED = 9;

export interface Ranking {
  promptId: string;
  /** The instruction as the user wrote it (not yet in the chat frame). */
  prompt: string;
  /** The K outputs, as shown to the labeler. */
  responses: string[];
  /** Indices into responses, best first: a permutation of 0..K−1. */
  order: number[];
  /**
   * Pairs of positions in `order` (0 = best) the labeler judged equally good; such pairs are no
   * comparison and are skipped by the reward model's loss and by rankingPairs (src/rlhf).
   */
  ties?: [number, number][];
  source: 'human' | 'simulated';
  /** Who ranked: a person's name or anonymous code (a class's merged rankings), absent when unknown. */
  labeler?: string;
  /** Per response (same indices as responses): the labeler's 1–7 rating. */
  likert?: number[];
  /** Per response: the labeler's metadata (fails to follow, hallucination, …), as far as given. */
  flags?: Partial<Flags>[];
}

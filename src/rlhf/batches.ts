// Prompt + response sequences as the GPU model's (B, T) batches. Row b holds the ids of prompt b
// followed by its response (ending in EOS when it ended), right-padded with EOS. targets[b,t] is
// ids[t+1]; weights mark the targets that are response tokens (responseMask), so SFT's loss and
// PPO's per-token log-probs cover exactly the response, EOS included.
import type { Batch } from '../model/gpt.ts';
import { responseMask } from './losses.ts';

export interface Sequence {
  prompt: number[];
  response: number[];
}

export interface SequenceBatch extends Batch {
  tokens: Int32Array; // (B,T)
  targets: Int32Array; // (B,T)
  weights: Float32Array; // (B,T) 1 on response targets
  /**
   * Per row: input position of the sequence's last token (EOS when it ended), where a reward or
   * value model reads its score. Equals T when the sequence fills all T+1 ids (then that token is
   * only a target): scalar models need sequences of at most T tokens.
   */
  lastTokenIndex: number[];
}

/**
 * Packs up to B sequences into a (B,T) batch; unused rows get weight 0. Throws when a sequence
 * does not fit in T+1 tokens (callers truncate responses when sampling, not here).
 */
export function sequenceBatch(sequences: readonly Sequence[], B: number, T: number, padId: number): SequenceBatch {
  if (sequences.length > B) throw new Error(`${sequences.length} sequences do not fit a batch of ${B}`);
  const tokens = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const weights = new Float32Array(B * T);
  const lastTokenIndex: number[] = [];
  sequences.forEach(({ prompt, response }, b) => {
    const ids = [...prompt, ...response];
    if (response.length === 0) throw new Error(`sequence ${b} has an empty response`);
    if (ids.length > T + 1) throw new Error(`sequence ${b} has ${ids.length} tokens; the batch holds ${T + 1}`);
    tokens.set(ids.slice(0, Math.min(T, ids.length)), b * T);
    targets.set(ids.slice(1), b * T);
    weights.set(responseMask(prompt.length, ids.length, T), b * T);
    lastTokenIndex.push(ids.length - 1);
  });
  return { tokens, targets, weights, lastTokenIndex };
}

// TinyWorld's pretraining corpus as the stages after pretraining use it: the first heldoutCount
// documents are held out (their loss measures the alignment tax), the rest is the pretraining mix
// that SFT and PPO-ptx train on. Document i is the same whatever the number of documents asked for,
// so a held-out prefix is the same text in every caller that asks for the same corpus size.
import type { Batch } from '../model/gpt.ts';
import { evaluationWindows, heldoutCount, tokenStream } from '../model/lm-training.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { generateCorpus } from '../world/index.ts';

/** Corpus documents drawn for the pretraining mix (SFT's mix, PPO-ptx) unless a run says otherwise. */
export const PRETRAINING_MIX_DOCUMENTS = 2000;

/** The token stream of the pretraining mix: a corpus of `documents` documents without its held-out prefix. */
export function pretrainingMixStream(
  tokenizer: Tokenizer,
  worldSeed: number,
  documents = PRETRAINING_MIX_DOCUMENTS,
): Int32Array {
  const corpus = generateCorpus(worldSeed, documents);
  return tokenStream(tokenizer, corpus.slice(heldoutCount(corpus.length)));
}

/** Up to `batches` consecutive (B,T) windows of the held-out prefix of a corpus of `documents` documents. */
export function heldoutPretrainingWindows(
  tokenizer: Tokenizer,
  worldSeed: number,
  documents: number,
  shape: { B: number; T: number; batches: number },
): Batch[] {
  const heldout = generateCorpus(worldSeed, heldoutCount(documents));
  return evaluationWindows(tokenStream(tokenizer, heldout), shape.B, shape.T, shape.batches);
}

// Training a byte-level BPE tokenizer (tokenizer.ts) on raw text, deterministically: the vocabulary
// the lab's models are built on (`rlhf-lab pretrain` trains it on the TinyWorld corpus).
import {
  bytesToSymbols,
  ENDOFTEXT,
  MAX_VOCAB,
  mergePair,
  pairKey,
  pairOf,
  pretokenize,
  specialTokenSplitter,
  Tokenizer,
} from './tokenizer.ts';

const utf8Encoder = new TextEncoder();

/**
 * Trains a byte-level BPE tokenizer with `vocabSize` ids: 256 byte tokens, learned merges, then the
 * special tokens. Special tokens in the texts are cut out before counting, so no merge spans them.
 * Each step merges the most frequent adjacent pair over all words (ties: the pair whose left token's
 * bytes sort first, then the right token's), so training is deterministic. The vocab is smaller than
 * asked when the texts run out of pairs to merge.
 */
export function trainBpe(texts: string[], vocabSize: number, specialTokens: string[] = [ENDOFTEXT]): Tokenizer {
  const minimum = 256 + specialTokens.length;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < minimum || vocabSize > MAX_VOCAB) {
    throw new Error(
      `vocabSize must be an integer from ${minimum} (256 bytes + ${specialTokens.length} special tokens) to ${MAX_VOCAB}, got ${vocabSize}`,
    );
  }
  if (specialTokens.length === 0) throw new Error('trainBpe needs at least one special token (the end-of-text token)');
  if (new Set(specialTokens).size !== specialTokens.length) throw new Error('special tokens must be distinct');
  const words = countWords(texts, specialTokens);
  const learned = learnMerges(words, vocabSize - specialTokens.length);
  const vocab = learned.tokens.map(bytesToSymbols);
  for (const special of specialTokens) {
    if (vocab.includes(special)) throw new Error(`special token ${JSON.stringify(special)} is also a learned token`);
    vocab.push(special);
  }
  const merges = learned.merges.map(([left, right]): [string, string] => [vocab[left], vocab[right]]);
  return new Tokenizer({ vocab, merges, specialTokens });
}

/** Occurrences of each distinct pre-token across the texts, special tokens excluded. */
function countWords(texts: string[], specialTokens: readonly string[]): Map<string, number> {
  const splitter = specialTokenSplitter(specialTokens);
  const counts = new Map<string, number>();
  for (const text of texts) {
    const parts = text.split(splitter);
    for (let i = 0; i < parts.length; i += 2) {
      for (const word of pretokenize(parts[i])) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return counts;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

interface LearnedMerges {
  /** Bytes of each token id: 0..255 single bytes, then one per new token in creation order. */
  tokens: Uint8Array[];
  /** Merged [left, right] ids in merge order. */
  merges: Array<[number, number]>;
}

/** A pair and its count when it was queued; stale when the count has changed since. */
interface QueuedPair {
  key: number;
  count: number;
}

/**
 * BPE on word types: each distinct word is a symbol sequence with a frequency. Pair counts are kept
 * for all words and updated only for the words that contain the pair being merged; a max-heap with
 * lazy deletion finds the best pair.
 */
function learnMerges(wordCounts: Map<string, number>, tokenLimit: number): LearnedMerges {
  const tokens: Uint8Array[] = Array.from({ length: 256 }, (_, byte) => Uint8Array.of(byte));
  const tokenIds = new Map(tokens.map((bytes, id) => [bytesToSymbols(bytes), id]));
  const words = Array.from(wordCounts.keys(), (word) => Array.from(utf8Encoder.encode(word)));
  const frequencies = Array.from(wordCounts.values());
  const pairCounts = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();
  const delta = new Map<number, number>();
  words.forEach((_, w) => addWordPairs(words[w], frequencies[w], w, delta, wordsWithPair, -1));

  const isBetter = (a: QueuedPair, b: QueuedPair): boolean => {
    if (a.count !== b.count) return a.count > b.count;
    const [aLeft, aRight] = pairOf(a.key);
    const [bLeft, bRight] = pairOf(b.key);
    return (compareBytes(tokens[aLeft], tokens[bLeft]) || compareBytes(tokens[aRight], tokens[bRight])) < 0;
  };
  const queue = new Heap<QueuedPair>(isBetter);
  applyDelta(delta, pairCounts, queue);

  const merges: Array<[number, number]> = [];
  while (tokens.length < tokenLimit) {
    const best = popCurrent(queue, pairCounts);
    if (best === undefined) break;
    const [left, right] = pairOf(best.key);
    const bytes = concatBytes(tokens[left], tokens[right]);
    const symbols = bytesToSymbols(bytes);
    let merged = tokenIds.get(symbols);
    if (merged === undefined) {
      merged = tokens.length;
      tokens.push(bytes);
      tokenIds.set(symbols, merged);
    }
    merges.push([left, right]);
    for (const w of wordsWithPair.get(best.key) ?? []) {
      const next = mergePair(words[w], left, right, merged);
      if (next.length === words[w].length) continue; // w no longer holds the pair
      removeWordPairs(words[w], frequencies[w], delta);
      words[w] = next;
      addWordPairs(next, frequencies[w], w, delta, wordsWithPair, merged);
    }
    wordsWithPair.delete(best.key);
    applyDelta(delta, pairCounts, queue);
  }
  return { tokens, merges };
}

/**
 * Counts the pairs of a word into delta and records the word as holding each pair that contains
 * `newToken` (every pair when it is -1); the word is already recorded for its other pairs.
 */
function addWordPairs(
  symbols: number[],
  frequency: number,
  w: number,
  delta: Map<number, number>,
  wordsWithPair: Map<number, Set<number>>,
  newToken: number,
): void {
  for (let i = 0; i + 1 < symbols.length; i++) {
    const key = pairKey(symbols[i], symbols[i + 1]);
    delta.set(key, (delta.get(key) ?? 0) + frequency);
    if (newToken >= 0 && symbols[i] !== newToken && symbols[i + 1] !== newToken) continue;
    let holders = wordsWithPair.get(key);
    if (holders === undefined) wordsWithPair.set(key, (holders = new Set()));
    holders.add(w);
  }
}

function removeWordPairs(symbols: number[], frequency: number, delta: Map<number, number>): void {
  for (let i = 0; i + 1 < symbols.length; i++) {
    const key = pairKey(symbols[i], symbols[i + 1]);
    delta.set(key, (delta.get(key) ?? 0) - frequency);
  }
}

/** Adds the pending count changes to pairCounts, queues each changed pair, and clears delta. */
function applyDelta(delta: Map<number, number>, pairCounts: Map<number, number>, queue: Heap<QueuedPair>): void {
  for (const [key, change] of delta) {
    if (change === 0) continue;
    const count = (pairCounts.get(key) ?? 0) + change;
    if (count > 0) {
      pairCounts.set(key, count);
      queue.push({ key, count });
    } else {
      pairCounts.delete(key);
    }
  }
  delta.clear();
}

/** Pops queued pairs until one whose count is still current. */
function popCurrent(queue: Heap<QueuedPair>, pairCounts: Map<number, number>): QueuedPair | undefined {
  for (let entry = queue.pop(); entry !== undefined; entry = queue.pop()) {
    if (pairCounts.get(entry.key) === entry.count) return entry;
  }
  return undefined;
}

/** A binary heap; `isBetter(a, b)` says a comes out before b. */
class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly isBetter: (a: T, b: T) => boolean) {}

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.isBetter(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < items.length && this.isBetter(items[left], items[best])) best = left;
      if (right < items.length && this.isBetter(items[right], items[best])) best = right;
      if (best === i) break;
      [items[i], items[best]] = [items[best], items[i]];
      i = best;
    }
    return top;
  }
}

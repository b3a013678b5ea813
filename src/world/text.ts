// Small English helpers shared by TinyWorld's generators (articles, number words, lists) and by
// its labelers (word and sentence splitting, number parsing). All text is plain ASCII.

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'] as const;

/** "dog" → "Dog". */
export function capitalise(text: string): string {
  return text.length === 0 ? text : text[0].toUpperCase() + text.slice(1);
}

/** "dog" → "a dog", "owl" → "an owl". */
export function withArticle(noun: string): string {
  return (/^[aeiou]/i.test(noun) ? 'an ' : 'a ') + noun;
}

/** 4 → "four" (0–10), larger numbers as digits. */
export function numberWord(n: number): string {
  return n >= 0 && n < NUMBER_WORDS.length ? NUMBER_WORDS[n] : String(n);
}

/** "four" or "4" → 4; "no" and "none" → 0; anything else → undefined. */
export function parseNumber(word: string): number | undefined {
  if (/^\d+$/.test(word)) return Number(word);
  if (word === 'no' || word === 'none') return 0;
  const index = (NUMBER_WORDS as readonly string[]).indexOf(word);
  return index >= 0 ? index : undefined;
}

/** True for a number word or digits (not "no"/"none"). */
export function isNumberWord(word: string): boolean {
  return /^\d+$/.test(word) || (NUMBER_WORDS as readonly string[]).includes(word);
}

/** ["a", "b", "c"] → "a, b and c". */
export function listPhrase(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * Lower-case word tokens: letters, digits and inner apostrophes ("don't"); a possessive "'s"
 * is dropped ("Anna's" → "anna").
 */
export function words(text: string): string[] {
  const tokens = text.toLowerCase().match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? [];
  return tokens.map((t) => (t.endsWith("'s") ? t.slice(0, -2) : t));
}

/** Number of words as the labelers count them (see `words`). */
export function wordCount(text: string): number {
  return words(text).length;
}

/** Sentences with their final punctuation; a trailing fragment without punctuation is kept. */
export function sentences(text: string): string[] {
  const parts = text.match(/[^.!?\n]+[.!?]*/g) ?? [];
  return parts.map((s) => s.trim()).filter((s) => /[a-z0-9]/i.test(s));
}

/** True when the last sentence ends with . ! or ? */
export function endsCleanly(text: string): boolean {
  return /[.!?]["']?\s*$/.test(text.trim());
}

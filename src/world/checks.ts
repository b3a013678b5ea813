// What the simulated labelers read in a response: entity mentions, the facts it claims
// ("A dog says moo" → dog/sound/moo), rude words (unless negated), values a closed-domain answer
// could only have made up, list items, and fluency signals (unknown words, repetition, a cut-off
// ending). Plain word-level parsing: TinyWorld's sentences are simple enough for it.

import {
  ANIMALS,
  COLOURS,
  FOODS,
  JOBS,
  OBJECTS,
  PERSON_NAME_LIST,
  PLACE_NAME_LIST,
  SOUNDS,
  factsOf,
} from './knowledge.ts';
import { isNumberWord, parseNumber, sentences, words } from './text.ts';
import type { Fact, Relation } from './knowledge.ts';

export interface Claim {
  subject: string;
  relation: Relation;
  value: string;
}

type MentionKind = 'animal' | 'object' | 'person' | 'place' | 'name';

interface Mention {
  index: number;
  name: string;
  kind: MentionKind;
}

const NOUNS = new Map<string, { name: string; kind: MentionKind }>();
for (const a of ANIMALS) for (const w of [a.name, a.plural]) NOUNS.set(w, { name: a.name, kind: 'animal' });
for (const o of OBJECTS)
  for (const w of [o.name, o.plural]) if (!NOUNS.has(w)) NOUNS.set(w, { name: o.name, kind: 'object' });
for (const p of PERSON_NAME_LIST) NOUNS.set(p.toLowerCase(), { name: p, kind: 'person' });
for (const p of PLACE_NAME_LIST) NOUNS.set(p.toLowerCase(), { name: p, kind: 'place' });

const COLOUR_SET = new Set<string>(COLOURS);
const SOUND_SET = new Set<string>(SOUNDS);
const FOOD_SET = new Set<string>(FOODS);
const JOB_SET = new Set<string>(JOBS);
const PLACE_BY_WORD = new Map(PLACE_NAME_LIST.map((p) => [p.toLowerCase(), p]));
const NEGATIONS = new Set(['not', 'never', "isn't", "aren't", "don't", "doesn't", "wasn't", "didn't", 'nobody']);
const SOUND_VERBS = new Set(['say', 'says', 'said', 'make', 'makes', 'made', 'go', 'goes', 'sound', 'sounds']);
const EAT_VERBS = new Set(['eat', 'eats', 'ate', 'eating']);
const EAT_FILLERS = new Set(['a', 'an', 'the', 'some', 'lots', 'of', 'mostly', 'only', 'to', 'little']);
const LIVE_VERBS = new Set(['live', 'lives', 'lived', 'living']);
const HABITAT_WORDS: Record<string, string> = { water: 'water', sea: 'water', land: 'land', air: 'air', sky: 'air' };
const PERSON_PRONOUNS = new Set(['he', 'she', 'his', 'her']);
const THING_PRONOUNS = new Set(['it', 'they', 'its', 'their']);

/** Entity mentions in a token list; extra names (made-up people) count as people. */
function findMentions(tokens: readonly string[], extraNames: ReadonlySet<string>): Mention[] {
  const mentions: Mention[] = [];
  tokens.forEach((t, index) => {
    const noun = NOUNS.get(t);
    if (noun) mentions.push({ index, ...noun });
    else if (extraNames.has(t)) mentions.push({ index, name: t, kind: 'name' });
  });
  return mentions;
}

/** A negation among the `window` words before a word: "is not blue", "do not think … stupid". */
function negated(tokens: readonly string[], index: number, window = 3): boolean {
  return tokens.slice(Math.max(0, index - window), index).some((t) => NEGATIONS.has(t));
}

interface SentenceContext {
  tokens: string[];
  mentions: Mention[];
  subject: Mention | undefined;
}

/** The claims of one sentence whose subject is known. */
function sentenceClaims({ tokens, mentions, subject }: SentenceContext): Claim[] {
  const claims: Claim[] = [];
  const nounAt = (i: number) => mentions.find((m) => m.index === i);
  // A value is claimed of the subject only when the subject comes first ("Cats eat fish", not
  // "Animals that eat fish: cats"); a subject from a pronoun or the prompt has index -1.
  const claim = (about: Mention | undefined, relation: Relation, value: string, at: number) => {
    if (about && about.index < at) claims.push({ subject: about.name, relation, value });
  };
  const isPerson = subject?.kind === 'person' || subject?.kind === 'name';
  const hasSoundVerb = tokens.some((t) => SOUND_VERBS.has(t));
  const lives = tokens.some((t) => LIVE_VERBS.has(t));
  tokens.forEach((t, i) => {
    if (negated(tokens, i)) return;
    const next = tokens[i + 1];
    const described = COLOUR_SET.has(t) ? nounAt(i + 1) : undefined; // "a red ball"
    if (described) claims.push({ subject: described.name, relation: 'colour', value: t });
    else if (COLOUR_SET.has(t)) claim(subject, 'colour', t, i);
    else if (SOUND_SET.has(t) && hasSoundVerb && subject?.kind === 'animal') claim(subject, 'sound', t, i);
    else if ((next === 'legs' || next === 'leg') && parseNumber(t) !== undefined)
      claim(subject, 'legs', String(parseNumber(t)), i);
    else if (EAT_VERBS.has(t) && subject?.kind === 'animal') {
      let j = i + 1;
      while (EAT_FILLERS.has(tokens[j])) j++;
      if (FOOD_SET.has(tokens[j])) claim(subject, 'food', tokens[j], i);
    } else if (lives && HABITAT_WORDS[t] && subject?.kind === 'animal') claim(subject, 'habitat', HABITAT_WORDS[t], i);
    else if (isPerson && JOB_SET.has(t) && ['a', 'an'].includes(tokens[i - 1])) claim(subject, 'job', t, i);
    else if (isPerson && PLACE_BY_WORD.has(t) && tokens[i - 1] === 'in' && LIVE_VERBS.has(tokens[i - 2])) {
      claim(subject, 'home', PLACE_BY_WORD.get(t) ?? t, i);
    } else if (isPerson && ['has', 'have', 'had'].includes(t)) {
      const count = tokens[i + 1] === 'a' || tokens[i + 1] === 'an' ? 1 : parseNumber(tokens[i + 1] ?? '');
      const pet = nounAt(i + 2);
      if (count !== undefined && pet?.kind === 'animal') {
        claim(subject, 'pet', pet.name, i);
        claim(subject, 'petCount', String(count), i);
      }
    }
  });
  return claims;
}

/**
 * Facts a text asserts. A sentence's subject is its first mention, or the last person/thing
 * when it starts with a pronoun, or `defaultSubject` when it names nothing.
 */
export function extractClaims(text: string, defaultSubject?: string, extraNames: readonly string[] = []): Claim[] {
  const names = new Set(extraNames.map((n) => n.toLowerCase()));
  const fallback = defaultSubject ? mentionFor(defaultSubject, names) : undefined;
  let lastPerson: Mention | undefined = fallback?.kind === 'person' || fallback?.kind === 'name' ? fallback : undefined;
  let lastThing: Mention | undefined = fallback && !lastPerson ? fallback : undefined;
  const claims: Claim[] = [];
  for (const sentence of sentences(text)) {
    const tokens = words(sentence);
    const mentions = findMentions(tokens, names);
    const first = tokens[0] ?? '';
    const carried = PERSON_PRONOUNS.has(first) ? lastPerson : THING_PRONOUNS.has(first) ? lastThing : undefined;
    const subject = carried ? { ...carried, index: -1 } : (mentions.find((m) => m.kind !== 'place') ?? fallback);
    claims.push(...sentenceClaims({ tokens, mentions, subject }));
    if (subject?.kind === 'person' || subject?.kind === 'name') lastPerson = subject;
    else if (subject) lastThing = subject;
  }
  return claims;
}

function mentionFor(name: string, extraNames: ReadonlySet<string>): Mention | undefined {
  const noun = NOUNS.get(name.toLowerCase());
  if (noun) return { index: -1, ...noun };
  return extraNames.has(name.toLowerCase()) ? { index: -1, name: name.toLowerCase(), kind: 'name' } : undefined;
}

/** The true value of a subject's relation, from the given facts or the fixed catalogue. */
function trueValue(subject: string, relation: Relation, facts: readonly Fact[]): string | undefined {
  const given = facts.find((f) => f.subject.toLowerCase() === subject.toLowerCase() && f.relation === relation);
  if (given) return given.value;
  const entity = ANIMALS.find((a) => a.name === subject) ?? OBJECTS.find((o) => o.name === subject);
  return entity ? factsOf(entity).find((f) => f.relation === relation)?.value : undefined;
}

/** Claims that contradict the facts (claims about unknown subjects or relations are ignored). */
export function falseClaims(claims: readonly Claim[], facts: readonly Fact[]): Claim[] {
  return claims.filter((c) => {
    const truth = trueValue(c.subject, c.relation, facts);
    return truth !== undefined && truth.toLowerCase() !== c.value.toLowerCase();
  });
}

// ---------------------------------------------------------------------------------------------
// Rudeness

export const RUDE_WORDS = new Set([
  'stupid',
  'dumb',
  'idiot',
  'idiots',
  'fool',
  'fools',
  'foolish',
  'ugly',
  'lazy',
  'useless',
  'loser',
  'losers',
  'hate',
  'moron',
]);
const RUDE_PHRASES = ['shut up', 'go away', 'nobody cares', 'who cares'];

/** Rude words not negated in their sentence ("I do not think he is stupid" is fine) and rude phrases. */
export function rudeTerms(text: string): string[] {
  const found = sentences(text).flatMap((sentence) => {
    const tokens = words(sentence);
    return tokens.filter((t, i) => RUDE_WORDS.has(t) && !negated(tokens, i, 6));
  });
  const joined = ` ${words(text).join(' ')} `;
  return [...found, ...RUDE_PHRASES.filter((p) => joined.includes(` ${p} `))];
}

// ---------------------------------------------------------------------------------------------
// Values, items and answers

const VALUE_LEXICON: Partial<Record<Relation, (w: string) => boolean>> = {
  colour: (w) => COLOUR_SET.has(w),
  sound: (w) => SOUND_SET.has(w),
  food: (w) => FOOD_SET.has(w),
  job: (w) => JOB_SET.has(w),
  home: (w) => PLACE_BY_WORD.has(w),
  habitat: (w) => w in HABITAT_WORDS,
  legs: (w) => parseNumber(w) !== undefined,
  petCount: (w) => parseNumber(w) !== undefined,
  count: (w) => parseNumber(w) !== undefined,
  pet: (w) => NOUNS.get(w)?.kind === 'animal',
};

/** Normalised values of a relation's kind found in a text: ["green"], ["4"], ["water"]. */
export function valuesOfKind(text: string, relation: Relation): string[] {
  const test = VALUE_LEXICON[relation];
  if (!test) return [];
  const tokens = words(text);
  return tokens.filter((t, i) => test(t) && !negated(tokens, i)).map((t) => normaliseValue(t, relation));
}

function normaliseValue(word: string, relation: Relation): string {
  if (relation === 'legs' || relation === 'petCount' || relation === 'count') return String(parseNumber(word));
  if (relation === 'habitat') return HABITAT_WORDS[word];
  if (relation === 'home') return PLACE_BY_WORD.get(word) ?? word;
  if (relation === 'pet') return NOUNS.get(word)?.name ?? word;
  return word;
}

/** Fact-bearing words a closed-domain answer may only take from the text. */
function isFactWord(word: string): boolean {
  return (
    COLOUR_SET.has(word) ||
    JOB_SET.has(word) ||
    PLACE_BY_WORD.has(word) ||
    FOOD_SET.has(word) ||
    SOUND_SET.has(word) ||
    NOUNS.get(word)?.kind === 'animal' ||
    (isNumberWord(word) && word !== 'one')
  );
}

/** A word with number words and digits made the same ("five" → "5"). */
function canonicalWord(word: string): string {
  return isNumberWord(word) ? String(parseNumber(word)) : word;
}

/** Fact-bearing words in the response that appear nowhere in the source text. */
export function unsupportedWords(response: string, source: string): string[] {
  const known = new Set(words(source).map(canonicalWord));
  return [...new Set(words(response).filter((w) => isFactWord(w) && !known.has(canonicalWord(w))))];
}

/** Distinct animals and objects named in a text (singular names), in order. */
export function namedItems(text: string, ignore: ReadonlySet<string> = new Set()): string[] {
  const items: string[] = [];
  for (const t of words(text)) {
    const noun = NOUNS.get(t);
    if (noun && (noun.kind === 'animal' || noun.kind === 'object') && !ignore.has(t) && !items.includes(noun.name)) {
      items.push(noun.name);
    }
  }
  return items;
}

/** Distinct animals, objects and people named in a text (singular names), in order. */
export function namedEntities(text: string): string[] {
  const names = words(text)
    .map((t) => NOUNS.get(t))
    .filter((n) => n !== undefined && n.kind !== 'place')
    .map((n) => n?.name ?? '');
  return [...new Set(names)];
}

/** Whether the text names the entity (singular, plural or possessive). */
export function mentions(text: string, name: string): boolean {
  const lower = name.toLowerCase();
  return words(text).some((t) => t === lower || NOUNS.get(t)?.name.toLowerCase() === lower);
}

// ---------------------------------------------------------------------------------------------
// Fluency

/** Share of repeated word trigrams (0 = none repeated). */
export function repetitionRate(text: string): number {
  const tokens = words(text);
  if (tokens.length < 6) return 0;
  const grams = tokens.slice(2).map((t, i) => `${tokens[i]} ${tokens[i + 1]} ${t}`);
  return 1 - new Set(grams).size / grams.length;
}

/** Share of words not in the lexicon. */
export function unknownWordRate(text: string, lexicon: ReadonlySet<string>): number {
  const tokens = words(text);
  if (tokens.length === 0) return 0;
  return tokens.filter((t) => !lexicon.has(t)).length / tokens.length;
}

/** Number of sentences that are questions. */
export function questionCount(text: string): number {
  return sentences(text).filter((s) => s.endsWith('?')).length;
}

/** Share of sentences that are questions. */
export function questionShare(text: string): number {
  const all = sentences(text);
  return all.length === 0 ? 0 : all.filter((s) => s.endsWith('?')).length / all.length;
}

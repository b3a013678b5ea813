// Responses of every quality for a prompt: the ideal one, and flawed ones that fail the way a
// small language model fails (false facts, made-up closed-domain answers, rudeness, off-topic
// chatter, more questions instead of an answer, repetition, truncation, misspellings). The
// corpus uses them for its chat transcripts; tests and the labeler calibration use them as
// "typical model outputs" to rank.

import {
  ANIMALS,
  COLOURS,
  FOODS,
  HABITS,
  JOBS,
  OBJECTS,
  PLACE_NAME_LIST,
  SOUNDS,
  animalNamed,
  objectNamed,
  pluralOf,
} from './knowledge.ts';
import { capitalise, isNumberWord, sentences, withArticle, words } from './text.ts';
import { idealResponse } from './demonstrations.ts';
import type { WorldRng } from './rng.ts';
import type { Prompt } from './prompts.ts';

export type CandidateKind =
  | 'ideal'
  | 'ideal_variant'
  | 'false_fact'
  | 'rude'
  | 'off_topic'
  | 'more_questions'
  | 'repetitive'
  | 'truncated'
  | 'garbled'
  | 'constraint_miss';

export interface Candidate {
  kind: CandidateKind;
  text: string;
}

/** What a partly trained model might produce: mostly decent, sometimes flawed. */
export const MODEL_OUTPUT_MIX: readonly (readonly [CandidateKind, number])[] = [
  ['ideal', 0.28],
  ['ideal_variant', 0.17],
  ['false_fact', 0.12],
  ['rude', 0.06],
  ['off_topic', 0.08],
  ['more_questions', 0.07],
  ['repetitive', 0.06],
  ['truncated', 0.06],
  ['garbled', 0.05],
  ['constraint_miss', 0.05],
];

type Mix = readonly (readonly [CandidateKind, number])[];

/**
 * "The internet" of TinyWorld: the answers of the pretraining corpus's chat transcripts, mostly
 * unhelpful. Questions of fact are mostly answered with the question's misconception, requests to
 * insult someone mostly with an insult (GPT-3 obliged such requests), the rest with this mix.
 */
export const CORPUS_TRANSCRIPT_MIX: Mix = [
  ['ideal', 0.1],
  ['false_fact', 0.35],
  ['rude', 0.25],
  ['off_topic', 0.1],
  ['more_questions', 0.1],
  ['repetitive', 0.05],
  ['constraint_miss', 0.05],
];
const CORPUS_TRANSCRIPT_MIX_BY_FAMILY: Partial<Record<Prompt['family'], Mix>> = {
  open_qa: [
    ['ideal', 0.05],
    ['false_fact', 0.6],
    ['rude', 0.15],
    ['off_topic', 0.1],
    ['more_questions', 0.1],
  ],
  bait: [
    ['ideal', 0.15],
    ['rude', 0.6],
    ['off_topic', 0.15],
    ['more_questions', 0.1],
  ],
};

/** The transcript answer mix for a prompt's family. */
export function corpusTranscriptMix(family: Prompt['family']): Mix {
  return CORPUS_TRANSCRIPT_MIX_BY_FAMILY[family] ?? CORPUS_TRANSCRIPT_MIX;
}

const RUDE_SENTENCES = [
  'What a stupid question.',
  'Only a fool would ask that.',
  'Shut up and look it up yourself.',
  'You are so dumb.',
  'Go away, nobody cares.',
  'Stop asking me things, idiot.',
];

/** Insults about a target ("your neighbour", "Leo", "cows") with its verb ("is", "are"). */
const RUDE_ABOUT = [
  (t: string, is: string) => `${capitalise(t)} ${is} stupid and lazy.`,
  (t: string, is: string) => `${capitalise(t)} ${is} useless. Nobody cares about ${t}.`,
  (t: string, is: string) => `Everyone knows ${t} ${is} dumb and ugly.`,
];

export function rudeSentence(rng: WorldRng): string {
  return rng.pick(RUDE_SENTENCES);
}

/** Chatter about something else: true statements, none about the words in `avoid`. */
export function offTopicText(rng: WorldRng, avoid: readonly string[]): string {
  const animal = rng.pick(ANIMALS.filter((a) => !avoid.includes(a.name)));
  const thing = rng.pick(OBJECTS.filter((o) => !avoid.includes(o.name)));
  const place = rng.pick(PLACE_NAME_LIST);
  const options = [
    `I like ${rng.pick(FOODS.filter((f) => !avoid.includes(f)))}. Yesterday I went to ${place}.`,
    `I went to ${place} with my friend. We saw ${withArticle(animal.name)} there.`,
    `My ${thing.name} is ${thing.colour}. I use it to ${thing.use}.`,
    `The weather is nice today. I want to go to ${place} and see the ${animal.plural}.`,
    `${capitalise(animal.plural)} are ${animal.colour}. I saw one in ${place} last week.`,
  ];
  return rng.pick(options);
}

/** Questions instead of an answer, the way a base model continues a list of questions. */
function moreQuestions(prompt: Prompt, rng: WorldRng): string {
  const animals = rng.sample(ANIMALS, 3);
  const subject = 'subject' in prompt ? prompt.subject : (prompt.entities[0] ?? animals[0].name);
  const shown = animalNamed(subject) || objectNamed(subject) ? withArticle(subject) : subject;
  return rng
    .pick([
      [
        `Why do you want to know?`,
        `What colour is ${withArticle(animals[0].name)}?`,
        `Where does ${withArticle(animals[1].name)} live?`,
      ],
      [`What about ${shown}?`, `Can you tell me more?`, `What does ${withArticle(animals[2].name)} eat?`],
      [
        `What sound does ${withArticle(animals[0].name)} make?`,
        `How many legs does ${withArticle(animals[1].name)} have?`,
        `What colour is ${withArticle(animals[2].name)}?`,
      ],
    ])
    .join(' ');
}

const SWAP_NUMBERS = ['two', 'three', 'four', 'five', 'six', 'seven'];
const PLACES_LOWER = PLACE_NAME_LIST.map((p) => p.toLowerCase());
const ANIMAL_PLURALS = new Set(ANIMALS.map((a) => a.plural));
/** Kinds of words a false answer may swap, and the text that must come just before them. */
const SWAPPABLE: readonly { list: readonly string[]; after: RegExp }[] = [
  { list: COLOURS, after: /(?:)$/ },
  { list: SOUNDS, after: /\b(says|say|said|goes|go|makes|make)\s+$/i },
  { list: FOODS, after: /\b(eat|eats|ate|eating)\s+((a|an|the|some|only|mostly)\s+)?$/i },
  { list: JOBS, after: /\b(is|was) an?\s+$/i },
];

/** Wrong values for a fact-bearing word, given the text just before and after it; else undefined. */
function alternativesFor(word: string, before: string, after: string): readonly string[] | undefined {
  const lower = word.toLowerCase();
  const nextWord = /^\s*([a-z]+)/i.exec(after)?.[1]?.toLowerCase() ?? '';
  const countsLegsOrAnimals = nextWord === 'legs' || ANIMAL_PLURALS.has(nextWord);
  if ((isNumberWord(lower) || lower === 'no') && countsLegsOrAnimals) return SWAP_NUMBERS.filter((x) => x !== lower);
  if (PLACES_LOWER.includes(lower))
    return /\blives? in\s*$/i.test(before) ? PLACE_NAME_LIST.filter((p) => p.toLowerCase() !== lower) : undefined;
  const swappable = SWAPPABLE.find(({ list, after: context }) => list.includes(lower) && context.test(before));
  return swappable?.list.filter((x) => x !== lower);
}

function matchCase(replacement: string, original: string): string {
  return original[0] === original[0].toUpperCase() ? capitalise(replacement) : replacement;
}

/** Swaps one fact-bearing word (colour, sound, food, job, home, count) for a wrong one. */
function swapOneFact(text: string, rng: WorldRng, protect: readonly string[]): string | undefined {
  const tokens = text.split(/(\b[A-Za-z0-9]+\b)/);
  const context = (i: number) => [tokens.slice(0, i).join(''), tokens.slice(i + 1).join('')] as const;
  const slots = tokens
    .map((t, i) => ({ t, i, options: /^[A-Za-z0-9]+$/.test(t) ? alternativesFor(t, ...context(i)) : undefined }))
    .filter(({ t, options }) => options && options.length > 0 && !protect.includes(t.toLowerCase()));
  if (slots.length === 0) return undefined;
  const { t, i, options } = rng.pick(slots);
  tokens[i] = matchCase(rng.pick(options ?? []), t);
  return tokens.join('');
}

function falseBrainstorm(prompt: Prompt & { family: 'brainstorming' }, ideal: string, rng: WorldRng): string {
  const invalid = [...ANIMALS, ...OBJECTS].filter(
    (x) => !prompt.validItems.includes(x.name) && (prompt.itemKind === 'thing' || x.kind === 'animal'),
  );
  const lower = ideal.toLowerCase();
  const present = prompt.validItems.map(pluralOf).find((p) => lower.includes(p));
  if (!present) return ideal;
  return ideal.replace(new RegExp(`\\b${present}\\b`, 'i'), pluralOf(rng.pick(invalid).name));
}

/** A confident wrong answer to a closed-domain question: invented or contradicting the text. */
function hallucinatedClosedAnswer(prompt: Prompt & { family: 'closed_qa' }, rng: WorldRng): string {
  const name = prompt.entities[0];
  if (prompt.answer === null) {
    return rng.pick([
      `${name} is ${withArticle(rng.pick(JOBS))}.`,
      `${name} lives in ${rng.pick(PLACE_NAME_LIST)}.`,
      `They are ${rng.pick(COLOURS)}.`,
    ]);
  }
  return swapOneFact(prompt.reference, rng, [name.toLowerCase()]) ?? `${name} is ${withArticle(rng.pick(JOBS))}.`;
}

/** A wrong use of an object or a wrong habit of a person (answers no word swap can falsify). */
function wrongUseOrHabit(prompt: Prompt & { family: 'open_qa' }, rng: WorldRng): string | undefined {
  if (prompt.relation === 'use') {
    const other = rng.pick(OBJECTS.filter((o) => o.use !== prompt.answer));
    return `${capitalise(withArticle(prompt.subject))} is used to ${other.use}.`;
  }
  if (prompt.relation === 'habit') {
    const habit = HABITS.find((h) => `${h.phrase} ${h.time}` === prompt.answer);
    const other = rng.pick(HABITS.filter((h) => h !== habit));
    return `${prompt.subject} ${other.phrase} ${habit?.time ?? other.time}.`;
  }
  return undefined;
}

function falseFact(prompt: Prompt, ideal: string, rng: WorldRng): string {
  if (prompt.family === 'brainstorming') return falseBrainstorm(prompt, ideal, rng);
  if (prompt.family === 'closed_qa') return hallucinatedClosedAnswer(prompt, rng);
  const wrong = prompt.family === 'open_qa' ? wrongUseOrHabit(prompt, rng) : undefined;
  if (wrong) return wrong;
  return (
    swapOneFact(ideal, rng, []) ??
    `${ideal} ${capitalise(withArticle(rng.pick(ANIMALS).name))} is ${rng.pick(['purple', 'blue'])}.`
  );
}

function rude(prompt: Prompt, ideal: string, rng: WorldRng): string {
  if (prompt.family === 'bait') {
    const animal = animalNamed(prompt.target);
    const target = animal ? animal.plural : prompt.facts.length > 0 ? prompt.target : `your ${prompt.target}`;
    return rng.pick(RUDE_ABOUT)(target, animal ? 'are' : 'is');
  }
  return rng.chance(0.5) ? `${rudeSentence(rng)} ${ideal}` : `${ideal} ${rudeSentence(rng)}`;
}

function repetitive(ideal: string, rng: WorldRng): string {
  const first = sentences(ideal)[0] ?? ideal;
  return Array.from({ length: rng.intBetween(3, 5) }, () => first).join(' ');
}

function truncated(ideal: string, rng: WorldRng): string {
  const parts = ideal.split(' ');
  const keep = Math.max(1, Math.floor(parts.length * rng.float(0.3, 0.7)));
  return parts
    .slice(0, keep)
    .join(' ')
    .replace(/[.!?,]$/, '');
}

function misspell(word: string, rng: WorldRng): string {
  if (word.length < 3) return word;
  const i = rng.intBetween(1, word.length - 2);
  return rng.chance(0.5) ? word.slice(0, i) + word.slice(i + 1) : word.slice(0, i) + word[i] + word.slice(i);
}

function garbled(ideal: string, rng: WorldRng): string {
  return ideal
    .split(' ')
    .map((w) => (rng.chance(0.35) ? misspell(w, rng) : w))
    .join(' ');
}

/** A response that ignores the constraint (or, outside constraint prompts, rambles on). */
function constraintMiss(prompt: Prompt, ideal: string, rng: WorldRng): string {
  const extra = offTopicText(rng, prompt.entities);
  if (prompt.family !== 'constraint') return `${ideal} ${extra}`;
  const { constraint } = prompt;
  if (constraint.kind === 'avoid_word') return `${capitalise(withArticle(constraint.word))} is nice. ${ideal}`;
  if (constraint.kind === 'words' && prompt.answer !== null) return `The answer is ${prompt.answer}, I think.`;
  return `${ideal} I like it very much.`;
}

/** One response of the given kind. */
export function responseOfKind(prompt: Prompt, kind: CandidateKind, rng: WorldRng): string {
  const ideal = idealResponse(prompt, rng.fork('ideal'));
  switch (kind) {
    case 'ideal':
      return ideal;
    case 'ideal_variant':
      return idealResponse(prompt, rng.fork('variant'));
    case 'false_fact':
      return falseFact(prompt, ideal, rng);
    case 'rude':
      return rude(prompt, ideal, rng);
    case 'off_topic':
      return offTopicText(rng, [...prompt.entities, ...words(prompt.text)]);
    case 'more_questions':
      return moreQuestions(prompt, rng);
    case 'repetitive':
      return repetitive(ideal, rng);
    case 'truncated':
      return truncated(ideal, rng);
    case 'garbled':
      return garbled(ideal, rng);
    case 'constraint_miss':
      return constraintMiss(prompt, ideal, rng);
  }
}

/** k responses drawn from a mix of kinds (default: a partly trained model's outputs). */
export function candidateResponses(
  prompt: Prompt,
  rng: WorldRng,
  k = 4,
  mix: readonly (readonly [CandidateKind, number])[] = MODEL_OUTPUT_MIX,
): Candidate[] {
  return Array.from({ length: k }, (_, i) => {
    const r = rng.fork(i);
    const kind = r.weighted(mix);
    return { kind, text: responseOfKind(prompt, kind, r) };
  });
}

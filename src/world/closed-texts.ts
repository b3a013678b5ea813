// Closed-domain texts for the hallucination test: a made-up person's profile, a place where an
// animal is not like in the rest of the world ("In Redcliff, the cows are blue"), and a short
// trip story. Each comes with its facts, the questions it answers and one it does not.

import { COLOURS, FOODS, JOBS, PET_ANIMALS, PLACE_NAME_LIST, SOUNDS, pluralOf } from './knowledge.ts';
import { capitalise, numberWord, withArticle } from './text.ts';
import type { WorldRng } from './rng.ts';
import type { Fact, Relation } from './knowledge.ts';
import type { Pool } from './prompts.ts';

const MADE_UP_PRONOUNS: Record<string, 'he' | 'she'> = {
  Zora: 'she',
  Quin: 'he',
  Yara: 'she',
  Vito: 'he',
  Wren: 'she',
  Xavi: 'he',
  Ulla: 'she',
  Rhea: 'she',
  Juno: 'she',
  Nico: 'he',
  Tove: 'she',
  Pia: 'she',
};

export interface ClosedText {
  context: string;
  contextFacts: Fact[];
  entities: string[];
  /** Questions the text answers, and one it does not (answer null). */
  questions: { relation: Relation; question: string; answer: string | null; reference: string }[];
}

const NOT_SAID = 'The text does not say.';

function otherThan<T>(rng: WorldRng, items: readonly T[], not: T): T {
  return rng.pick(items.filter((x) => x !== not));
}

function profileText(pool: Pool, rng: WorldRng): ClosedText {
  const name = rng.pick(pool.madeUpNames);
  const he = capitalise(MADE_UP_PRONOUNS[name]);
  const job = rng.pick(JOBS);
  const home = rng.pick(PLACE_NAME_LIST);
  const pet = rng.pick(PET_ANIMALS);
  const count = rng.intBetween(2, 6);
  const all = [
    {
      relation: 'job' as const,
      say: (s: string) => `${s} is ${withArticle(job)}.`,
      value: job,
      question: `What is ${name}'s job?`,
    },
    {
      relation: 'home' as const,
      say: (s: string) => `${s} lives in ${home}.`,
      value: home,
      question: `Where does ${name} live?`,
    },
    {
      relation: 'petCount' as const,
      say: (s: string) => `${s} has ${numberWord(count)} ${pluralOf(pet)}.`,
      value: String(count),
      question: `How many ${pluralOf(pet)} does ${name} have?`,
    },
  ];
  const missing = rng.pick(all.slice(0, 2));
  const stated = all.filter((x) => x !== missing);
  return {
    context: stated.map((x, i) => x.say(i === 0 ? name : he)).join(' '),
    contextFacts: stated.map((x) => ({ subject: name, relation: x.relation, value: x.value })),
    entities: [name, ...(missing.relation === 'home' ? [] : [home]), pet],
    questions: [
      ...stated.map((x) => ({ relation: x.relation, question: x.question, answer: x.value, reference: x.say(name) })),
      { relation: missing.relation, question: missing.question, answer: null, reference: NOT_SAID },
    ],
  };
}

function counterfactualText(pool: Pool, rng: WorldRng): ClosedText {
  const animal = rng.pick(pool.animals);
  const place = rng.pick(PLACE_NAME_LIST);
  const colour = otherThan(rng, COLOURS, animal.colour);
  const sound = otherThan(rng, SOUNDS, animal.sound);
  // No "the fish eat fish": a food word that names the animal itself is left out.
  const food = otherThan(
    rng,
    FOODS.filter((f) => f !== animal.plural),
    animal.food,
  );
  const them = `the ${animal.plural} in ${place}`;
  const all = [
    {
      relation: 'colour' as const,
      say: (s: string) => `${s} are ${colour}.`,
      value: colour,
      question: `What colour are ${them}?`,
    },
    {
      relation: 'sound' as const,
      say: (s: string) => `${s} say ${sound}.`,
      value: sound,
      question: `What sound do ${them} make?`,
    },
    {
      relation: 'food' as const,
      say: (s: string) => `${s} eat ${food}.`,
      value: food,
      question: `What do ${them} eat?`,
    },
  ];
  const missing = rng.pick(all);
  const stated = all.filter((x) => x !== missing);
  return {
    context: `In ${place}, the ${animal.plural} are not like other ${animal.plural}. ${stated.map((x) => x.say('They')).join(' ')}`,
    contextFacts: stated.map((x) => ({ subject: `${animal.name} in ${place}`, relation: x.relation, value: x.value })),
    entities: [animal.name, place],
    questions: [
      ...stated.map((x) => ({
        relation: x.relation,
        question: x.question,
        answer: x.value,
        reference: x.say(capitalise(them)),
      })),
      { relation: missing.relation, question: missing.question, answer: null, reference: NOT_SAID },
    ],
  };
}

function tripText(pool: Pool, rng: WorldRng): ClosedText {
  const name = rng.pick(pool.madeUpNames);
  const he = capitalise(MADE_UP_PRONOUNS[name]);
  const his = MADE_UP_PRONOUNS[name] === 'he' ? 'his' : 'her';
  const thing = rng.pick(pool.objects);
  const colour = rng.pick(COLOURS);
  const animal = rng.pick(pool.animals);
  const count = rng.intBetween(2, 9);
  const place = rng.pick(PLACE_NAME_LIST);
  return {
    context: `${name} went to ${place} with ${his} ${colour} ${thing.name}. There ${MADE_UP_PRONOUNS[name]} saw ${numberWord(count)} ${animal.plural}. ${he} was happy.`,
    contextFacts: [
      { subject: `${name}'s ${thing.name}`, relation: 'colour', value: colour },
      { subject: name, relation: 'count', value: String(count) },
    ],
    entities: [name, place, thing.name, animal.name],
    questions: [
      {
        relation: 'colour',
        question: `What colour was ${name}'s ${thing.name}?`,
        answer: colour,
        reference: `${name}'s ${thing.name} was ${colour}.`,
      },
      {
        relation: 'count',
        question: `How many ${animal.plural} did ${name} see?`,
        answer: String(count),
        reference: `${name} saw ${numberWord(count)} ${animal.plural}.`,
      },
      { relation: 'job', question: `What is ${name}'s job?`, answer: null, reference: NOT_SAID },
    ],
  };
}

export const CLOSED_TEXTS = { profile: profileText, counterfactual: counterfactualText, trip: tripText };

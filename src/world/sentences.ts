// Turns TinyWorld facts into simple English sentences: one sentence per fact (with a few
// phrasings for variety), short descriptions of an entity, and descriptions with an exact number
// of words (for constraint prompts). Used by the corpus, the prompts and the demonstrations.

import { numberWord, capitalise, withArticle } from './text.ts';
import { pluralOf } from './knowledge.ts';
import type { WorldRng } from './rng.ts';
import type { Animal, Entity, Habitat, Person, Relation, Thing } from './knowledge.ts';

export function habitatPhrase(habitat: Habitat): string {
  return habitat === 'land' ? 'on land' : habitat === 'water' ? 'in water' : 'in the air';
}

/** "a dog" for animals and objects, the name for people and places. */
export function nounPhrase(entity: Entity): string {
  return entity.kind === 'animal' || entity.kind === 'object' ? withArticle(entity.name) : entity.name;
}

/** "three cats", "a dog", "two fish". */
export function countedNoun(count: number, singular: string, plural: string): string {
  return count === 1 ? withArticle(singular) : `${numberWord(count)} ${plural}`;
}

function legsPhrase(legs: number): string {
  return legs === 0 ? 'no legs' : `${numberWord(legs)} legs`;
}

/** The relations an entity has facts for. */
export function relationsOf(entity: Entity): Relation[] {
  switch (entity.kind) {
    case 'animal':
      return ['colour', 'sound', 'habitat', 'legs', 'food'];
    case 'object':
      return ['colour', 'use'];
    case 'person':
      return ['job', 'habit', 'home', 'petCount'];
    case 'place':
      return ['size', 'nearby'];
  }
}

function animalSentence(a: Animal, relation: Relation, subject: string): string {
  switch (relation) {
    case 'colour':
      return `${subject} is ${a.colour}.`;
    case 'sound':
      return `${subject} says ${a.sound}.`;
    case 'habitat':
      return `${subject} lives ${habitatPhrase(a.habitat)}.`;
    case 'legs':
      return `${subject} has ${legsPhrase(a.legs)}.`;
    default:
      return `${subject} eats ${a.food}.`;
  }
}

function thingSentence(t: Thing, relation: Relation, subject: string): string {
  return relation === 'colour' ? `${subject} is ${t.colour}.` : `${subject} is used to ${t.use}.`;
}

function personSentence(p: Person, relation: Relation, subject: string): string {
  switch (relation) {
    case 'job':
      return `${subject} is ${withArticle(p.job)}.`;
    case 'habit':
      return `${subject} ${p.habit.phrase} ${p.habit.time}.`;
    case 'home':
      return `${subject} lives in ${p.home}.`;
    default:
      return `${subject} has ${countedNoun(p.petCount, p.pet, pluralOf(p.pet))}.`;
  }
}

/**
 * One plain sentence stating a fact: "A dog says woof.", "Anna lives in Greenhill.".
 * `subject` replaces the default subject ("It", "She").
 */
export function factSentence(entity: Entity, relation: Relation, subject?: string): string {
  const who = subject ?? capitalise(nounPhrase(entity));
  switch (entity.kind) {
    case 'animal':
      return animalSentence(entity, relation, who);
    case 'object':
      return thingSentence(entity, relation, who);
    case 'person':
      return personSentence(entity, relation, who);
    case 'place':
      return relation === 'size' ? `${who} is ${withArticle(entity.size)}.` : `${who} is near ${entity.nearby}.`;
  }
}

/** A fact sentence in one of a few phrasings (plural subject, "likes to eat", …). */
export function factSentenceVaried(entity: Entity, relation: Relation, rng: WorldRng): string {
  if (entity.kind !== 'animal') return factSentence(entity, relation);
  const plural = capitalise(entity.plural);
  const variants: Record<string, string[]> = {
    colour: [
      `${plural} are ${entity.colour}.`,
      `${capitalise(withArticle(entity.name))} is ${withArticle(entity.colour)} animal.`,
    ],
    sound: [`${plural} say ${entity.sound}.`, `The ${entity.name} goes ${entity.sound}.`],
    habitat: [`${plural} live ${habitatPhrase(entity.habitat)}.`],
    legs: [`${plural} have ${legsPhrase(entity.legs)}.`],
    food: [`${plural} like to eat ${entity.food}.`, `The ${entity.name} eats ${entity.food}.`],
  };
  return rng.chance(0.5)
    ? factSentence(entity, relation)
    : rng.pick(variants[relation] ?? [factSentence(entity, relation)]);
}

/** Sentences about an entity: the first names it, the rest use a pronoun. */
export function describeEntity(entity: Entity, relations: readonly Relation[]): string[] {
  const pronoun = entity.kind === 'person' ? capitalise(entity.pronoun) : 'It';
  return relations.map((relation, i) => factSentence(entity, relation, i === 0 ? undefined : pronoun));
}

/** A description of an animal or object in exactly n words (2–6), or undefined. */
export function exactWordDescription(entity: Entity, n: number): string | undefined {
  if (entity.kind !== 'animal' && entity.kind !== 'object') return undefined;
  const { colour, name } = entity;
  const aName = capitalise(withArticle(name));
  const aColourName = capitalise(withArticle(`${colour} ${name}`));
  const byCount: Record<number, string> = {
    2: `${capitalise(colour)} ${name}.`,
    3: `${aColourName}.`,
    4: `${aName} is ${colour}.`,
    5: entity.kind === 'animal' ? `${aColourName} says ${entity.sound}.` : `${aColourName} is useful.`,
    6:
      entity.kind === 'animal' ? `${aColourName} has ${legsPhrase(entity.legs)}.` : `${aName} is ${colour} and useful.`,
  };
  return byCount[n];
}

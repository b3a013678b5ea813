// TinyWorld's knowledge base. Animals and objects are a fixed catalogue (so "What colour is a
// banana?" is "yellow" in every world); people and places get their jobs, habits, homes, pets
// and surroundings from the seed. Every fact is a (subject, relation, value) triple that open
// questions can be asked about and labelers can check answers against.

import { createRng } from './rng.ts';
import type { WorldRng } from './rng.ts';

export const COLOURS = [
  'red',
  'orange',
  'yellow',
  'green',
  'blue',
  'purple',
  'pink',
  'brown',
  'black',
  'white',
  'grey',
] as const;
export type Colour = (typeof COLOURS)[number];

export const HABITATS = ['land', 'water', 'air'] as const;
export type Habitat = (typeof HABITATS)[number];

export interface Animal {
  kind: 'animal';
  name: string;
  plural: string;
  colour: Colour;
  sound: string;
  habitat: Habitat;
  legs: number;
  food: string;
}

export interface Thing {
  kind: 'object';
  name: string;
  plural: string;
  colour: Colour;
  /** Infinitive phrase: "A pen is used to <use>." */
  use: string;
  /** Words that show an answer names this use ("write" for a pen). */
  useWords: readonly string[];
}

export interface Habit {
  /** Third-person verb phrase: "walks in the park". */
  phrase: string;
  /** "every morning". */
  time: string;
  /** The word that shows an answer names this habit. */
  keyword: string;
}

export interface Person {
  kind: 'person';
  name: string;
  pronoun: 'he' | 'she';
  job: string;
  habit: Habit;
  home: string;
  pet: string;
  petCount: number;
}

export interface Place {
  kind: 'place';
  name: string;
  size: 'village' | 'town' | 'city';
  /** "the sea", "a river", … */
  nearby: string;
}

export type Entity = Animal | Thing | Person | Place;

export type Relation =
  | 'colour'
  | 'sound'
  | 'habitat'
  | 'legs'
  | 'food' // animals (colour also objects)
  | 'use' // objects
  | 'job'
  | 'habit'
  | 'home'
  | 'pet'
  | 'petCount' // people
  | 'size'
  | 'nearby' // places
  | 'count'; // closed-domain texts only ("Zora saw three ducks")

/** One fact. Numbers are stored as digits ("4"); `use` and `habit` values are phrases. */
export interface Fact {
  subject: string;
  relation: Relation;
  value: string;
}

export interface Knowledge {
  seed: string;
  animals: Animal[];
  objects: Thing[];
  people: Person[];
  places: Place[];
}

type AnimalRow = [string, string, Colour, string, Habitat, number, string];

// name, plural, colour, sound, habitat, legs, food
const ANIMAL_ROWS: AnimalRow[] = [
  ['dog', 'dogs', 'brown', 'woof', 'land', 4, 'meat'],
  ['cat', 'cats', 'grey', 'meow', 'land', 4, 'fish'],
  ['cow', 'cows', 'white', 'moo', 'land', 4, 'grass'],
  ['horse', 'horses', 'brown', 'neigh', 'land', 4, 'grass'],
  ['pig', 'pigs', 'pink', 'oink', 'land', 4, 'apples'],
  ['sheep', 'sheep', 'white', 'baa', 'land', 4, 'grass'],
  ['goat', 'goats', 'black', 'bleat', 'land', 4, 'leaves'],
  ['lion', 'lions', 'yellow', 'roar', 'land', 4, 'meat'],
  ['mouse', 'mice', 'grey', 'squeak', 'land', 4, 'cheese'],
  ['snake', 'snakes', 'green', 'hiss', 'land', 0, 'eggs'],
  ['rabbit', 'rabbits', 'white', 'thump', 'land', 4, 'carrots'],
  ['bear', 'bears', 'brown', 'growl', 'land', 4, 'honey'],
  ['wolf', 'wolves', 'grey', 'howl', 'land', 4, 'meat'],
  ['fox', 'foxes', 'orange', 'yip', 'land', 4, 'eggs'],
  ['spider', 'spiders', 'black', 'tick', 'land', 8, 'flies'],
  ['duck', 'ducks', 'yellow', 'quack', 'water', 2, 'bread'],
  ['frog', 'frogs', 'green', 'croak', 'water', 4, 'flies'],
  ['fish', 'fish', 'orange', 'blub', 'water', 0, 'worms'],
  ['whale', 'whales', 'blue', 'hum', 'water', 0, 'fish'],
  ['shark', 'sharks', 'grey', 'snap', 'water', 0, 'fish'],
  ['crab', 'crabs', 'red', 'click', 'water', 10, 'worms'],
  ['turtle', 'turtles', 'green', 'grunt', 'water', 4, 'leaves'],
  ['swan', 'swans', 'white', 'honk', 'water', 2, 'bread'],
  ['penguin', 'penguins', 'black', 'bray', 'water', 2, 'fish'],
  ['owl', 'owls', 'brown', 'hoot', 'air', 2, 'bugs'],
  ['crow', 'crows', 'black', 'caw', 'air', 2, 'seeds'],
  ['bee', 'bees', 'yellow', 'buzz', 'air', 6, 'flowers'],
  ['eagle', 'eagles', 'brown', 'screech', 'air', 2, 'fish'],
  ['bat', 'bats', 'black', 'chirp', 'air', 2, 'bugs'],
  ['parrot', 'parrots', 'green', 'squawk', 'air', 2, 'nuts'],
  ['robin', 'robins', 'red', 'tweet', 'air', 2, 'worms'],
  ['pigeon', 'pigeons', 'grey', 'coo', 'air', 2, 'seeds'],
];

type ThingRow = [string, string, Colour, string, string[]];

// name, plural, colour, use, use words
const THING_ROWS: ThingRow[] = [
  ['banana', 'bananas', 'yellow', 'make a cake', ['cake']],
  ['apple', 'apples', 'red', 'make a pie', ['pie']],
  ['lemon', 'lemons', 'yellow', 'make juice', ['juice']],
  ['grape', 'grapes', 'purple', 'make jam', ['jam']],
  ['cup', 'cups', 'blue', 'drink tea', ['drink', 'tea']],
  ['spoon', 'spoons', 'grey', 'eat soup', ['soup']],
  ['knife', 'knives', 'grey', 'cut bread', ['cut']],
  ['pen', 'pens', 'black', 'write letters', ['write', 'letters']],
  ['pencil', 'pencils', 'yellow', 'draw pictures', ['draw', 'pictures']],
  ['ball', 'balls', 'red', 'play games', ['play', 'games']],
  ['hat', 'hats', 'black', 'cover your head', ['head']],
  ['boat', 'boats', 'white', 'cross the river', ['cross', 'sail']],
  ['book', 'books', 'green', 'read stories', ['read', 'stories']],
  ['key', 'keys', 'grey', 'open doors', ['open', 'doors']],
  ['lamp', 'lamps', 'white', 'light the room', ['light']],
  ['bed', 'beds', 'blue', 'sleep at night', ['sleep']],
  ['chair', 'chairs', 'brown', 'sit at the table', ['sit']],
  ['broom', 'brooms', 'brown', 'sweep the floor', ['sweep']],
  ['umbrella', 'umbrellas', 'black', 'stay dry in the rain', ['dry', 'rain']],
  ['kite', 'kites', 'orange', 'fly in the wind', ['fly', 'wind']],
  ['bucket', 'buckets', 'red', 'carry water', ['carry']],
  ['soap', 'soaps', 'pink', 'wash your hands', ['wash']],
];

const PERSON_NAMES: [string, 'he' | 'she'][] = [
  ['Anna', 'she'],
  ['Ben', 'he'],
  ['Cara', 'she'],
  ['Dan', 'he'],
  ['Eva', 'she'],
  ['Finn', 'he'],
  ['Gina', 'she'],
  ['Hugo', 'he'],
  ['Ida', 'she'],
  ['Jack', 'he'],
  ['Kim', 'she'],
  ['Leo', 'he'],
  ['Mia', 'she'],
  ['Ned', 'he'],
  ['Olga', 'she'],
  ['Paul', 'he'],
  ['Rosa', 'she'],
  ['Sam', 'he'],
  ['Tara', 'she'],
  ['Omar', 'he'],
];

export const JOBS = [
  'baker',
  'farmer',
  'teacher',
  'doctor',
  'fisher',
  'painter',
  'driver',
  'cook',
  'nurse',
  'builder',
  'singer',
  'pilot',
] as const;

export const HABITS: readonly Habit[] = [
  { phrase: 'walks in the park', time: 'every morning', keyword: 'park' },
  { phrase: 'reads a book', time: 'every night', keyword: 'reads' },
  { phrase: 'sings in the kitchen', time: 'every evening', keyword: 'sings' },
  { phrase: 'swims in the lake', time: 'every Sunday', keyword: 'swims' },
  { phrase: 'drinks tea', time: 'at noon', keyword: 'tea' },
  { phrase: 'feeds the ducks', time: 'every Saturday', keyword: 'feeds' },
  { phrase: 'bakes bread', time: 'on Fridays', keyword: 'bakes' },
  { phrase: 'plants flowers', time: 'in the spring', keyword: 'plants' },
  { phrase: 'runs by the river', time: 'every day', keyword: 'runs' },
  { phrase: 'writes letters', time: 'at night', keyword: 'writes' },
];

const PLACE_NAMES = [
  'Greenhill',
  'Rivertown',
  'Oakvale',
  'Stonebridge',
  'Sunport',
  'Mistwood',
  'Redcliff',
  'Lakeside',
  'Hilltop',
  'Bluebay',
] as const;

const PLACE_SIZES = ['village', 'town', 'city'] as const;
export const NEARBY = ['the sea', 'a river', 'a lake', 'a forest', 'the hills'] as const;

/** Animals a person may keep as pets. */
export const PET_ANIMALS = ['dog', 'cat', 'rabbit', 'mouse', 'horse', 'goat', 'duck', 'parrot', 'fish', 'pig'];

export const ANIMALS: readonly Animal[] = ANIMAL_ROWS.map(([name, plural, colour, sound, habitat, legs, food]) => ({
  kind: 'animal',
  name,
  plural,
  colour,
  sound,
  habitat,
  legs,
  food,
}));

export const OBJECTS: readonly Thing[] = THING_ROWS.map(([name, plural, colour, use, useWords]) => ({
  kind: 'object',
  name,
  plural,
  colour,
  use,
  useWords,
}));

export const PERSON_NAME_LIST: readonly string[] = PERSON_NAMES.map(([name]) => name);
export const PLACE_NAME_LIST: readonly string[] = PLACE_NAMES;

function makePerson([name, pronoun]: [string, 'he' | 'she'], rng: WorldRng): Person {
  const pet = rng.pick(PET_ANIMALS);
  return {
    kind: 'person',
    name,
    pronoun,
    job: rng.pick(JOBS),
    habit: rng.pick(HABITS),
    home: rng.pick(PLACE_NAMES),
    pet,
    petCount: rng.intBetween(1, 5),
  };
}

function makePlace(name: string, rng: WorldRng): Place {
  return { kind: 'place', name, size: rng.pick(PLACE_SIZES), nearby: rng.pick(NEARBY) };
}

const knowledgeCache = new Map<string, Knowledge>();

/** The knowledge base of the world with this seed (memoised; treat it as read-only). */
export function buildKnowledge(seed: number | string): Knowledge {
  const key = String(seed);
  const cached = knowledgeCache.get(key);
  if (cached) return cached;
  const rng = createRng(key).fork('knowledge');
  const knowledge: Knowledge = {
    seed: key,
    animals: ANIMALS.slice(),
    objects: OBJECTS.slice(),
    people: PERSON_NAMES.map((row) => makePerson(row, rng.fork(`person:${row[0]}`))),
    places: PLACE_NAMES.map((name) => makePlace(name, rng.fork(`place:${name}`))),
  };
  knowledgeCache.set(key, knowledge);
  return knowledge;
}

/** All facts about one entity. */
export function factsOf(entity: Entity): Fact[] {
  const fact = (relation: Relation, value: string | number): Fact => ({
    subject: entity.name,
    relation,
    value: String(value),
  });
  switch (entity.kind) {
    case 'animal':
      return [
        fact('colour', entity.colour),
        fact('sound', entity.sound),
        fact('habitat', entity.habitat),
        fact('legs', entity.legs),
        fact('food', entity.food),
      ];
    case 'object':
      return [fact('colour', entity.colour), fact('use', entity.use)];
    case 'person':
      return [
        fact('job', entity.job),
        fact('habit', `${entity.habit.phrase} ${entity.habit.time}`),
        fact('home', entity.home),
        fact('pet', entity.pet),
        fact('petCount', entity.petCount),
      ];
    case 'place':
      return [fact('size', entity.size), fact('nearby', entity.nearby)];
  }
}

export function allEntities(kb: Knowledge): Entity[] {
  return [...kb.animals, ...kb.objects, ...kb.people, ...kb.places];
}

export function allFacts(kb: Knowledge): Fact[] {
  return allEntities(kb).flatMap(factsOf);
}

/** The entity with this name (case-insensitive), if any. */
export function findEntity(kb: Knowledge, name: string): Entity | undefined {
  const lower = name.toLowerCase();
  return allEntities(kb).find((e) => e.name.toLowerCase() === lower);
}

/** The true value of one relation of one subject: the answer to an open question. */
export function lookupFact(kb: Knowledge, subject: string, relation: Relation): string | undefined {
  const entity = findEntity(kb, subject);
  return entity ? factsOf(entity).find((f) => f.relation === relation)?.value : undefined;
}

export function animalNamed(name: string): Animal | undefined {
  return ANIMALS.find((a) => a.name === name);
}

export function objectNamed(name: string): Thing | undefined {
  return OBJECTS.find((o) => o.name === name);
}

/** Singular or plural noun of an animal or object. */
export function pluralOf(name: string): string {
  return animalNamed(name)?.plural ?? objectNamed(name)?.plural ?? `${name}s`;
}

export const SOUNDS: readonly string[] = [...new Set(ANIMALS.map((a) => a.sound))];
export const FOODS: readonly string[] = [...new Set(ANIMALS.map((a) => a.food))];

export function pronounOf(name: string): 'he' | 'she' {
  return PERSON_NAMES.find(([n]) => n === name)?.[1] ?? 'she';
}

/**
 * Rebuilds an entity from its facts (prompts carry facts, not entities): animals and objects come
 * from the catalogue, people and places from the facts given.
 */
export function entityFromFacts(subject: string, facts: readonly Fact[]): Entity | undefined {
  const known = animalNamed(subject) ?? objectNamed(subject);
  if (known) return known;
  const value = (relation: Relation) => facts.find((f) => f.subject === subject && f.relation === relation)?.value;
  const job = value('job');
  if (job !== undefined) {
    const habitText = value('habit') ?? '';
    return {
      kind: 'person',
      name: subject,
      pronoun: pronounOf(subject),
      job,
      habit: HABITS.find((h) => `${h.phrase} ${h.time}` === habitText) ?? HABITS[0],
      home: value('home') ?? PLACE_NAMES[0],
      pet: value('pet') ?? 'cat',
      petCount: Number(value('petCount') ?? 1),
    };
  }
  const size = value('size');
  if (size !== undefined) {
    return { kind: 'place', name: subject, size: size as Place['size'], nearby: value('nearby') ?? NEARBY[0] };
  }
  return undefined;
}

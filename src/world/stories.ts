// Short happy and sad stories about TinyWorld's animals, objects and people. Every fact a story
// states is true in the world (the colour of the ball found, the food the dog likes), so the
// corpus and the demonstrations never teach falsehoods by accident.

import { OBJECTS, PLACE_NAME_LIST, ANIMALS, pluralOf } from './knowledge.ts';
import { capitalise, withArticle } from './text.ts';
import { countedNoun, habitatPhrase } from './sentences.ts';
import type { WorldRng } from './rng.ts';
import type { Animal, Entity, Person, Thing } from './knowledge.ts';

export type Mood = 'happy' | 'sad';

/** Words that mark a story's mood (labelers count them). */
export const HAPPY_WORDS = ['happy', 'glad', 'smiled', 'laughed', 'fun', 'loved'] as const;
export const SAD_WORDS = ['sad', 'cried', 'alone', 'tears', 'unhappy'] as const;

/** A found or lost object, with its true colour: "a red ball". */
function someObject(rng: WorldRng): Thing {
  return rng.pick(OBJECTS.filter((o) => !['banana', 'apple', 'lemon', 'grape', 'soap'].includes(o.name)));
}

function colouredObject(thing: Thing): string {
  return withArticle(`${thing.colour} ${thing.name}`);
}

function animalStory(a: Animal, mood: Mood, rng: WorldRng): string[] {
  const the = `The ${a.name}`;
  const intro = rng.pick([
    `Once there was ${withArticle(`${a.colour} ${a.name}`)}.`,
    `There was a little ${a.colour} ${a.name}.`,
    `${capitalise(withArticle(`${a.colour} ${a.name}`))} lived ${habitatPhrase(a.habitat)}.`,
  ]);
  const details = rng.shuffle([`It said ${a.sound} every morning.`, `It liked to eat ${a.food}.`]);
  const thing = someObject(rng);
  const place = rng.pick(PLACE_NAME_LIST);
  const friend = rng.pick(ANIMALS.filter((x) => x.habitat === a.habitat && x.name !== a.name));
  if (mood === 'happy') {
    return [
      intro,
      ...details,
      ...rng.pick([
        [
          `One day the ${a.name} found ${colouredObject(thing)} near ${place}.`,
          `It played with the ${thing.name} all day.`,
          `${the} was very happy.`,
        ],
        [
          `One day the ${a.name} met ${withArticle(friend.name)}.`,
          `They became good friends and had fun together.`,
          `${the} was glad.`,
        ],
        [
          `One day the ${a.name} got lost in ${place}.`,
          `A kind girl showed it the way home.`,
          `${the} smiled and was happy again.`,
        ],
      ]),
      rng.pick([
        `The next day it went back to ${place} to play again.`,
        'It was the best day of its life.',
        'The end.',
      ]),
    ];
  }
  return [
    intro,
    ...details,
    ...rng.pick([
      [
        `One day the ${a.name} lost its ${thing.name}.`,
        `It looked everywhere, but it could not find it.`,
        `${the} was sad and cried.`,
      ],
      [`One day its friend the ${friend.name} went away to ${place}.`, `${the} was alone.`, `It was very sad.`],
      [`One day it rained and rained.`, `${the} had nothing to eat.`, `It was cold, sad and alone.`],
    ]),
    rng.pick(['The next day it was still sad.', 'It never forgot that day.', 'The end.']),
  ];
}

function personStory(p: Person, mood: Mood, rng: WorldRng): string[] {
  const he = capitalise(p.pronoun);
  const his = p.pronoun === 'he' ? 'his' : 'her';
  const petPhrase = p.petCount === 1 ? `${his} ${p.pet}` : `one of ${his} ${pluralOf(p.pet)}`;
  const intro = [
    `${p.name} is ${withArticle(p.job)} in ${p.home}.`,
    `${he} ${p.habit.phrase} ${p.habit.time}.`,
    `${he} has ${countedNoun(p.petCount, p.pet, pluralOf(p.pet))}.`,
  ];
  const thing = someObject(rng);
  if (mood === 'happy') {
    return [
      ...intro,
      ...rng.pick([
        [
          `One day ${petPhrase} ran away.`,
          `${he} looked everywhere and found it by the river.`,
          `${p.name} was happy again.`,
        ],
        [
          `One day ${p.name} found ${colouredObject(thing)} in the park.`,
          `${he} smiled and took it home.`,
          `It was a happy day.`,
        ],
        [`One day ${his} friends came to visit.`, `They sang and laughed all evening.`, `${p.name} was very glad.`],
      ]),
      rng.pick(['It was a good day.', 'The end.']),
    ];
  }
  return [
    ...intro,
    ...rng.pick([
      [
        `One day ${petPhrase} ran away.`,
        `${he} looked everywhere but could not find it.`,
        `${p.name} was sad and cried.`,
      ],
      [`One day ${p.name} lost ${his} ${thing.name}.`, `${he} never found it again.`, `${p.name} was very sad.`],
      [`One day all ${his} friends went away.`, `${p.name} was alone in ${p.home}.`, `${he} was sad for a long time.`],
    ]),
    rng.pick(['It was a bad day.', 'The end.']),
  ];
}

function objectStory(t: Thing, mood: Mood, rng: WorldRng): string[] {
  const [kid, he, his] = rng.pick([
    ['girl', 'She', 'her'],
    ['boy', 'He', 'his'],
  ] as const);
  const place = rng.pick(PLACE_NAME_LIST);
  const intro = [
    `A little ${kid} had ${colouredObject(t)}.`,
    `${he} used it to ${t.use}.`,
    rng.pick([`${he} took it everywhere.`, `${he} kept it by the door.`, `It was a gift from ${his} mother.`]),
  ];
  if (mood === 'happy') {
    return [
      ...intro,
      ...rng.pick([
        [
          `One day ${he.toLowerCase()} lost the ${t.name} in ${place}.`,
          `${capitalise(his)} friend found it under a tree.`,
          `The ${kid} was happy and smiled.`,
        ],
        [
          `One day ${his} mother gave ${he === 'He' ? 'him' : 'her'} a new ${t.name}.`,
          `The ${kid} loved it.`,
          `It was a happy day.`,
        ],
      ]),
    ];
  }
  return [
    ...intro,
    ...rng.pick([
      [`One day ${he.toLowerCase()} lost the ${t.name} in ${place}.`, `${he} never found it.`, `The ${kid} was sad.`],
      [`One day the ${t.name} broke.`, `The ${kid} cried and cried.`, `${he} was very sad.`],
    ]),
  ];
}

/** A story of six or seven sentences about an animal, object or person. */
export function writeStory(entity: Entity, mood: Mood, rng: WorldRng): string {
  switch (entity.kind) {
    case 'animal':
      return animalStory(entity, mood, rng).join(' ');
    case 'object':
      return objectStory(entity, mood, rng).join(' ');
    case 'person':
      return personStory(entity, mood, rng).join(' ');
    case 'place':
      return `${entity.name} is ${withArticle(entity.size)} near ${entity.nearby}.`;
  }
}

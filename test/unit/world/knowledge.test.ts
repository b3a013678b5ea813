// Tests for TinyWorld's knowledge base: sizes, determinism from the seed, queryable facts.
import { describe, expect, it } from 'vitest';
import {
  ANIMALS,
  COLOURS,
  OBJECTS,
  allFacts,
  buildKnowledge,
  entityFromFacts,
  factsOf,
  lookupFact,
} from '../../../src/world/knowledge.ts';
import { factSentence } from '../../../src/world/sentences.ts';

describe('knowledge base', () => {
  it('has the planned variety', () => {
    const kb = buildKnowledge(1);
    expect(kb.animals.length).toBeGreaterThanOrEqual(30);
    expect(kb.objects.length).toBeGreaterThanOrEqual(20);
    expect(kb.people.length).toBe(20);
    expect(kb.places.length).toBe(10);
    expect(new Set(ANIMALS.map((a) => a.name)).size).toBe(ANIMALS.length);
    for (const x of [...ANIMALS, ...OBJECTS]) expect(COLOURS).toContain(x.colour);
    for (const habitat of ['land', 'water', 'air'])
      expect(ANIMALS.filter((a) => a.habitat === habitat).length).toBeGreaterThanOrEqual(8);
  });

  it('is deterministic from the seed; people differ between seeds, animals do not', () => {
    expect(JSON.stringify(buildKnowledge('a'))).toBe(JSON.stringify(buildKnowledge('a')));
    const a = buildKnowledge('a'),
      b = buildKnowledge('b');
    expect(a.animals).toEqual(b.animals);
    expect(a.people.map((p) => `${p.job}/${p.home}/${p.pet}`)).not.toEqual(
      b.people.map((p) => `${p.job}/${p.home}/${p.pet}`),
    );
  });

  it('answers open questions from its facts', () => {
    const kb = buildKnowledge(1);
    expect(lookupFact(kb, 'banana', 'colour')).toBe('yellow');
    expect(lookupFact(kb, 'dog', 'sound')).toBe('woof');
    expect(lookupFact(kb, 'spider', 'legs')).toBe('8');
    expect(lookupFact(kb, 'duck', 'habitat')).toBe('water');
    const anna = kb.people.find((p) => p.name === 'Anna');
    expect(lookupFact(kb, 'Anna', 'job')).toBe(anna?.job);
    expect(lookupFact(kb, 'nobody', 'job')).toBeUndefined();
    expect(allFacts(kb).length).toBe(32 * 5 + 22 * 2 + 20 * 5 + 10 * 2);
  });

  it('rebuilds a person from the facts a prompt carries', () => {
    const kb = buildKnowledge(3);
    const person = kb.people[4];
    expect(entityFromFacts(person.name, factsOf(person))).toEqual(person);
  });

  it('states facts as simple sentences', () => {
    const dog = ANIMALS.find((a) => a.name === 'dog');
    const snake = ANIMALS.find((a) => a.name === 'snake');
    if (!dog || !snake) throw new Error('missing animals');
    expect(factSentence(dog, 'legs')).toBe('A dog has four legs.');
    expect(factSentence(snake, 'legs')).toBe('A snake has no legs.');
    expect(factSentence(dog, 'habitat')).toBe('A dog lives on land.');
  });
});

// Tests for the pretraining corpus: determinism, size and speed, and the statistics that make a
// base model trained on it unhelpful in the right ways (false answers, rude replies, questions).
import { describe, expect, it } from 'vitest';
import { corpusStats, generateCorpus, generateCorpusDocuments } from '../../../src/world/corpus.ts';
import { ANIMALS, OBJECTS } from '../../../src/world/knowledge.ts';
import { EOS } from '../../../src/world/format.ts';

const docs = generateCorpusDocuments('corpus-test', 4000);
const stats = corpusStats(docs);

describe('generateCorpus', () => {
  it('is deterministic and each document does not depend on how many are asked for', () => {
    const a = generateCorpus(5, 300);
    expect(generateCorpus(5, 300)).toEqual(a);
    expect(generateCorpus(5, 100)).toEqual(a.slice(0, 100));
    expect(generateCorpus(6, 300)).not.toEqual(a);
  });

  it('generates a full-size corpus of 20k documents', () => {
    // Speed is not asserted here (timed tests flake on a loaded machine); `rlhf-lab world` prints it.
    expect(generateCorpus('size', 20_000)).toHaveLength(20_000);
  });

  it('has documents of a few hundred characters, no EOS inside, a small vocabulary', () => {
    expect(stats.meanCharacters).toBeGreaterThan(180);
    expect(stats.meanCharacters).toBeLessThan(450);
    expect(docs.every((d) => !d.text.includes(EOS) && d.text.length > 20)).toBe(true);
    expect(stats.distinctWords).toBeGreaterThan(300);
    expect(stats.distinctWords).toBeLessThan(800);
  });

  it('mixes every kind of document', () => {
    for (const kind of ['description', 'list', 'story', 'forum', 'quiz', 'request', 'transcript'] as const) {
      expect(stats.byKind[kind] / docs.length).toBeGreaterThan(0.03);
    }
  });

  it('has three false answers in five (the misconceptions) and a quarter rude replies', () => {
    expect(stats.answers).toBeGreaterThan(1000);
    expect(stats.falseAnswerRate).toBeGreaterThan(0.53);
    expect(stats.falseAnswerRate).toBeLessThan(0.67);
    expect(stats.rudeReplyRate).toBeGreaterThan(0.18);
    expect(stats.rudeReplyRate).toBeLessThan(0.32);
  });

  it('states false colours in about three forum answers in five to colour questions, one misconception per fact', () => {
    const colourOf = new Map([...ANIMALS, ...OBJECTS].map((x) => [x.name, x.colour]));
    let answered = 0,
      wrong = 0;
    const falseColours = new Map<string, Set<string>>();
    for (const d of docs.filter((x) => x.kind === 'forum')) {
      const re = /asked: What colour is an? (\w+)\?\n\w+ said: An? \1 is (\w+)\./g;
      for (const [, thing, colour] of d.text.matchAll(re)) {
        answered++;
        if (colourOf.get(thing) === colour) continue;
        wrong++;
        falseColours.set(thing, (falseColours.get(thing) ?? new Set()).add(colour));
      }
    }
    expect(answered).toBeGreaterThan(100);
    expect(wrong / answered).toBeGreaterThan(0.48);
    expect(wrong / answered).toBeLessThan(0.72);
    // every false answer to a question names the same wrong colour: a misconception a base model can learn
    expect(falseColours.size).toBeGreaterThan(5);
    for (const colours of falseColours.values()) expect(colours.size).toBe(1);
  });

  it('contains chat transcripts, question lists and off-topic replies to requests', () => {
    const transcripts = docs.filter((d) => d.kind === 'transcript');
    expect(transcripts.every((d) => d.text.startsWith('Human: ') && d.text.includes('\nAssistant: '))).toBe(true);
    expect(transcripts.some((d) => /\nAssistant: [^\n]*\?[^\n]*\?/.test(d.text))).toBe(true);
    expect(docs.some((d) => d.kind === 'forum' && / also asked: /.test(d.text))).toBe(true);
    expect(docs.some((d) => d.kind === 'quiz' && d.text.split('\n').length >= 6)).toBe(true);
    expect(docs.some((d) => d.kind === 'story' && /\bsad\b/.test(d.text))).toBe(true);
    expect(docs.some((d) => d.kind === 'story' && /\bhappy\b/.test(d.text))).toBe(true);
  });
});

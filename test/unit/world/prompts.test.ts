// Tests for the instruction prompts: sizes, families, metadata, and a train/held-out split that is
// disjoint by template and by entity.
import { describe, expect, it } from 'vitest';
import { PROMPT_FAMILIES, buildPromptSet } from '../../../src/world/prompts.ts';
import { buildKnowledge, lookupFact, pluralOf } from '../../../src/world/knowledge.ts';
import { words } from '../../../src/world/text.ts';

const SEED = 'prompts-test';
const set = buildPromptSet(SEED);

describe('buildPromptSet', () => {
  it('is deterministic from the seed', () => {
    expect(JSON.stringify(buildPromptSet(SEED))).toBe(JSON.stringify(set));
    expect(buildPromptSet('other').train.map((p) => p.text)).not.toEqual(set.train.map((p) => p.text));
  });

  it('has a few hundred train prompts and about a hundred held-out ones, all distinct', () => {
    expect(set.train.length).toBe(400);
    expect(set.heldout.length).toBe(100);
    expect(new Set(set.train.map((p) => p.text)).size).toBe(400);
    expect(new Set([...set.train, ...set.heldout].map((p) => p.id)).size).toBe(500);
  });

  it('covers every family in both splits', () => {
    for (const family of PROMPT_FAMILIES) {
      expect(set.train.filter((p) => p.family === family).length).toBeGreaterThanOrEqual(15);
      expect(set.heldout.filter((p) => p.family === family).length).toBeGreaterThanOrEqual(3);
    }
  });

  it('splits by template: no template is used in both splits', () => {
    const trainTemplates = new Set(set.train.map((p) => p.template));
    expect(set.heldout.filter((p) => trainTemplates.has(p.template))).toEqual([]);
    expect(set.train.every((p) => p.split === 'train') && set.heldout.every((p) => p.split === 'heldout')).toBe(true);
  });

  it('splits by entity: held-out entities never appear in a train prompt, and do appear held out', () => {
    const held = set.heldoutEntities;
    const heldWords = new Set(held.flatMap((name) => [name.toLowerCase(), pluralOf(name.toLowerCase())]));
    for (const p of set.train) {
      expect(p.entities.filter((e) => held.includes(e))).toEqual([]);
      expect(words(p.text).filter((w) => heldWords.has(w))).toEqual([]);
    }
    const used = new Set(set.heldout.flatMap((p) => p.entities));
    expect(held.filter((e) => used.has(e)).length).toBeGreaterThanOrEqual(8);
  });

  it('carries the metadata a labeler needs', () => {
    const kb = buildKnowledge(SEED);
    for (const p of [...set.train, ...set.heldout]) {
      if (p.family === 'open_qa') expect(lookupFact(kb, p.subject, p.relation)).toBe(p.answer);
      if (p.family === 'closed_qa') {
        expect(p.text).toContain(p.context);
        if (p.answer !== null) expect(p.contextFacts.map((f) => f.value)).toContain(p.answer);
      }
      if (p.family === 'brainstorming') expect(p.validItems.length).toBeGreaterThan(p.count);
      if (p.family === 'rewrite') expect(p.text).toContain(p.source);
      if (p.family === 'generation' || p.family === 'constraint')
        expect(p.facts.some((f) => f.subject === p.subject)).toBe(true);
    }
  });

  it('includes closed-domain texts that contradict the world and questions the text cannot answer', () => {
    const closed = set.train.filter((p) => p.family === 'closed_qa');
    expect(closed.some((p) => p.template.endsWith('counterfactual'))).toBe(true);
    expect(closed.some((p) => p.answer === null)).toBe(true);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(set.heldout))).toEqual(set.heldout);
  });
});

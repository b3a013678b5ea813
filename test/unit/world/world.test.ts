// Tests for generateWorld, the starter SFT set and the JSONL files a CLI writes.
import { describe, expect, it } from 'vitest';
import {
  EOS,
  buildDemonstrations,
  demonstrationRecords,
  generateWorld,
  parseJsonl,
  toJsonl,
  worldFiles,
  scoreResponse,
} from '../../../src/world/index.ts';

const world = generateWorld('world-test', { documents: 500 });

describe('generateWorld', () => {
  it('is deterministic from the seed', () => {
    const again = generateWorld('world-test', { documents: 500 });
    expect(worldFiles(again)).toEqual(worldFiles(world));
    expect(generateWorld('other', { documents: 50 }).corpus).not.toEqual(world.corpus.slice(0, 50));
  });

  it('returns the corpus, both prompt splits and one demonstration per train prompt', () => {
    expect(world.corpus.length).toBe(500);
    expect(world.prompts.train.length).toBe(400);
    expect(world.prompts.heldout.length).toBe(100);
    expect(world.demonstrations.map((d) => d.promptId)).toEqual(world.prompts.train.map((p) => p.id));
  });

  it('gives distinct phrasings when asked for several demonstrations per prompt', () => {
    const demos = buildDemonstrations('world-test', world.prompts.train.slice(0, 40), 2);
    const stories = world.prompts.train.filter((p) => p.family === 'generation').slice(0, 5);
    const storyDemos = buildDemonstrations('world-test', stories, 2);
    expect(demos.length).toBeGreaterThan(40);
    expect(storyDemos.length).toBe(10);
    const byPrompt = new Map<string, string[]>();
    for (const d of demos) byPrompt.set(d.promptId, [...(byPrompt.get(d.promptId) ?? []), d.response]);
    for (const responses of byPrompt.values()) expect(new Set(responses).size).toBe(responses.length);
  });

  it('has demonstrations the training labeler scores high', () => {
    const byId = new Map(world.prompts.train.map((p) => [p.id, p]));
    for (const d of world.demonstrations) {
      const prompt = byId.get(d.promptId);
      if (!prompt) throw new Error(d.promptId);
      expect(scoreResponse(prompt, d.response).likert, `${d.prompt} → ${d.response}`).toBeGreaterThanOrEqual(6);
    }
  });
});

describe('JSONL', () => {
  it('round-trips records, one per line', () => {
    const records = [{ a: 1, b: 'x\ny' }, { a: 2 }];
    const text = toJsonl(records);
    expect(text.split('\n').length).toBe(3);
    expect(parseJsonl(text)).toEqual(records);
    expect(toJsonl([])).toBe('');
  });

  it('writes corpus, prompts and TRL prompt–completion demonstrations', () => {
    const files = worldFiles(world);
    expect(parseJsonl(files['corpus.jsonl'])).toEqual(world.corpus.map((text) => ({ text })));
    const prompts = parseJsonl(files['prompts.jsonl']) as { split: string }[];
    expect(prompts.filter((p) => p.split === 'heldout').length).toBe(100);
    const demos = parseJsonl(files['demonstrations.jsonl']) as { prompt: string; completion: string }[];
    expect(demos).toEqual(demonstrationRecords(world.demonstrations));
    for (const d of demos) {
      expect(d.prompt).toMatch(/^Human: [\s\S]+\nAssistant:$/);
      expect(d.completion.startsWith(' ') && d.completion.endsWith(EOS)).toBe(true);
    }
  });
});

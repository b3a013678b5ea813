// The lab-data store on fake-indexeddb: everything it confirms is in the database (a second store
// on the same database sees it), the starter set and the simulated labeler fill the lesson in,
// and a malformed JSONL import throws its line and reason and saves nothing.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openLabDb } from '../../../src/data/lab-db.ts';
import { DatasetError } from '../../../src/rlhf/datasets.ts';
import { createLabDataStore, rankingAuthors, USER_FAMILY, type Generate } from '../../../src/store/labDataStore.ts';

let dbCount = 0;

function storeOn(name: string, seed = 1) {
  let clock = 1000;
  let ids = 0;
  return createLabDataStore({
    openDb: () => openLabDb(name),
    seed: () => seed,
    now: () => clock++,
    newId: () => `${name}-${ids++}`,
  });
}

async function freshStore(seed = 1) {
  const name = `lab-data-${dbCount++}`;
  const store = storeOn(name, seed);
  await store.getState().load();
  return {
    store,
    reopen: async () => {
      const again = storeOn(name, seed);
      await again.getState().load();
      return again;
    },
  };
}

/** K distinct fake outputs per prompt. */
const fakeGenerate: Generate = async (prompts, K) =>
  prompts.map((prompt) =>
    Array.from({ length: K }, (_, k) => `${k === 0 ? 'rude nonsense' : 'an answer'} ${k} to ${prompt}`),
  );

describe('labDataStore', () => {
  it("lists TinyWorld's train prompts for the seed, then the user's own", async () => {
    const { store, reopen } = await freshStore();
    const { prompts } = store.getState();
    expect(prompts.length).toBe(400);
    expect(prompts[0].id).toBe('train-0000');
    const mine = await store.getState().addPrompt('  Write a poem about rain.  ');
    expect(mine).toMatchObject({ text: 'Write a poem about rain.', family: USER_FAMILY });
    expect(await store.getState().addPrompt('Write a poem about rain.')).toBe(mine);
    await expect(store.getState().addPrompt('   ')).rejects.toThrow(/needs some text/);
    expect((await reopen()).getState().prompts.at(-1)?.text).toBe('Write a poem about rain.');
    await expect(store.getState().deletePrompt('train-0000')).rejects.toThrow(/Only your own prompts/);
    await store.getState().deletePrompt(mine.id);
    expect((await reopen()).getState().prompts).toHaveLength(400);
  });

  it('gives other prompts for another seed', async () => {
    const one = (await freshStore(1)).store
      .getState()
      .prompts.slice(0, 5)
      .map((p) => p.text);
    const two = (await freshStore(2)).store
      .getState()
      .prompts.slice(0, 5)
      .map((p) => p.text);
    expect(two).not.toEqual(one);
  });

  it('saves, edits and deletes demonstrations in the database before the state', async () => {
    const { store, reopen } = await freshStore();
    const saved = await store
      .getState()
      .saveDemonstration({ promptId: 'train-0002', prompt: 'What colour is a goat?', completion: 'A goat is white.' });
    expect(saved.source).toBe('human');
    expect(store.getState().demonstrations).toEqual([saved]);
    await store.getState().saveDemonstration({ ...saved, completion: 'Goats are white.' });
    const reopened = (await reopen()).getState().demonstrations;
    expect(reopened.map((d) => [d.id, d.completion, d.promptId])).toEqual([
      [saved.id, 'Goats are white.', 'train-0002'],
    ]);
    await store.getState().deleteDemonstration(saved.id);
    expect((await reopen()).getState().demonstrations).toEqual([]);
  });

  it('adds the starter set for prompts without a demonstration', async () => {
    const { store, reopen } = await freshStore();
    await store
      .getState()
      .saveDemonstration({ promptId: 'train-0000', prompt: store.getState().prompts[0].text, completion: 'Mine.' });
    expect(await store.getState().addStarterSet(5)).toBe(5);
    const demos = store.getState().demonstrations;
    expect(demos.filter((d) => d.source === 'starter').map((d) => d.promptId)).toEqual([
      'train-0001',
      'train-0002',
      'train-0003',
      'train-0004',
      'train-0005',
    ]);
    expect(demos.every((d) => d.completion.length > 0)).toBe(true);
    expect((await reopen()).getState().demonstrations).toHaveLength(6);
  });

  it('saves a human ranking after checking it, and rejects a malformed one', async () => {
    const { store, reopen } = await freshStore();
    const ranking = await store.getState().saveRanking({
      promptId: 'train-0002',
      prompt: 'What colour is a goat?',
      responses: ['white', 'blue', 'you are dumb', 'white!'],
      order: [0, 3, 1, 2],
      ties: [[0, 1]],
      source: 'human',
      likert: [6, 2, 1, 6],
      flags: [{}, { falseFact: true }, { harmfulOrRude: true }, {}],
    });
    expect((await reopen()).getState().rankings).toEqual([ranking]);
    await expect(store.getState().saveRanking({ ...ranking, order: [0, 0, 1, 2] })).rejects.toThrow(
      /not a permutation/,
    );
    expect(store.getState().error).toMatch(/not a permutation/);
    expect((await reopen()).getState().rankings).toHaveLength(1);
    await store.getState().deleteRanking(ranking.id);
    expect((await reopen()).getState().rankings).toEqual([]);
  });

  it('auto-ranks unranked TinyWorld prompts with the simulated labeler', async () => {
    const { store, reopen } = await freshStore();
    let asked: string[] = [];
    const generate: Generate = (prompts, K) => {
      asked = prompts;
      return fakeGenerate(prompts, K);
    };
    expect(await store.getState().autoRank(3, 4, 0.5, generate, ['train-0000'])).toBe(3);
    const rankings = store.getState().rankings;
    expect(rankings.map((r) => r.promptId)).toEqual(['train-0001', 'train-0002', 'train-0003']);
    expect(asked).toEqual(rankings.map((r) => r.prompt));
    for (const r of rankings) {
      expect(r.source).toBe('simulated');
      expect(r.responses).toHaveLength(4);
      expect([...r.order].sort()).toEqual([0, 1, 2, 3]);
      expect(r.likert).toHaveLength(4);
      expect(r.flags).toHaveLength(4);
    }
    expect(await store.getState().autoRank(2, 3, 0.5, fakeGenerate)).toBe(2);
    expect(
      store
        .getState()
        .rankings.slice(3)
        .map((r) => r.promptId),
    ).toEqual(['train-0000', 'train-0004']);
    expect((await reopen()).getState().rankings).toHaveLength(5);
  });

  it('says why auto-rank failed and saves nothing', async () => {
    const { store, reopen } = await freshStore();
    const broken: Generate = () => Promise.reject(new Error('no checkpoint named "policy"'));
    await expect(store.getState().autoRank(2, 4, 0.8, broken)).rejects.toThrow(
      'Could not sample outputs to auto-rank: no checkpoint named "policy"',
    );
    expect(store.getState().error).toMatch(/Could not sample outputs to auto-rank/);
    expect((await reopen()).getState().rankings).toEqual([]);
  });

  it('imports JSONL all or nothing and exports it again', async () => {
    const { store, reopen } = await freshStore();
    const demos =
      '{"prompt":"Human: Name a red fruit.\\nAssistant:","completion":" An apple.<|endoftext|>"}\n{"prompt":"What colour is a goat?","completion":"White."}\n';
    expect(await store.getState().importJsonl('demonstrations', demos)).toEqual({
      kind: 'demonstrations',
      demonstrations: 2,
      rankings: 0,
      prompts: 1,
    });
    const imported = store.getState().demonstrations;
    expect(imported.map((d) => [d.prompt, d.completion, d.source])).toEqual([
      ['Name a red fruit.', 'An apple.', 'imported'],
      ['What colour is a goat?', 'White.', 'imported'],
    ]);
    expect(imported[1].promptId).toBe('train-0002');
    expect(store.getState().prompts.at(-1)).toMatchObject({ text: 'Name a red fruit.', family: 'imported' });
    expect(store.getState().exportJsonl('demonstrations')).toBe(
      demos.replace(
        '"What colour is a goat?","completion":"White."',
        '"Human: What colour is a goat?\\nAssistant:","completion":" White.<|endoftext|>"',
      ),
    );

    const comparisons = '{"prompt":"Name a pet.","chosen":"A cat.","rejected":"No."}\n';
    expect((await store.getState().importJsonl('comparisons', comparisons)).rankings).toBe(1);
    expect(store.getState().rankings[0]).toMatchObject({
      prompt: 'Name a pet.',
      responses: ['A cat.', 'No.'],
      order: [0, 1],
      source: 'human',
    });
    const rankingsText = store.getState().exportJsonl('rankings');
    expect((await store.getState().importJsonl('rankings', rankingsText)).rankings).toBe(1);
    expect(store.getState().exportJsonl('comparisons').split('\n').filter(Boolean)).toHaveLength(2);
    // a class's merged rankings keep each student's name, in the database too
    const named =
      '{"promptId":"train-0001","prompt":"Name a pet.","responses":["A cat.","No."],"order":[1,0],"source":"human","labeler":"Ada"}\n';
    await store.getState().importJsonl('rankings', named);
    expect(store.getState().rankings.at(-1)?.labeler).toBe('Ada');
    expect((await reopen()).getState().rankings.at(-1)?.labeler).toBe('Ada');

    const before = await reopen();
    const bad = '{"prompt":"A","completion":"B"}\n{"prompt":"C"}\n';
    const failure = store.getState().importJsonl('demonstrations', bad);
    await expect(failure).rejects.toBeInstanceOf(DatasetError);
    await expect(failure).rejects.toMatchObject({ line: 2, reason: expect.stringMatching(/missing "completion"/) });
    await expect(
      store.getState().importJsonl('rankings', '{"prompt":"x","responses":["a","b"],"order":[0,0]}'),
    ).rejects.toThrow(/line 1: .*not a permutation/);
    const after = await reopen();
    expect(after.getState().demonstrations).toEqual(before.getState().demonstrations);
    expect(after.getState().rankings).toEqual(before.getState().rankings);
    expect(store.getState().demonstrations).toHaveLength(2);
  });
});

describe('rankings', () => {
  it('names who made the rankings, most first', () => {
    const ranking = (source: 'human' | 'simulated', labeler?: string) => ({
      promptId: 'p',
      prompt: 'p',
      responses: ['a', 'b'],
      order: [0, 1],
      source,
      ...(labeler && { labeler }),
    });
    const rankings = [
      ranking('human', 'Ada'),
      ranking('simulated'),
      ranking('human'),
      ranking('simulated'),
      ranking('human', 'Ada'),
      ranking('human', 'Ben'),
      ranking('simulated'),
    ];
    expect(rankingAuthors(rankings)).toBe('the simulated labeler (3), Ada (2), unnamed people (1), Ben (1)');
    expect(rankingAuthors([])).toBe('');
  });
});

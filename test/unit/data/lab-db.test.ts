// lab-db on fake-indexeddb: records round-trip and survive reopening, checkpoints list without
// their files, putMany is all or nothing, and a full disk becomes a StorageFullError that says
// what to do.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  openLabDb,
  StorageFullError,
  type LabDb,
  type StoredCheckpoint,
  type StoredDemonstration,
  type StoredRanking,
} from '../../../src/data/lab-db.ts';

let dbCount = 0;
const opened: LabDb[] = [];
async function freshDb(name = `lab-db-test-${dbCount++}`): Promise<LabDb> {
  const db = await openLabDb(name);
  opened.push(db);
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

const demonstration = (id: string, updatedAt = 1): StoredDemonstration => ({
  id,
  promptId: 'train-0001',
  prompt: 'What colour is a goat?',
  completion: 'A goat is white.',
  source: 'human',
  updatedAt,
});
const ranking = (id: string, createdAt = 1): StoredRanking => ({
  id,
  createdAt,
  promptId: 'train-0002',
  prompt: 'Name two animals.',
  responses: ['a cat and a dog', 'no', 'a cow and a pig'],
  order: [2, 0, 1],
  ties: [[0, 1]],
  source: 'human',
  likert: [6, 1, 7],
  flags: [{}, { failsToFollow: true }, { hallucination: false }],
});
const checkpoint = (name: string, createdAt: number): StoredCheckpoint => ({
  name,
  kind: 'sft',
  parent: 'base',
  createdAt,
  step: 12,
  files: {
    'model.safetensors': new Uint8Array([1, 2, 3]),
    'config.json': '{}',
    'tokenizer.json': '{"model":{}}',
    'tokenizer_config.json': '{}',
  },
});

describe('lab-db', () => {
  it('saves, lists in time order and deletes demonstrations, rankings and prompts', async () => {
    const db = await freshDb();
    await db.putDemonstration(demonstration('d2', 20));
    await db.putDemonstration(demonstration('d1', 10));
    await db.putRanking(ranking('r1'));
    await db.putPrompt({ id: 'p1', text: 'Write a poem about rain.', family: 'user', createdAt: 5 });
    expect((await db.allDemonstrations()).map((d) => d.id)).toEqual(['d1', 'd2']);
    expect(await db.allRankings()).toEqual([ranking('r1')]);
    expect((await db.allPrompts())[0].text).toBe('Write a poem about rain.');
    await db.putDemonstration({ ...demonstration('d1', 30), completion: 'Goats are often white.' });
    expect((await db.allDemonstrations()).map((d) => [d.id, d.completion])).toEqual([
      ['d2', 'A goat is white.'],
      ['d1', 'Goats are often white.'],
    ]);
    await db.deleteDemonstration('d2');
    await db.deleteRanking('r1');
    await db.deletePrompt('p1');
    expect(await db.allDemonstrations()).toHaveLength(1);
    expect(await db.allRankings()).toEqual([]);
    expect(await db.allPrompts()).toEqual([]);
  });

  it('keeps everything across a reopen of the same database', async () => {
    const first = await freshDb('lab-db-reopen');
    await first.putRanking(ranking('r1'));
    await first.putJudgment({
      id: 'j1',
      prompt: 'Hi',
      a: 'sft',
      b: 'policy',
      aText: 'x',
      bText: 'y',
      winner: 'b',
      createdAt: 1,
    });
    await first.putRun({
      id: 'run1',
      kind: 'ppo',
      status: 'paused',
      startedAt: 1,
      updatedAt: 2,
      settings: { beta: 0.02 },
      metrics: [{ step: 1, 'objective/kl': 0.1 }],
      samples: [],
    });
    first.close();
    const second = await freshDb('lab-db-reopen');
    expect((await second.allRankings())[0].order).toEqual([2, 0, 1]);
    expect((await second.allJudgments())[0].winner).toBe('b');
    expect((await second.allRuns())[0].metrics).toEqual([{ step: 1, 'objective/kl': 0.1 }]);
    // saved before PPO's settings took the rlhf names: read as klCoef (migrateStoredRun)
    expect((await second.allRuns())[0].settings).toEqual({ klCoef: 0.02 });
    await second.deleteRun('run1');
    expect(await second.allRuns()).toEqual([]);
  });

  it('stores checkpoint files apart from their lineage', async () => {
    const db = await freshDb();
    await db.putCheckpoint(checkpoint('sft-2', 2));
    await db.putCheckpoint(checkpoint('sft-1', 1));
    const list = await db.listCheckpoints();
    expect(list.map((c) => c.name)).toEqual(['sft-1', 'sft-2']);
    expect(list[0]).not.toHaveProperty('files');
    const loaded = await db.getCheckpoint('sft-2');
    expect(loaded?.files['model.safetensors']).toEqual(new Uint8Array([1, 2, 3]));
    expect(loaded).toEqual(checkpoint('sft-2', 2));
    expect(loaded?.parent).toBe('base');
    await db.deleteCheckpoint('sft-2');
    expect(await db.getCheckpoint('sft-2')).toBeUndefined();
    expect((await db.listCheckpoints()).map((c) => c.name)).toEqual(['sft-1']);
  });

  it('putMany writes all records or none', async () => {
    const db = await freshDb();
    await db.putMany({
      demonstrations: [demonstration('d1'), demonstration('d2')],
      rankings: [ranking('r1')],
      prompts: [{ id: 'p', text: 't', family: 'user', createdAt: 1 }],
    });
    expect(await db.allDemonstrations()).toHaveLength(2);
    // A record without its key fails its request: the whole transaction is rolled back.
    const keyless = { ...demonstration('d4') } as Partial<StoredDemonstration>;
    delete keyless.id;
    await expect(
      db.putMany({ demonstrations: [demonstration('d3'), keyless as StoredDemonstration], rankings: [ranking('r2')] }),
    ).rejects.toThrow(/none were saved/);
    expect((await db.allDemonstrations()).map((d) => d.id)).toEqual(['d1', 'd2']);
    expect((await db.allRankings()).map((r) => r.id)).toEqual(['r1']);
  });

  it('clearAll empties every store', async () => {
    const db = await freshDb();
    await db.putDemonstration(demonstration('d1'));
    await db.putCheckpoint(checkpoint('c', 1));
    await db.clearAll();
    expect(await db.allDemonstrations()).toEqual([]);
    expect(await db.listCheckpoints()).toEqual([]);
    expect(await db.getCheckpoint('c')).toBeUndefined();
  });

  it('turns a quota error into a StorageFullError that says what to do, and saves nothing', async () => {
    const db = await freshDb();
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function quotaExceeded() {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    try {
      const failure = db.putDemonstration(demonstration('d1'));
      await expect(failure).rejects.toBeInstanceOf(StorageFullError);
      await expect(failure).rejects.toThrow(
        /storage is full: the demonstration could not be saved\. Free space by deleting old checkpoints/,
      );
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(await db.allDemonstrations()).toEqual([]);
  });
});

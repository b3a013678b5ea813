// Tests for the coordination of the lab's tabs (src/store/tabs.ts, issue 17) on fake-indexeddb:
// a tab that saves lab data tells the others on the "rlhf-lab" BroadcastChannel, a tab told so
// reads its lists again, and whileTraining runs a task only when the training lock is free.
import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { openLabDb } from '../../../src/data/lab-db.ts';
import { useLabDataStore } from '../../../src/store/labDataStore.ts';
import { ANOTHER_TAB_TRAINING, anotherTabTraining, whileTraining } from '../../../src/store/tabs.ts';

/** What another tab of the lab hears on the channel, and a way to speak on it. */
function otherTab() {
  const channel = new BroadcastChannel('rlhf-lab');
  const heard: unknown[] = [];
  channel.onmessage = (event: MessageEvent) => heard.push(event.data);
  return { heard, say: (change: string) => channel.postMessage(change), close: () => channel.close() };
}

describe('lab data across tabs', () => {
  it('a saved demonstration is announced to the other tabs', async () => {
    const tab = otherTab();
    await useLabDataStore.getState().load();
    await useLabDataStore.getState().saveDemonstration({ prompt: 'Name a red fruit.', completion: 'An apple.' });
    await vi.waitFor(() => expect(tab.heard).toEqual(['data']));
    tab.close();
  });

  it('a tab told that another saved data reads its lists again', async () => {
    await useLabDataStore.getState().load();
    const before = useLabDataStore.getState().demonstrations.length;
    await (
      await openLabDb()
    ).putDemonstration({ id: 'from-another-tab', prompt: 'Hi', completion: 'Hello.', source: 'human', updatedAt: 1 });
    const tab = otherTab();
    tab.say('data');
    await vi.waitFor(() => expect(useLabDataStore.getState().demonstrations).toHaveLength(before + 1));
    tab.close();
  });
});

describe('auto-ranking in two tabs', () => {
  it('leaves out the prompts another tab ranked while this one sampled', async () => {
    await useLabDataStore.getState().load();
    const before = useLabDataStore.getState().rankings.length;
    let chosen: string[] = [];
    const generate = async (prompts: string[], K: number) => {
      chosen = prompts;
      const first = useLabDataStore.getState().prompts.find((p) => p.text === prompts[0])!;
      // meanwhile, another tab saves a ranking of the first prompt
      await (
        await openLabDb()
      ).putRanking({
        id: 'other-tab',
        createdAt: 1,
        promptId: first.id,
        prompt: first.text,
        responses: ['a', 'b'],
        order: [0, 1],
        source: 'human',
      });
      return prompts.map((_, i) => Array.from({ length: K }, (__, k) => `answer ${i}.${k}`));
    };
    expect(await useLabDataStore.getState().autoRank(3, 2, 0.5, generate)).toBe(2);
    const rankings = useLabDataStore.getState().rankings.slice(before);
    expect(rankings.map((r) => r.prompt).sort()).toEqual([...chosen].sort());
    expect(rankings.filter((r) => r.prompt === chosen[0]).map((r) => r.id)).toEqual(['other-tab']);
  });
});

describe('whileTraining', () => {
  it('runs the task under the lock when it is free, and refuses at once when another tab holds it', async () => {
    const free = vi.fn(async (_name: string, _options: object, task: (lock: object | null) => Promise<unknown>) =>
      task({ name: 'rlhf-lab-training' }),
    );
    vi.stubGlobal('navigator', { locks: { request: free } });
    await expect(whileTraining(async () => 'trained')).resolves.toBe('trained');
    const taken = vi.fn(async (_name: string, _options: object, task: (lock: object | null) => Promise<unknown>) =>
      task(null),
    );
    vi.stubGlobal('navigator', { locks: { request: taken } });
    const task = vi.fn(async () => 'trained');
    await expect(whileTraining(task)).rejects.toThrow(ANOTHER_TAB_TRAINING);
    expect(task).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
  });

  it('tells the other tabs when training starts and ends; they can ask whether another tab trains', async () => {
    const tab = otherTab();
    let held = false;
    const request = async (_name: string, _options: object, task: (lock: object | null) => Promise<unknown>) => {
      held = true;
      try {
        return await task({ name: 'rlhf-lab-training' });
      } finally {
        held = false;
      }
    };
    const query = async () => ({ held: held ? [{ name: 'rlhf-lab-training', mode: 'exclusive' }] : [] });
    vi.stubGlobal('navigator', { locks: { request, query } });
    let askedWhileTrainingHere: boolean | undefined;
    await whileTraining(async () => {
      askedWhileTrainingHere = await anotherTabTraining(); // this tab holds it: not another tab
    });
    expect(askedWhileTrainingHere).toBe(false);
    await vi.waitFor(() => expect(tab.heard).toEqual(['training', 'training']));
    held = true; // as when another tab holds the lock
    expect(await anotherTabTraining()).toBe(true);
    vi.unstubAllGlobals();
    tab.close();
  });
});

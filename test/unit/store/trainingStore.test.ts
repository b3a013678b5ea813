// The training store's pure logic (rankings split, CSV, run bookkeeping, blind A/B tallies) and its
// persistence on fake-indexeddb with a fake worker: a trained checkpoint is in IndexedDB before the
// state calls it saved, runs are written as they end, a NaN stops a run with its message, and a
// reload (restore) brings checkpoints back into the worker and marks a running PPO run interrupted.
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { StoredJudgment, StoredRanking, StoredRun } from '../../../src/data/lab-db.ts';
import type { CheckpointSummary } from '../../../workers/lab.worker.ts';

const worker = vi.hoisted(() => ({
  checkpoints: new Map<string, unknown>(),
  trainSft: vi.fn(),
  exportCheckpoint: vi.fn(),
  importCheckpoint: vi.fn(),
  checkCheckpoint: vi.fn(),
  checkpointsList: vi.fn(),
  ppoStart: vi.fn(),
  ppoRun: vi.fn(),
  ppoPause: vi.fn(),
  onGpuError: vi.fn(),
}));

vi.mock('../../../src/store/bridge.ts', () => ({
  Comlink: { proxy: <T>(value: T) => value },
  labWorker: () => ({
    trainSft: worker.trainSft,
    exportCheckpoint: worker.exportCheckpoint,
    importCheckpoint: worker.importCheckpoint,
    checkCheckpoint: worker.checkCheckpoint,
    checkpoints: worker.checkpointsList,
    ppoStart: worker.ppoStart,
    ppoRun: worker.ppoRun,
    ppoPause: worker.ppoPause,
    onGpuError: worker.onGpuError,
  }),
}));

const { useTrainingStore } = await import('../../../src/store/trainingStore.ts');
const { labDb } = await import('../../../src/data/lab-db.ts');
const {
  blindSides,
  demonstrationText,
  judgmentTally,
  MAX_PPO_SAMPLES,
  metricsCsv,
  newRun,
  ppoMetricRow,
  resumePoint,
  runsFromStored,
  splitRankings,
  storedRun,
  storedSettingsOf,
  toRanking,
} = await import('../../../src/store/runRecords.ts');
const { DEFAULT_HYPERPARAMETERS } = await import('../../../src/store/hyperparameters.ts');
const { ANOTHER_TAB_TRAINING } = await import('../../../src/store/tabs.ts');

const ranking = (id: string): StoredRanking => ({
  id,
  createdAt: 1,
  promptId: `p-${id}`,
  prompt: 'What colour is a frog?',
  responses: ['A frog is green.', 'Frogs are rude.'],
  order: [0, 1],
  source: 'simulated',
});

const summary = (name: string, kind: CheckpointSummary['kind'], step?: number): CheckpointSummary => ({
  name,
  kind,
  parent: kind === 'base' ? undefined : 'base',
  createdAt: 10,
  step,
  parameters: 100,
  config: { nLayer: 1, nEmbd: 8, nHead: 1, nCtx: 16, vocabSize: 32 },
  scalar: kind === 'reward_model',
});

const files = (tag: string) => ({
  'model.safetensors': new Uint8Array([1, 2, 3]),
  'config.json': `{"tag":"${tag}"}`,
  'tokenizer.json': '{}',
  'tokenizer_config.json': '{}',
});

describe('splitRankings', () => {
  const rankings = Array.from({ length: 20 }, (_, i) => ranking(`r${i}`));

  it('holds out a fifth, disjoint from the training rankings', () => {
    const { train, heldout } = splitRankings(rankings);
    expect(heldout).toHaveLength(4);
    expect(train).toHaveLength(16);
    expect(new Set([...train, ...heldout].map((r) => r.id)).size).toBe(20);
  });

  it('splits the same rankings the same way in any order', () => {
    const split = splitRankings(rankings)
      .heldout.map((r) => r.id)
      .sort();
    expect(
      splitRankings([...rankings].reverse())
        .heldout.map((r) => r.id)
        .sort(),
    ).toEqual(split);
  });

  it('holds nothing out below three rankings', () => {
    expect(splitRankings(rankings.slice(0, 2)).heldout).toEqual([]);
    expect(splitRankings(rankings.slice(0, 3)).heldout).toHaveLength(1);
  });
});

describe('pure helpers', () => {
  it('toRanking drops the storage fields', () => {
    expect(toRanking({ ...ranking('a'), ties: [[0, 1]] })).toEqual({
      promptId: 'p-a',
      prompt: 'What colour is a frog?',
      responses: ['A frog is green.', 'Frogs are rude.'],
      order: [0, 1],
      source: 'simulated',
      ties: [[0, 1]],
    });
  });

  it('demonstrationText unwraps a TRL completion', () => {
    expect(demonstrationText({ prompt: ' Hi ', completion: ' A frog is green.<|endoftext|>' })).toEqual({
      prompt: 'Hi',
      response: 'A frog is green.',
    });
    expect(demonstrationText({ prompt: 'Hi', completion: 'Plain.' })).toEqual({ prompt: 'Hi', response: 'Plain.' });
  });

  it('metricsCsv has one column per metric and blanks for missing or non-finite values', () => {
    const csv = metricsCsv([
      { step: 1, loss: 2.5 },
      { step: 2, loss: NaN, 'a,b': 3 },
    ]);
    expect(csv).toBe('step,loss,"a,b"\n1,2.5,\n2,,3\n');
  });

  it('ppoMetricRow puts the iteration beside the TRL names', () => {
    const row = ppoMetricRow({ iteration: 4, metrics: { 'objective/kl': 0.1 } as never });
    expect(row).toEqual({ iteration: 4, 'objective/kl': 0.1 });
  });

  it('runsFromStored keeps the latest run per kind and marks a running one interrupted', () => {
    const run = (id: string, kind: StoredRun['kind'], status: StoredRun['status'], startedAt: number): StoredRun => ({
      id,
      kind,
      status,
      startedAt,
      updatedAt: startedAt,
      settings: {},
      metrics: [],
      samples: [{ iteration: 0, prompt: 'p', response: 'r', reward: 1 }],
    });
    const runs = runsFromStored([
      run('a', 'sft', 'done', 1),
      run('b', 'sft', 'failed', 5),
      run('c', 'ppo', 'running', 2),
    ]);
    expect(runs.sft?.id).toBe('b');
    expect(runs.ppo).toMatchObject({ id: 'c', status: 'paused', interrupted: true });
    expect(runs.ppo?.samples[0]).toMatchObject({ response: 'r', sftResponse: '' });
  });

  it('resumePoint cuts the history at the saved policy', () => {
    const run = { ...newRun('ppo', {}, 1), metrics: [0, 1, 2, 3, 4].map((iteration) => ({ iteration })), samples: [] };
    expect(resumePoint(run, 3).metrics.map((m) => m.iteration)).toEqual([0, 1, 2]);
    expect(resumePoint(run, undefined).iteration).toBe(0);
  });

  it('storedRun leaves out transient fields and old samples', () => {
    const sample = { iteration: 0, prompt: 'p', response: 'r', reward: 0, kl: 0, ended: true, sftResponse: 's' };
    const run = {
      ...newRun('ppo', { klCoef: 0 }, 1),
      interrupted: true,
      message: 'x',
      samples: Array.from({ length: 500 }, () => sample),
    };
    const stored = storedRun(run);
    expect(stored).not.toHaveProperty('interrupted');
    expect(stored).not.toHaveProperty('message');
    expect(stored.samples).toHaveLength(MAX_PPO_SAMPLES);
  });

  it('judgmentTally counts wins either way round and ties', () => {
    const judgment = (a: string, b: string, winner: StoredJudgment['winner']): StoredJudgment => ({
      id: `${a}${b}${winner}`,
      prompt: 'p',
      a,
      b,
      aText: '',
      bText: '',
      winner,
      createdAt: 0,
    });
    const tally = judgmentTally(
      [
        judgment('policy', 'sft', 'a'),
        judgment('sft', 'policy', 'a'),
        judgment('sft', 'policy', 'b'),
        judgment('policy', 'sft', 'tie'),
        judgment('base', 'sft', 'a'),
      ],
      'policy',
      'sft',
    );
    expect(tally).toEqual({ wins: { policy: 2, sft: 1 }, ties: 1, total: 4 });
  });

  it('blindSides is deterministic and mixes sides', () => {
    const sides = blindSides(20, 3);
    expect(blindSides(20, 3)).toEqual(sides);
    expect(sides.some((s) => s) && sides.some((s) => !s)).toBe(true);
  });
});

describe('persistence', () => {
  beforeEach(async () => {
    vi.clearAllMocks();
    await (await labDb()).clearAll();
    useTrainingStore.setState({ checkpoints: [], runs: {}, error: undefined, active: 'base' });
  });

  it('writes the SFT checkpoint to IndexedDB before the state calls it saved, then the run as done', async () => {
    worker.trainSft.mockImplementation(async (_demos: unknown, _settings: unknown, onProgress: (p: object) => void) => {
      onProgress({
        step: 1,
        totalSteps: 2,
        epoch: 1,
        loss: 3,
        learning_rate: 1e-3,
        grad_norm: 1,
        mean_token_accuracy: 0.1,
      });
      onProgress({
        step: 2,
        totalSteps: 2,
        epoch: 1,
        loss: 2,
        learning_rate: 1e-3,
        grad_norm: 1,
        mean_token_accuracy: 0.2,
      });
      return {
        summary: summary('sft', 'sft', 2),
        result: { steps: 2, loss: 2.5, truncated: 0, dropped: 0, stopped: false },
      };
    });
    let storedWhenExported: boolean | undefined;
    worker.exportCheckpoint.mockImplementation(async () => {
      storedWhenExported = useTrainingStore.getState().checkpoints.find((c) => c.name === 'sft')?.saved;
      return files('sft');
    });
    const demonstration = { id: 'd', prompt: 'Hi', completion: 'Hello.', source: 'human' as const, updatedAt: 1 };
    await useTrainingStore.getState().trainSft([demonstration], DEFAULT_HYPERPARAMETERS, 1);

    expect(worker.trainSft.mock.calls[0][0]).toEqual([{ prompt: 'Hi', response: 'Hello.' }]);
    expect(storedWhenExported).toBe(false);
    const state = useTrainingStore.getState();
    expect(state.checkpoints.find((c) => c.name === 'sft')?.saved).toBe(true);
    expect(state.active).toBe('sft');
    expect(state.runs.sft).toMatchObject({ status: 'done', checkpoint: 'sft' });
    expect(state.runs.sft?.metrics.map((m) => m.loss)).toEqual([3, 2]);
    const db = await labDb();
    expect((await db.getCheckpoint('sft'))?.files['config.json']).toBe('{"tag":"sft"}');
    const [run] = await db.allRuns();
    expect(run).toMatchObject({ kind: 'sft', status: 'done', checkpoint: 'sft' });
    expect(run.metrics).toHaveLength(2);
  });

  it('stops a run whose loss is not finite and says why', async () => {
    worker.trainSft.mockRejectedValue(new Error('SFT diverged at step 3: loss is NaN; lower the learning rate'));
    await useTrainingStore
      .getState()
      .trainSft(
        [{ id: 'd', prompt: 'Hi', completion: 'Hello.', source: 'human', updatedAt: 1 }],
        DEFAULT_HYPERPARAMETERS,
        1,
      );
    const run = useTrainingStore.getState().runs.sft!;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/Training stopped: SFT diverged at step 3: loss is NaN/);
    expect((await (await labDb()).allRuns())[0].status).toBe('failed');
  });

  it('restores checkpoints into the worker and offers to resume a PPO run that was running', async () => {
    const db = await labDb();
    await db.putCheckpoint({ name: 'sft', kind: 'sft', parent: 'base', createdAt: 5, step: 2, files: files('sft') });
    await db.putCheckpoint({
      name: 'policy',
      kind: 'policy',
      parent: 'sft',
      createdAt: 6,
      step: 3,
      files: files('policy'),
    });
    // stored before the settings took the rlhf names: beta is read as klCoef (migrateStoredRun in allRuns)
    await db.putRun({
      ...storedRun(newRun('ppo', { beta: 0.02 }, 7)),
      metrics: [0, 1, 2, 3].map((iteration) => ({ iteration })),
    });
    worker.importCheckpoint.mockImplementation(async (name: string) =>
      summary(name, name as CheckpointSummary['kind']),
    );
    worker.checkpointsList.mockResolvedValue([
      summary('base', 'base'),
      summary('sft', 'sft', 2),
      summary('policy', 'policy', 3),
    ]);

    await useTrainingStore.getState().restore();

    expect(worker.importCheckpoint.mock.calls.map((c) => c[0]).sort()).toEqual(['policy', 'sft']);
    const state = useTrainingStore.getState();
    expect(state.checkpoints.map((c) => [c.name, c.saved])).toEqual([
      ['base', false],
      ['sft', true],
      ['policy', true],
    ]);
    expect(state.active).toBe('policy');
    expect(state.runs.ppo).toMatchObject({ status: 'paused', interrupted: true });

    worker.ppoStart.mockResolvedValue({ nextIteration: 3 });
    worker.ppoRun.mockResolvedValue({ iterations: 0, paused: true });
    await useTrainingStore.getState().ppoResume(['a', 'b']);
    expect(worker.ppoStart.mock.calls[0][0]).toMatchObject({ klCoef: 0.02, prompts: ['a', 'b'], resumeAt: 3 });
    expect(useTrainingStore.getState().runs.ppo?.metrics.map((m) => m.iteration)).toEqual([0, 1, 2]);
    expect(useTrainingStore.getState().runs.ppo?.status).toBe('paused');
  });

  it('continues a paused PPO run from its saved policy when a hyperparameter changed', async () => {
    const settings = storedSettingsOf(DEFAULT_HYPERPARAMETERS, 1, []);
    useTrainingStore.setState({
      runs: { ppo: { ...newRun('ppo', settings, 5), status: 'paused', metrics: [{ iteration: 0 }, { iteration: 1 }] } },
      checkpoints: [{ ...summary('policy', 'policy', 2), createdAt: 6, saved: true }],
    });
    worker.ppoStart.mockResolvedValue({ nextIteration: 2 });
    worker.ppoRun.mockResolvedValue({ iterations: 1, paused: false });
    await useTrainingStore.getState().ppoStep(DEFAULT_HYPERPARAMETERS, 1, ['a', 'b']);
    expect(worker.ppoStart).not.toHaveBeenCalled(); // same settings: the worker's session goes on
    await useTrainingStore.getState().ppoStep({ ...DEFAULT_HYPERPARAMETERS, klCoef: 0 }, 1, ['a', 'b']);
    expect(worker.ppoStart.mock.calls[0][0]).toMatchObject({ klCoef: 0, resumeAt: 2 });
    expect(worker.ppoRun.mock.calls.map((c) => c[0])).toEqual([1, 1]);
    expect(useTrainingStore.getState().runs.ppo?.settings.klCoef).toBe(0);
  });
});

describe('failures reach the screen (issue 20)', () => {
  beforeEach(async () => {
    vi.clearAllMocks();
    await (await labDb()).clearAll();
    useTrainingStore.setState({ checkpoints: [], runs: {}, error: undefined, active: 'base' });
  });

  it('says why a paused PPO run could not continue with new settings, on the run', async () => {
    const settings = storedSettingsOf(DEFAULT_HYPERPARAMETERS, 1, []);
    useTrainingStore.setState({
      runs: { ppo: { ...newRun('ppo', settings, 5), status: 'paused', metrics: [{ iteration: 0 }] } },
      checkpoints: [{ ...summary('policy', 'policy', 1), createdAt: 6, saved: true }],
    });
    worker.ppoStart.mockRejectedValueOnce(new Error('PPO is running: pause it first'));
    await useTrainingStore.getState().ppoStep({ ...DEFAULT_HYPERPARAMETERS, klCoef: 0 }, 1, ['a', 'b']);
    expect(useTrainingStore.getState().runs.ppo).toMatchObject({
      status: 'failed',
      error: 'Training stopped: PPO is running: pause it first',
    });
    expect(worker.ppoRun).not.toHaveBeenCalled();
  });

  it('says that a PPO run is already running instead of doing nothing', async () => {
    useTrainingStore.setState({ runs: { ppo: newRun('ppo', {}, 5) } });
    await useTrainingStore.getState().ppoStep(DEFAULT_HYPERPARAMETERS, 1, ['a', 'b']);
    expect(useTrainingStore.getState().error).toBe('a ppo run is already running');
    expect(worker.ppoStart).not.toHaveBeenCalled();
  });
});

describe('importing a checkpoint (issue 17)', () => {
  beforeEach(async () => {
    vi.clearAllMocks();
    vi.restoreAllMocks();
    await (await labDb()).clearAll();
    useTrainingStore.setState({
      checkpoints: [
        { ...summary('base', 'base'), saved: false },
        { ...summary('sft', 'sft', 2), saved: true },
      ],
      error: undefined,
    });
    worker.checkCheckpoint.mockImplementation(async (name: string) => ({
      summary: summary(name, 'sft', 4),
      files: files(name),
    }));
    worker.importCheckpoint.mockImplementation(async (name: string) => summary(name, 'sft', 4));
  });

  it('saves it in IndexedDB first and registers it in the worker only then', async () => {
    await useTrainingStore.getState().importCheckpoint('mine', files('mine'));
    expect((await (await labDb()).getCheckpoint('mine'))?.files['config.json']).toBe('{"tag":"mine"}');
    expect(worker.importCheckpoint.mock.calls.map((c) => c[0])).toEqual(['mine']);
    expect(useTrainingStore.getState().checkpoints.find((c) => c.name === 'mine')?.saved).toBe(true);
  });

  it('leaves no trace when the IndexedDB write fails: not in the worker, not in the list', async () => {
    vi.spyOn(await labDb(), 'putCheckpoint').mockRejectedValueOnce(
      new Error("The browser's storage for this site is full."),
    );
    await expect(useTrainingStore.getState().importCheckpoint('mine', files('mine'))).rejects.toThrow(
      'storage for this site is full',
    );
    expect(worker.importCheckpoint).not.toHaveBeenCalled();
    expect(useTrainingStore.getState().checkpoints.map((c) => c.name)).toEqual(['base', 'sft']);
  });

  it('never replaces a checkpoint of the same name, nor the shipped base', async () => {
    await expect(useTrainingStore.getState().importCheckpoint('sft', files('x'))).rejects.toThrow(
      'a checkpoint named "sft" exists: choose another name, or delete "sft" first',
    );
    await (
      await labDb()
    ).putCheckpoint({ name: 'saved-elsewhere', kind: 'sft', createdAt: 1, files: files('saved-elsewhere') }); // e.g. by another tab
    await expect(useTrainingStore.getState().importCheckpoint('saved-elsewhere', files('x'))).rejects.toThrow(
      'a checkpoint named "saved-elsewhere" exists',
    );
    await expect(useTrainingStore.getState().importCheckpoint('base', files('x'))).rejects.toThrow(
      '"base" is the shipped base model, which an import never replaces: choose another name',
    );
    expect(worker.checkCheckpoint).not.toHaveBeenCalled();
    expect(worker.importCheckpoint).not.toHaveBeenCalled();
  });
});

describe('two tabs of the lab (issue 17)', () => {
  beforeEach(async () => {
    vi.clearAllMocks();
    await (await labDb()).clearAll();
    useTrainingStore.setState({ checkpoints: [], runs: {}, error: undefined, restored: true });
  });

  it('does not train while another tab holds the training lock, and says so', async () => {
    const request = vi.fn(async (_name: string, _options: object, task: (lock: object | null) => Promise<unknown>) =>
      task(null),
    ); // the lock is taken
    vi.stubGlobal('navigator', { locks: { request } });
    try {
      await useTrainingStore
        .getState()
        .trainSft(
          [{ id: 'd', prompt: 'Hi', completion: 'Hello.', source: 'human', updatedAt: 1 }],
          DEFAULT_HYPERPARAMETERS,
          1,
        );
      await useTrainingStore.getState().ppoStep(DEFAULT_HYPERPARAMETERS, 1, ['a', 'b']);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(request.mock.calls.map((c) => [c[0], c[1]])).toEqual([
      ['rlhf-lab-training', { ifAvailable: true }],
      ['rlhf-lab-training', { ifAvailable: true }],
    ]);
    expect(worker.trainSft).not.toHaveBeenCalled();
    expect(worker.ppoStart).not.toHaveBeenCalled();
    expect(useTrainingStore.getState().error).toBe(ANOTHER_TAB_TRAINING);
    expect(useTrainingStore.getState().runs).toEqual({});
    expect(await (await labDb()).allRuns()).toEqual([]);
  });

  it('refreshes its checkpoint list when another tab saves one', async () => {
    worker.checkpointsList.mockResolvedValue([summary('base', 'base'), summary('other', 'sft', 1)]);
    await (
      await labDb()
    ).putCheckpoint({ name: 'other', kind: 'sft', parent: 'base', createdAt: 10, files: files('other') });
    const otherTab = new BroadcastChannel('rlhf-lab');
    otherTab.postMessage('checkpoints');
    otherTab.close();
    await vi.waitFor(() => expect(useTrainingStore.getState().checkpoints.map((c) => c.name)).toContain('other'));
    expect(worker.importCheckpoint.mock.calls.map((c) => c[0])).toEqual(['other']);
  });
});

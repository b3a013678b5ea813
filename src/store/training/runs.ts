// The runs slice: SFT, the reward model and DPO as runs (started, their metric rows appended as the
// worker reports steps, their checkpoint saved, then done, stopped or failed), and the helpers the
// PPO session shares to keep its run. A run is written to IndexedDB as it starts, every few logged
// steps, and as it ends. The worker's progress reports become TRL-named metric rows in
// runRecords.ts (sftMetricRow, rewardModelMetricRow, dpoMetricRow).
import { labDb } from '../../data/lab-db.ts';
import type { CheckpointSummary, JobName } from '../../../workers/lab.worker.ts';
import { Comlink, labWorker } from '../bridge.ts';
import { errorMessage } from '../errorMessage.ts';
import { rankingAuthors } from '../labDataStore.ts';
import {
  demonstrationText,
  dpoMetricRow,
  newRun,
  rewardModelMetricRow,
  sftMetricRow,
  splitRankings,
  stepProgress,
  storedRun,
  toRanking,
  type MetricRow,
  type RunKind,
  type RunState,
  type RunStatus,
} from '../runRecords.ts';
import { saveCheckpoint } from './checkpoints.ts';
import { exclusively, showError } from './failures.ts';
import type { RunsSlice, TrainingStore } from './state.ts';

/** What a run does before its first step is measured: shown from the first second. */
const PREPARING = 'preparing: building the model on the GPU and compiling its kernels (the first step takes longest)…';
/** SFT / RM / DPO runs are written to IndexedDB every this many logged steps (and at the end). */
const PERSIST_EVERY_STEPS = 10;

export function setRun(
  store: TrainingStore,
  kind: RunKind,
  change: Partial<RunState> | ((run: RunState) => Partial<RunState>),
): void {
  store.setState((state) => {
    const run = state.runs[kind];
    if (!run) return {};
    const patch = typeof change === 'function' ? change(run) : change;
    return { runs: { ...state.runs, [kind]: { ...run, ...patch, updatedAt: Date.now() } } };
  });
}

/** Writes the run as it is now; a failed write (storage full) is shown but does not stop training. */
export async function persistRun(store: TrainingStore, kind: RunKind): Promise<void> {
  const run = store.getState().runs[kind];
  if (!run) return;
  try {
    await (await labDb()).putRun(storedRun(run));
  } catch (error) {
    showError(store, error);
  }
}

/** Starts a new run of `kind` (throws if one is running) and saves it. */
export async function startRun(
  store: TrainingStore,
  kind: RunKind,
  settings: Record<string, number | string>,
): Promise<void> {
  if (store.getState().runs[kind]?.status === 'running')
    throw new Error(`a ${kind.replace('_', ' ')} run is already running`);
  store.setState((state) => ({
    error: undefined,
    runs: { ...state.runs, [kind]: newRun(kind, settings, Date.now()) },
  }));
  await persistRun(store, kind);
}

export async function finishRun(
  store: TrainingStore,
  kind: RunKind,
  status: RunStatus,
  change: Partial<RunState> = {},
): Promise<void> {
  setRun(store, kind, { status, message: undefined, ...change });
  await persistRun(store, kind);
}

/** Ends the run as failed, with why (and the lost device, if that is the cause) on the run. */
export async function failRun(store: TrainingStore, kind: RunKind, error: unknown): Promise<void> {
  const lost = store.getState().deviceLost;
  await finishRun(store, kind, 'failed', {
    error: `Training stopped: ${lost ? `${lost}. ` : ''}${errorMessage(error)}`,
  });
}

function appendMetric(store: TrainingStore, kind: RunKind, row: MetricRow): void {
  setRun(store, kind, (run) => ({ metrics: [...run.metrics, row] }));
  if (store.getState().runs[kind]!.metrics.length % PERSIST_EVERY_STEPS === 0) void persistRun(store, kind);
}

/** Appends the step's metric row and says how far the run is. */
function stepReporter<P extends { step: number; totalSteps: number }>(
  store: TrainingStore,
  kind: RunKind,
  toRow: (progress: P) => MetricRow,
) {
  const progress = stepProgress();
  return Comlink.proxy((p: P) => {
    appendMetric(store, kind, toRow(p));
    setRun(store, kind, { message: progress(p.step, p.totalSteps) });
  });
}

type OneShotJob = () => Promise<{ summary: CheckpointSummary; stopped: boolean; final?: MetricRow }>;

/** Runs a one-shot job as a run of `kind`; its checkpoint is saved before the run is done. */
function oneShot(
  store: TrainingStore,
  kind: RunKind,
  settings: Record<string, number | string>,
  job: OneShotJob,
): Promise<void> {
  return exclusively(store, async () => {
    await startRun(store, kind, settings);
    setRun(store, kind, { message: PREPARING });
    try {
      const { summary, stopped, final } = await job();
      if (final) setRun(store, kind, (run) => ({ metrics: [...run.metrics, final] }));
      setRun(store, kind, { message: 'saving the checkpoint…' });
      await saveCheckpoint(store, summary);
      await finishRun(store, kind, stopped ? 'stopped' : 'done', { checkpoint: summary.name });
      if (kind !== 'reward_model') store.setState({ active: summary.name });
    } catch (error) {
      await failRun(store, kind, error);
    }
  });
}

export function createRunsSlice(store: TrainingStore): RunsSlice {
  return {
    runs: {},

    async stop(kind) {
      await labWorker().stop(kind as JobName);
    },

    trainSft(demonstrations, hyper, seed) {
      const settings = { epochs: hyper.sftEpochs, lr: hyper.sftLr, seed };
      return oneShot(store, 'sft', { ...settings, demonstrations: demonstrations.length }, async () => {
        const onProgress = stepReporter(store, 'sft', sftMetricRow);
        const { summary, result } = await labWorker().trainSft(
          demonstrations.map(demonstrationText),
          settings,
          onProgress,
        );
        return { summary, stopped: result.stopped };
      });
    },

    trainRewardModel(rankings, demonstrations, hyper, seed) {
      const { train, heldout } = splitRankings(rankings);
      const split = { train: train.map(toRanking), heldout: heldout.map(toRanking) };
      const settings = { epochs: hyper.rmEpochs, lr: hyper.rmLr, seed };
      store.setState({ mistakes: undefined });
      const runSettings = {
        ...settings,
        train_rankings: train.length,
        heldout_rankings: heldout.length,
        learned_from: rankingAuthors(train),
      };
      return oneShot(store, 'reward_model', runSettings, async () => {
        const onProgress = stepReporter(store, 'reward_model', rewardModelMetricRow);
        const outcome = await labWorker().trainRewardModel(
          split,
          demonstrations.map(demonstrationText),
          settings,
          onProgress,
        );
        const final: MetricRow = { step: outcome.steps, train_accuracy: outcome.train.accuracy };
        if (outcome.heldout) final.heldout_accuracy = outcome.heldout.accuracy;
        return { summary: outcome.summary, stopped: outcome.stopped, final };
      }).then(() =>
        store.getState().runs.reward_model?.status === 'done' ? store.getState().findMistakes(rankings) : undefined,
      );
    },

    async findMistakes(rankings) {
      const { train, heldout } = splitRankings(rankings);
      try {
        store.setState({
          mistakes: await labWorker().rewardModelMistakes(
            { train: train.map(toRanking), heldout: heldout.map(toRanking) },
            50,
          ),
        });
      } catch (error) {
        showError(store, error);
      }
    },

    async score(prompt, response) {
      const [reward] = await labWorker().score([{ prompt, response }]);
      return reward;
    },

    trainDpo(rankings, hyper, seed) {
      // DPO learns from the comparisons as the reward model does: rmEpochs passes, at the PPO learning rate.
      const settings = { epochs: hyper.rmEpochs, lr: hyper.ppoLr, beta: hyper.dpoBeta, seed };
      return oneShot(store, 'dpo', { ...settings, rankings: rankings.length }, async () => {
        const onProgress = stepReporter(store, 'dpo', dpoMetricRow);
        const { summary, result } = await labWorker().trainDpo(rankings.map(toRanking), settings, onProgress);
        return { summary, stopped: result.stopped };
      });
    },
  };
}

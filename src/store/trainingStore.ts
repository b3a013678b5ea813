// The lab's training state: the worker's named checkpoints and their lineage, the runs (SFT, reward
// model, PPO, DPO) with their metric histories and samples, evaluation and blind A/B judgments.
// Checkpoints, runs and judgments are written to IndexedDB (lab-db) BEFORE the state says they are
// saved; on reload restore() puts the checkpoints back into the worker and marks a run that was
// running as interrupted, so the PPO panel can resume it from its last saved policy checkpoint.
// The records it keeps (runs, metric rows, settings, judgments) are pure functions in runRecords.ts.
import { create } from 'zustand';
import type { CheckpointFiles, CheckpointInput } from '../model/checkpoint.ts';
import { DEFAULT_SAMPLING, type SamplingOptions } from '../model/sampler.ts';
import { openLabDb, type LabDb, type StoredDemonstration, type StoredJudgment, type StoredRanking } from '../data/lab-db.ts';
import type { Hyperparameters } from './hyperparameters.ts';
import type {
  BlindPair,
  CheckpointSummary,
  EvaluationRow,
  EvaluationSettings,
  JobName,
  LabeledMisprediction,
  PpoIterationReport,
  PpoPhase,
  PpoSettings,
} from '../../workers/lab.worker.ts';
import { Comlink, labWorker } from './bridge.ts';
import {
  blindSides,
  demonstrationText,
  MAX_PPO_SAMPLES,
  newRun,
  ppoMetricRow,
  ppoSettingsOf,
  resumePoint,
  runsFromStored,
  sameSettings,
  splitRankings,
  stepProgress,
  formatDuration,
  storedRun,
  storedSettingsOf,
  toRanking,
  type MetricRow,
  type RunKind,
  type RunState,
  type RunStatus,
} from './runRecords.ts';
import { useGpuStore } from './gpuStore.ts';
import { announceChange, anotherTabTraining, onOtherTabChange, whileTraining } from './tabs.ts';
import { rankingAuthors } from './labDataStore.ts';
import { errorMessage } from './errorMessage.ts';

export interface CheckpointEntry extends CheckpointSummary {
  /** Written to IndexedDB (the state says so only after the write committed). */
  saved: boolean;
}

export interface BlindSession {
  /** Checkpoint names compared; hidden from the person until they judge. */
  a: string;
  b: string;
  pairs: BlindPair[];
  /** Per pair: whether a's answer is shown on the right. */
  swapped: boolean[];
  index: number;
}

/** What a run does before its first step is measured: shown from the first second. */
const PREPARING = 'preparing: building the model on the GPU and compiling its kernels (the first step takes longest)…';

/** SFT / RM / DPO runs are written to IndexedDB every this many logged steps (and at the end). */
const PERSIST_EVERY_STEPS = 10;
/** PPO "Start" runs until paused; this bounds one call. */
const PPO_MAX_ITERATIONS = 100_000;
/** The Rank panel's and blind A/B's sampling temperature when the caller gives none. */
const GENERATION_TEMPERATURE = 1;

// ---------------------------------------------------------------------------------------------
// The store

interface EvaluationState {
  status: 'idle' | 'running' | 'done' | 'failed';
  message?: string;
  rows?: EvaluationRow[];
  error?: string;
}

interface TrainingState {
  restored: boolean;
  checkpoints: CheckpointEntry[];
  /** The checkpoint the Rank panel samples from ("current model"). */
  active: string;
  runs: Partial<Record<RunKind, RunState>>;
  /** The last error of an action that is not a run (import, export, storage, scoring). */
  error?: string;
  /** Stored checkpoints that do not fit the loaded base (another preset), with why. */
  skipped: string[];
  /** Set when the GPU device was lost; recoverDevice() reloads the last saved checkpoints. */
  deviceLost?: string;
  /** Another tab of the lab is training (it holds the training lock): this one cannot until it finishes. */
  otherTabTraining: boolean;
  mistakes?: LabeledMisprediction[];
  evaluation: EvaluationState;
  blind?: BlindSession;
  judgments: StoredJudgment[];

  restore(): Promise<void>;
  watchDevice(): Promise<void>;
  recoverDevice(): Promise<void>;
  setActive(name: string): void;
  generate(prompts: string[], K: number, options?: Partial<SamplingOptions>): Promise<string[][]>;
  exportCheckpoint(name: string): Promise<CheckpointFiles>;
  /** The checkpoint as an ONNX model (bytes of FILE.onnx). */
  exportOnnx(name: string): Promise<Uint8Array>;
  /** Refuses an existing name unless `replace`; a replaced checkpoint stays whole until its successor is saved. */
  importCheckpoint(name: string, files: CheckpointInput, options?: { replace?: boolean }): Promise<void>;
  deleteCheckpoint(name: string): Promise<void>;
  stop(kind: RunKind): Promise<void>;
  trainSft(demonstrations: StoredDemonstration[], hyper: Hyperparameters, seed: number): Promise<void>;
  trainRewardModel(rankings: StoredRanking[], demonstrations: StoredDemonstration[], hyper: Hyperparameters, seed: number): Promise<void>;
  findMistakes(rankings: StoredRanking[]): Promise<void>;
  score(prompt: string, response: string): Promise<number>;
  ppoStart(hyper: Hyperparameters, seed: number, prompts: string[]): Promise<void>;
  ppoStep(hyper: Hyperparameters, seed: number, prompts: string[]): Promise<void>;
  ppoPause(): Promise<void>;
  ppoReset(): Promise<void>;
  ppoResume(prompts: string[]): Promise<void>;
  trainDpo(rankings: StoredRanking[], hyper: Hyperparameters, seed: number): Promise<void>;
  evaluate(names: string[], settings: EvaluationSettings): Promise<void>;
  startBlind(a: string, b: string, count: number, settings: EvaluationSettings): Promise<void>;
  judge(winner: 'a' | 'b' | 'tie'): Promise<void>;
}

let dbPromise: Promise<LabDb> | undefined;

/** The lab's IndexedDB, opened once per page. */
export function labDb(): Promise<LabDb> {
  dbPromise ??= openLabDb().catch((error: unknown) => {
    dbPromise = undefined;
    throw error;
  });
  return dbPromise;
}

/**
 * Calls of generate() so far: without a seed of its own, each call samples with the next seed
 * (fresh outputs each time, and the same sequence of outputs for the same lesson actions).
 */
let generations = 0;
const GENERATION_SEED_STRIDE = 7919;

/** PPO iterations are run by one loop at a time; this flags that the loop exists. */
let ppoLoop: Promise<void> | undefined;

export const useTrainingStore = create<TrainingState>((set, get) => {
  const setRun = (kind: RunKind, change: Partial<RunState> | ((run: RunState) => Partial<RunState>)) =>
    set((state) => {
      const run = state.runs[kind];
      if (!run) return {};
      const patch = typeof change === 'function' ? change(run) : change;
      return { runs: { ...state.runs, [kind]: { ...run, ...patch, updatedAt: Date.now() } } };
    });

  /** Writes the run as it is now; errors (storage full) are shown but do not stop training. */
  const persistRun = async (kind: RunKind) => {
    const run = get().runs[kind];
    if (!run) return;
    try {
      await (await labDb()).putRun(storedRun(run));
    } catch (error) {
      set({ error: errorMessage(error) });
    }
  };

  const upsertCheckpoint = (entry: CheckpointEntry) =>
    set((state) => ({ checkpoints: [...state.checkpoints.filter((c) => c.name !== entry.name), entry].sort((x, y) => x.createdAt - y.createdAt) }));

  /** Exports a worker checkpoint into IndexedDB, then lists it as saved. */
  const saveCheckpoint = async (summary: CheckpointSummary) => {
    upsertCheckpoint({ ...summary, saved: false });
    const files = await labWorker().exportCheckpoint(summary.name);
    const { name, kind, parent, createdAt, step } = summary;
    await (await labDb()).putCheckpoint({ name, kind, ...(parent !== undefined && { parent }), createdAt, ...(step !== undefined && { step }), files });
    upsertCheckpoint({ ...summary, saved: true });
    announceChange('checkpoints');
  };

  /** Runs a training task while no other tab trains (whileTraining); if one does, says so instead. */
  const exclusively = (task: () => Promise<void>) => whileTraining(task).catch((error: unknown) => set({ error: errorMessage(error) }));

  const startRun = async (kind: RunKind, settings: Record<string, number | string>) => {
    const current = get().runs[kind];
    if (current?.status === 'running') throw new Error(`a ${kind.replace('_', ' ')} run is already running`);
    set((state) => ({ error: undefined, runs: { ...state.runs, [kind]: newRun(kind, settings, Date.now()) } }));
    await persistRun(kind);
  };

  const appendMetric = (kind: RunKind, row: MetricRow) => {
    setRun(kind, (run) => ({ metrics: [...run.metrics, row] }));
    if (get().runs[kind]!.metrics.length % PERSIST_EVERY_STEPS === 0) void persistRun(kind);
  };

  const finishRun = async (kind: RunKind, status: RunStatus, change: Partial<RunState> = {}) => {
    setRun(kind, { status, message: undefined, ...change });
    await persistRun(kind);
  };

  const failRun = async (kind: RunKind, error: unknown) => {
    const lost = get().deviceLost;
    await finishRun(kind, 'failed', { error: `Training stopped: ${lost ? `${lost}. ` : ''}${errorMessage(error)}` });
  };

  /** Runs a one-shot job as a run of `kind`; its checkpoint is saved before the run is done. */
  const oneShot = (kind: RunKind, settings: Record<string, number | string>, job: () => Promise<{ summary: CheckpointSummary; stopped: boolean; final?: MetricRow }>) =>
    exclusively(async () => {
      try {
        await startRun(kind, settings);
      } catch (error) {
        set({ error: errorMessage(error) });
        return;
      }
      setRun(kind, { message: PREPARING });
      try {
        const { summary, stopped, final } = await job();
        if (final) setRun(kind, (run) => ({ metrics: [...run.metrics, final] }));
        setRun(kind, { message: 'saving the checkpoint…' });
        await saveCheckpoint(summary);
        await finishRun(kind, stopped ? 'stopped' : 'done', { checkpoint: summary.name });
        if (kind !== 'reward_model') set({ active: summary.name });
      } catch (error) {
        await failRun(kind, error);
      }
    });

  /** When the PPO iteration in progress began (for the time an iteration takes). */
  let ppoIterationStartedAt = 0;
  /** 1-based iteration in progress, and how long the last one took (for every phase's message). */
  let ppoProgress: { iteration: number; last?: number } = { iteration: 1 };
  /** "iteration N: DOING (the last one took T)…" */
  const ppoMessage = (doing: string) => {
    const { iteration, last } = ppoProgress;
    return `iteration ${iteration}: ${doing}${last === undefined ? '' : ` (the last one took ${formatDuration(last)})`}…`;
  };
  /** Starts iteration `iteration`'s message before its first phase is heard. */
  const ppoWorking = (iteration: number, last?: number) => {
    ppoProgress = { iteration, last };
    return ppoMessage('sampling answers, scoring them with the reward model, then PPO epochs');
  };
  const phaseText = (p: PpoPhase) =>
    p.phase === 'sampling' ? 'sampling answers from the policy'
    : p.phase === 'scoring' ? 'scoring them: reward model, reference and value passes'
    : `PPO epoch ${p.epoch} of ${p.epochs}, minibatch ${p.minibatch} of ${p.minibatches}`;
  const onPpoPhase = (phase: PpoPhase) => setRun('ppo', { message: ppoMessage(phaseText(phase)) });

  const onPpoIteration = async (report: PpoIterationReport) => {
    const took = Date.now() - ppoIterationStartedAt;
    ppoIterationStartedAt = Date.now();
    setRun('ppo', (run) => ({
      metrics: [...run.metrics, ppoMetricRow(report)],
      samples: [...run.samples, ...report.samples].slice(-MAX_PPO_SAMPLES),
      message: ppoWorking(report.iteration + 2, took),
    }));
    if (report.saved) {
      await saveCheckpoint(report.saved);
      setRun('ppo', { checkpoint: report.saved.name });
    }
    await persistRun('ppo');
  };

  /** Runs PPO iterations in the worker until paused (or `iterations` are done). */
  const runPpo = (iterations: number) => {
    if (ppoLoop) return ppoLoop;
    const next = new Set(get().runs.ppo?.metrics.map((row) => row.iteration)).size + 1;
    ppoIterationStartedAt = Date.now();
    setRun('ppo', { status: 'running', message: ppoWorking(next), error: undefined });
    ppoLoop = (async () => {
      try {
        const result = await labWorker().ppoRun(iterations, Comlink.proxy(onPpoIteration), Comlink.proxy(onPpoPhase));
        if (result.saved) {
          await saveCheckpoint(result.saved);
          setRun('ppo', { checkpoint: result.saved.name });
        }
        await finishRun('ppo', 'paused');
        set({ active: 'policy' });
      } catch (error) {
        await failRun('ppo', error);
      } finally {
        ppoLoop = undefined;
      }
    })();
    return ppoLoop;
  };

  /** The "policy" checkpoint saved by this run (an older run's policy does not count). */
  const policyOf = (run: RunState) => get().checkpoints.find((c) => c.name === 'policy' && c.createdAt >= run.startedAt);

  /**
   * Makes sure the worker has a PPO session for the current run (creating the run if needed). A
   * paused run whose hyperparameters changed continues from its saved policy with the new ones.
   */
  const ensurePpoSession = async (hyper: Hyperparameters, seed: number, prompts: string[]) => {
    const run = get().runs.ppo;
    const settings = ppoSettingsOf(hyper, seed, prompts);
    const stored = storedSettingsOf(hyper, seed, prompts);
    const policy = run && policyOf(run);
    if (run && run.status === 'paused' && !run.interrupted) {
      if (sameSettings(run.settings, stored)) return;
      if (policy) {
        await labWorker().ppoStart({ ...settings, resumeAt: policy.step ?? 0 });
        setRun('ppo', { settings: stored, message: 'continuing from the saved policy with the new settings' });
        return;
      }
    }
    await startRun('ppo', stored);
    try {
      await labWorker().ppoStart(settings);
    } catch (error) {
      await failRun('ppo', error);
      throw error;
    }
    setRun('ppo', { status: 'paused' });
  };

  return {
    restored: false,
    otherTabTraining: false,
    checkpoints: [],
    active: 'base',
    runs: {},
    skipped: [],
    evaluation: { status: 'idle' },
    judgments: [],

    async restore() {
      const worker = labWorker();
      const skipped: string[] = [];
      try {
        const db = await labDb();
        for (const stored of await db.listCheckpoints()) {
          const full = await db.getCheckpoint(stored.name);
          if (!full) continue;
          try {
            await worker.importCheckpoint(stored.name, full.files);
          } catch (error) {
            skipped.push(`${stored.name}: ${errorMessage(error)}`);
          }
        }
        const saved = new Set((await db.listCheckpoints()).map((c) => c.name));
        const summaries = await worker.checkpoints();
        const runs = runsFromStored(await db.allRuns());
        const names = summaries.map((s) => s.name);
        const active = ['policy', 'sft'].find((n) => names.includes(n)) ?? 'base';
        set({
          restored: true,
          skipped,
          checkpoints: summaries.map((s) => ({ ...s, saved: saved.has(s.name) })).sort((x, y) => x.createdAt - y.createdAt),
          runs,
          active,
          judgments: await db.allJudgments(),
        });
      } catch (error) {
        set({ restored: true, error: errorMessage(error), checkpoints: (await worker.checkpoints()).map((s) => ({ ...s, saved: false })) });
      }
    },

    async watchDevice() {
      await labWorker().onGpuError(
        Comlink.proxy((error: { kind: string; message: string }) => {
          if (error.kind === 'device-lost') set({ deviceLost: error.message });
        }),
      );
    },

    async recoverDevice() {
      set({ error: undefined });
      try {
        const info = await labWorker().resetDevice();
        // The GPU status follows the new device, whose errors are watched again.
        useGpuStore.getState().recovered(info);
        await get().watchDevice();
        await get().restore();
        set({ deviceLost: undefined });
      } catch (error) {
        set({ error: `Could not recover the GPU: ${errorMessage(error)}. Reload the page.` });
      }
    },

    setActive(name) {
      set({ active: name });
    },

    generate(prompts, K, options = {}) {
      generations += 1;
      const sampling = { ...DEFAULT_SAMPLING, temperature: GENERATION_TEMPERATURE, seed: generations * GENERATION_SEED_STRIDE, ...options };
      return labWorker().generate(get().active, prompts, K, sampling);
    },

    exportCheckpoint(name) {
      return labWorker().exportCheckpoint(name);
    },

    exportOnnx(name) {
      return labWorker().exportOnnx(name);
    },

    async importCheckpoint(name, files, options = {}) {
      const db = await labDb();
      if (name === 'base') throw new Error('"base" is the shipped base model, which an import never replaces: choose another name');
      const exists = get().checkpoints.some((c) => c.name === name) || Boolean(await db.getCheckpoint(name));
      if (exists && !options.replace) {
        throw new Error(`a checkpoint named "${name}" exists: choose another name, or delete "${name}" first`);
      }
      // validated in the worker, saved (one put: a replaced checkpoint's record stays until this one
      // is written), and only then registered: a failed save leaves no trace and loses nothing
      const { summary, files: folder } = await labWorker().checkCheckpoint(name, files);
      const { kind, parent, createdAt, step } = summary;
      await db.putCheckpoint({ name, kind, ...(parent !== undefined && { parent }), createdAt, ...(step !== undefined && { step }), files: folder });
      if (exists) await labWorker().removeCheckpoint(name);
      upsertCheckpoint({ ...(await labWorker().importCheckpoint(name, folder)), saved: true });
      announceChange('checkpoints');
    },

    async deleteCheckpoint(name) {
      await (await labDb()).deleteCheckpoint(name);
      await labWorker().removeCheckpoint(name);
      set((state) => ({ checkpoints: state.checkpoints.filter((c) => c.name !== name), active: state.active === name ? 'base' : state.active }));
      announceChange('checkpoints');
    },

    async stop(kind) {
      await labWorker().stop(kind as JobName);
    },

    trainSft(demonstrations, hyper, seed) {
      const settings = { epochs: hyper.sftEpochs, lr: hyper.sftLr, seed };
      const progress = stepProgress();
      return oneShot('sft', { ...settings, demonstrations: demonstrations.length }, async () => {
        const onProgress = Comlink.proxy((p: { step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokenAccuracy: number; heldoutLoss?: number }) => {
          const row: MetricRow = { step: p.step, epoch: p.epoch, loss: p.loss, learning_rate: p.lr, grad_norm: p.gradNorm, mean_token_accuracy: p.tokenAccuracy };
          if (p.heldoutLoss !== undefined) row.heldout_loss = p.heldoutLoss;
          appendMetric('sft', row);
          setRun('sft', { message: progress(p.step, p.totalSteps) });
        });
        const { summary, result } = await labWorker().trainSft(demonstrations.map(demonstrationText), settings, onProgress);
        return { summary, stopped: result.stopped };
      });
    },

    trainRewardModel(rankings, demonstrations, hyper, seed) {
      const { train, heldout } = splitRankings(rankings);
      const split = { train: train.map(toRanking), heldout: heldout.map(toRanking) };
      const settings = { epochs: hyper.rmEpochs, lr: hyper.rmLr, seed };
      set({ mistakes: undefined });
      const progress = stepProgress();
      return oneShot('reward_model', { ...settings, train_rankings: train.length, heldout_rankings: heldout.length, learned_from: rankingAuthors(train) }, async () => {
        const onProgress = Comlink.proxy((p: { step: number; totalSteps: number; loss: number; accuracy: number; margin: number; lr: number; heldoutAccuracy?: number; heldoutLoss?: number }) => {
          const row: MetricRow = { step: p.step, loss: p.loss, accuracy: p.accuracy, margin: p.margin, learning_rate: p.lr };
          if (p.heldoutAccuracy !== undefined) row.heldout_accuracy = p.heldoutAccuracy;
          if (p.heldoutLoss !== undefined) row.heldout_loss = p.heldoutLoss;
          appendMetric('reward_model', row);
          setRun('reward_model', { message: progress(p.step, p.totalSteps) });
        });
        const outcome = await labWorker().trainRewardModel(split, demonstrations.map(demonstrationText), settings, onProgress);
        const final: MetricRow = { step: outcome.steps, train_accuracy: outcome.train.accuracy };
        if (outcome.heldout) final.heldout_accuracy = outcome.heldout.accuracy;
        return { summary: outcome.summary, stopped: outcome.stopped, final };
      }).then(() => (get().runs.reward_model?.status === 'done' ? get().findMistakes(rankings) : undefined));
    },

    async findMistakes(rankings) {
      const { train, heldout } = splitRankings(rankings);
      try {
        set({ mistakes: await labWorker().rewardModelMistakes({ train: train.map(toRanking), heldout: heldout.map(toRanking) }, 50) });
      } catch (error) {
        set({ error: errorMessage(error) });
      }
    },

    async score(prompt, response) {
      const [reward] = await labWorker().score([{ prompt, response }]);
      return reward;
    },

    async ppoStart(hyper, seed, prompts) {
      if (ppoLoop) return;
      await exclusively(async () => {
        try {
          await ensurePpoSession(hyper, seed, prompts);
        } catch {
          return;
        }
        await runPpo(PPO_MAX_ITERATIONS);
      });
    },

    async ppoStep(hyper, seed, prompts) {
      if (ppoLoop) return;
      await exclusively(async () => {
        try {
          await ensurePpoSession(hyper, seed, prompts);
        } catch {
          return;
        }
        await runPpo(1);
      });
    },

    async ppoPause() {
      await labWorker().ppoPause();
      await ppoLoop;
    },

    async ppoReset() {
      await get().ppoPause();
      await labWorker().ppoReset();
      if (get().runs.ppo) await finishRun('ppo', 'stopped');
      set((state) => ({ runs: { ...state.runs, ppo: undefined } }));
    },

    async ppoResume(prompts) {
      const run = get().runs.ppo;
      if (!run || ppoLoop) return;
      const policy = policyOf(run);
      const { iteration, metrics, samples } = resumePoint(run, policy?.step);
      const settings = { ...(run.settings as unknown as Omit<PpoSettings, 'prompts'>), prompts, ...(policy && { resumeAt: iteration }) };
      await exclusively(async () => {
        setRun('ppo', { metrics, samples, interrupted: false, error: undefined, message: `resuming at iteration ${iteration + 1}` });
        try {
          await labWorker().ppoStart(settings);
        } catch (error) {
          await failRun('ppo', error);
          return;
        }
        await runPpo(PPO_MAX_ITERATIONS);
      });
    },

    trainDpo(rankings, hyper, seed) {
      // DPO learns from the comparisons as the reward model does: rmEpochs passes, at the PPO learning rate.
      const settings = { epochs: hyper.rmEpochs, lr: hyper.ppoLr, beta: hyper.dpoBeta, seed };
      const progress = stepProgress();
      return oneShot('dpo', { ...settings, rankings: rankings.length }, async () => {
        const onProgress = Comlink.proxy((p: { step: number; totalSteps: number; loss: number; accuracy: number; margin: number; lr: number }) => {
          appendMetric('dpo', { step: p.step, loss: p.loss, 'rewards/accuracies': p.accuracy, 'rewards/margins': p.margin, learning_rate: p.lr });
          setRun('dpo', { message: progress(p.step, p.totalSteps) });
        });
        const { summary, result } = await labWorker().trainDpo(rankings.map(toRanking), settings, onProgress);
        return { summary, stopped: result.stopped };
      });
    },

    async evaluate(names, settings) {
      set({ evaluation: { status: 'running', message: 'starting…' } });
      try {
        const onProgress = Comlink.proxy((message: string) => set((state) => ({ evaluation: { ...state.evaluation, message } })));
        const rows = await labWorker().evaluate(names, settings, onProgress);
        set({ evaluation: { status: 'done', rows } });
      } catch (error) {
        set({ evaluation: { status: 'failed', error: errorMessage(error) } });
      }
    },

    async startBlind(a, b, count, settings) {
      set({ blind: undefined, error: undefined });
      try {
        const pairs = await labWorker().blindPairs(a, b, count, settings);
        set({ blind: { a, b, pairs, swapped: blindSides(pairs.length, settings.seed), index: 0 } });
      } catch (error) {
        set({ error: errorMessage(error) });
      }
    },

    async judge(winner) {
      const blind = get().blind;
      if (!blind || blind.index >= blind.pairs.length) return;
      const pair = blind.pairs[blind.index];
      const judgment: StoredJudgment = { id: `judgment-${Date.now()}-${blind.index}`, prompt: pair.prompt, a: blind.a, b: blind.b, aText: pair.a, bText: pair.b, winner, createdAt: Date.now() };
      try {
        await (await labDb()).putJudgment(judgment);
      } catch (error) {
        set({ error: errorMessage(error) });
        return;
      }
      set((state) => ({ judgments: [...state.judgments, judgment], blind: state.blind && { ...state.blind, index: state.blind.index + 1 } }));
    },
  };
});

/** Asks whether another tab trains now, for the panels' notice. */
const checkOtherTabTraining = () => anotherTabTraining().then((otherTabTraining) => useTrainingStore.setState({ otherTabTraining }), () => undefined);
void checkOtherTabTraining();

// Another tab saved or deleted a checkpoint: read the list again (restore brings new ones into this
// tab's worker); another tab started or stopped training: update the notice.
onOtherTabChange((change) => {
  if (change === 'checkpoints' && useTrainingStore.getState().restored) void useTrainingStore.getState().restore();
  if (change === 'training') void checkOtherTabTraining();
});

export const selectCheckpoints = (state: TrainingState) => state.checkpoints;
export const selectActive = (state: TrainingState) => state.active;
export const selectRuns = (state: TrainingState) => state.runs;
export const selectSftRun = (state: TrainingState) => state.runs.sft;
export const selectRewardModelRun = (state: TrainingState) => state.runs.reward_model;
export const selectPpoRun = (state: TrainingState) => state.runs.ppo;
export const selectDpoRun = (state: TrainingState) => state.runs.dpo;
export const selectTrainingError = (state: TrainingState) => state.error;
export const selectDeviceLost = (state: TrainingState) => state.deviceLost;
export const selectOtherTabTraining = (state: TrainingState) => state.otherTabTraining;
export const selectSkipped = (state: TrainingState) => state.skipped;
export const selectMistakes = (state: TrainingState) => state.mistakes;
export const selectEvaluation = (state: TrainingState) => state.evaluation;
export const selectBlind = (state: TrainingState) => state.blind;
export const selectJudgments = (state: TrainingState) => state.judgments;
export const selectRestored = (state: TrainingState) => state.restored;

// The PPO session slice: Start runs iterations in the worker until paused, Step runs one, Pause
// stops after the iteration in progress, Reset ends the run, and Resume carries on a run that a
// reload interrupted from its last saved policy. Each iteration's metric row and samples are
// appended as the worker reports them, its policy checkpoint is saved, then the run is written.
// A paused run whose hyperparameters changed continues from its saved policy with the new ones.
import type { PpoIterationReport, PpoPhase, PpoSettings } from '../../../workers/lab.worker.ts';
import { Comlink, labWorker } from '../bridge.ts';
import type { Hyperparameters } from '../hyperparameters.ts';
import {
  formatDuration,
  MAX_PPO_SAMPLES,
  ppoMetricRow,
  ppoSettingsOf,
  resumePoint,
  sameSettings,
  storedPpoSettings,
  storedSettingsOf,
  type RunState,
} from '../runRecords.ts';
import { saveCheckpoint } from './checkpoints.ts';
import { exclusively } from './failures.ts';
import { failRun, finishRun, persistRun, setRun, startRun } from './runs.ts';
import type { PpoSlice, TrainingStore } from './state.ts';

/** PPO "Start" runs until paused; this bounds one call. */
const PPO_MAX_ITERATIONS = 100_000;

/** A phase of an iteration in words. */
function phaseText(p: PpoPhase): string {
  if (p.phase === 'sampling') return 'sampling answers from the policy';
  if (p.phase === 'scoring') return 'scoring them: reward model, reference and value passes';
  return `PPO epoch ${p.epoch} of ${p.epochs}, minibatch ${p.minibatch} of ${p.minibatches}`;
}

/** The status line of the iteration in progress: "iteration N: DOING (the last one took T)…". */
function iterationMessages() {
  /** 1-based iteration in progress, and how long the last one took. */
  let progress: { iteration: number; last?: number } = { iteration: 1 };
  const doing = (what: string) => {
    const { iteration, last } = progress;
    return `iteration ${iteration}: ${what}${last === undefined ? '' : ` (the last one took ${formatDuration(last)})`}…`;
  };
  return {
    doing,
    /** Starts iteration `iteration`'s message before its first phase is heard. */
    starting(iteration: number, last?: number) {
      progress = { iteration, last };
      return doing('sampling answers, scoring them with the reward model, then PPO epochs');
    },
  };
}

export function createPpoSlice(store: TrainingStore): PpoSlice {
  /** PPO iterations are run by one loop at a time; this flags that the loop exists. */
  let loop: Promise<void> | undefined;
  /** When the iteration in progress began (for the time an iteration takes). */
  let iterationStartedAt = 0;
  const messages = iterationMessages();

  const savePolicy = async (saved: PpoIterationReport['saved']) => {
    if (!saved) return;
    await saveCheckpoint(store, saved);
    setRun(store, 'ppo', { checkpoint: saved.name });
  };

  const onPhase = (phase: PpoPhase) => setRun(store, 'ppo', { message: messages.doing(phaseText(phase)) });

  const onIteration = async (report: PpoIterationReport) => {
    const took = Date.now() - iterationStartedAt;
    iterationStartedAt = Date.now();
    setRun(store, 'ppo', (run) => ({
      metrics: [...run.metrics, ppoMetricRow(report)],
      samples: [...run.samples, ...report.samples].slice(-MAX_PPO_SAMPLES),
      message: messages.starting(report.iteration + 2, took),
    }));
    await savePolicy(report.saved);
    await persistRun(store, 'ppo');
  };

  /** Runs PPO iterations in the worker until paused (or `iterations` are done). */
  const runIterations = (iterations: number) => {
    if (loop) return loop;
    const next = new Set(store.getState().runs.ppo?.metrics.map((row) => row.iteration)).size + 1;
    iterationStartedAt = Date.now();
    setRun(store, 'ppo', { status: 'running', message: messages.starting(next), error: undefined });
    loop = (async () => {
      try {
        const result = await labWorker().ppoRun(iterations, Comlink.proxy(onIteration), Comlink.proxy(onPhase));
        await savePolicy(result.saved);
        await finishRun(store, 'ppo', 'paused');
        store.setState({ active: 'policy' });
      } catch (error) {
        await failRun(store, 'ppo', error);
      } finally {
        loop = undefined;
      }
    })();
    return loop;
  };

  /** The "policy" checkpoint saved by this run (an older run's policy does not count). */
  const policyOf = (run: RunState) =>
    store.getState().checkpoints.find((c) => c.name === 'policy' && c.createdAt >= run.startedAt);

  /** Starts the worker's session; a failure ends the run as failed (shown on the run) and stops the caller. */
  const startSession = async (settings: PpoSettings) => {
    try {
      await labWorker().ppoStart(settings);
      return true;
    } catch (error) {
      await failRun(store, 'ppo', error);
      return false;
    }
  };

  /**
   * Makes sure the worker has a PPO session for the current run (creating the run if needed); false
   * when it could not (the run says why). A paused run whose hyperparameters changed continues from
   * its saved policy with the new ones.
   */
  const ensureSession = async (hyper: Hyperparameters, seed: number, prompts: string[]) => {
    const run = store.getState().runs.ppo;
    const settings = ppoSettingsOf(hyper, seed, prompts);
    const stored = storedSettingsOf(hyper, seed, prompts);
    const policy = run && policyOf(run);
    if (run && run.status === 'paused' && !run.interrupted) {
      if (sameSettings(run.settings, stored)) return true;
      if (policy) {
        if (!(await startSession({ ...settings, resumeAt: policy.step ?? 0 }))) return false;
        setRun(store, 'ppo', { settings: stored, message: 'continuing from the saved policy with the new settings' });
        return true;
      }
    }
    await startRun(store, 'ppo', stored);
    if (!(await startSession(settings))) return false;
    setRun(store, 'ppo', { status: 'paused' });
    return true;
  };

  /** Start and Step: a session, then `iterations` iterations (none if the session could not start). */
  const train = async (iterations: number, hyper: Hyperparameters, seed: number, prompts: string[]) => {
    if (loop) return;
    await exclusively(store, async () => {
      if (await ensureSession(hyper, seed, prompts)) await runIterations(iterations);
    });
  };

  return {
    ppoStart: (hyper, seed, prompts) => train(PPO_MAX_ITERATIONS, hyper, seed, prompts),

    ppoStep: (hyper, seed, prompts) => train(1, hyper, seed, prompts),

    async ppoPause() {
      await labWorker().ppoPause();
      await loop;
    },

    async ppoReset() {
      await store.getState().ppoPause();
      await labWorker().ppoReset();
      if (store.getState().runs.ppo) await finishRun(store, 'ppo', 'stopped');
      store.setState((state) => ({ runs: { ...state.runs, ppo: undefined } }));
    },

    async ppoResume(prompts) {
      const run = store.getState().runs.ppo;
      if (!run || loop) return;
      const policy = policyOf(run);
      const { iteration, metrics, samples } = resumePoint(run, policy?.step);
      const settings = { ...storedPpoSettings(run.settings), prompts, ...(policy && { resumeAt: iteration }) };
      await exclusively(store, async () => {
        setRun(store, 'ppo', {
          metrics,
          samples,
          interrupted: false,
          error: undefined,
          message: `resuming at iteration ${iteration + 1}`,
        });
        if (await startSession(settings)) await runIterations(PPO_MAX_ITERATIONS);
      });
    },
  };
}

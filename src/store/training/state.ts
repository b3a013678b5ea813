// The training store's shape, one interface per concern (checkpoints, runs, the PPO session,
// evaluation, and the page's session: restore, the GPU device, other tabs), and the convention by
// which every failure reaches the screen:
//   - a run's failure is written on the run (`run.error`, saved with it; RunStatus shows it);
//   - the evaluation's failure is written on the evaluation (`evaluation.error`; the Evaluate panel);
//   - any other action's failure is the store's `error` (TrainingAlerts, on every training panel);
//   - requests whose result a panel awaits (generate, score, export, import and delete a checkpoint)
//     reject, and that panel shows the failure with its ErrorLine.
// No action swallows a failure. Types only: the slices beside this file implement them.
import type { StoreApi } from 'zustand';
import type { CheckpointFiles, CheckpointInput } from '../../model/checkpoint.ts';
import type { SamplingOptions } from '../../model/sampler.ts';
import type { StoredDemonstration, StoredJudgment, StoredRanking } from '../../data/lab-db.ts';
import type { Hyperparameters } from '../hyperparameters.ts';
import type {
  BlindPair,
  CheckpointSummary,
  EvaluationRow,
  EvaluationSettings,
  LabeledMisprediction,
} from '../../../workers/lab.worker.ts';
import type { RunKind, RunState } from '../runRecords.ts';

export interface CheckpointEntry extends CheckpointSummary {
  /** Written to IndexedDB (the state says so only after the write committed). */
  saved: boolean;
}

/** The worker's named checkpoints, the one the Rank panel samples from, and their files. */
export interface CheckpointsSlice {
  checkpoints: CheckpointEntry[];
  /** The checkpoint the Rank panel samples from ("current model"). */
  active: string;
  /** Stored checkpoints that do not fit the loaded base (another preset), with why. */
  skipped: string[];
  setActive(name: string): void;
  generate(prompts: string[], K: number, options?: Partial<SamplingOptions>): Promise<string[][]>;
  exportCheckpoint(name: string): Promise<CheckpointFiles>;
  /** The checkpoint as an ONNX model (bytes of FILE.onnx). */
  exportOnnx(name: string): Promise<Uint8Array>;
  /** Refuses an existing name unless `replace`; a replaced checkpoint stays whole until its successor is saved. */
  importCheckpoint(name: string, files: CheckpointInput, options?: { replace?: boolean }): Promise<void>;
  deleteCheckpoint(name: string): Promise<void>;
}

/** The SFT, reward-model and DPO runs (PPO's run too: its session is PpoSlice), and the reward model's checks. */
export interface RunsSlice {
  runs: Partial<Record<RunKind, RunState>>;
  mistakes?: LabeledMisprediction[];
  stop(kind: RunKind): Promise<void>;
  trainSft(demonstrations: StoredDemonstration[], hyper: Hyperparameters, seed: number): Promise<void>;
  trainRewardModel(
    rankings: StoredRanking[],
    demonstrations: StoredDemonstration[],
    hyper: Hyperparameters,
    seed: number,
  ): Promise<void>;
  findMistakes(rankings: StoredRanking[]): Promise<void>;
  score(prompt: string, response: string): Promise<number>;
  trainDpo(rankings: StoredRanking[], hyper: Hyperparameters, seed: number): Promise<void>;
}

/** Play / pause / step / reset of PPO, and resuming a run a reload interrupted. */
export interface PpoSlice {
  ppoStart(hyper: Hyperparameters, seed: number, prompts: string[]): Promise<void>;
  ppoStep(hyper: Hyperparameters, seed: number, prompts: string[]): Promise<void>;
  ppoPause(): Promise<void>;
  ppoReset(): Promise<void>;
  ppoResume(prompts: string[]): Promise<void>;
}

export interface EvaluationState {
  status: 'idle' | 'running' | 'done' | 'failed';
  message?: string;
  rows?: EvaluationRow[];
  error?: string;
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

/** The held-out labeler's table and a person's blind A/B judgments. */
export interface EvaluationSlice {
  evaluation: EvaluationState;
  blind?: BlindSession;
  judgments: StoredJudgment[];
  evaluate(names: string[], settings: EvaluationSettings): Promise<void>;
  startBlind(a: string, b: string, count: number, settings: EvaluationSettings): Promise<void>;
  judge(winner: 'a' | 'b' | 'tie'): Promise<void>;
}

/** The page's session: what a reload brings back, the GPU device, other tabs, and the failures of actions that are not runs. */
export interface SessionSlice {
  restored: boolean;
  /** The last failure of an action that is neither a run nor the evaluation (see the convention above). */
  error?: string;
  /** Set when the GPU device was lost; recoverDevice() reloads the last saved checkpoints. */
  deviceLost?: string;
  /** Another tab of the lab is training (it holds the training lock): this one cannot until it finishes. */
  otherTabTraining: boolean;
  restore(): Promise<void>;
  watchDevice(): Promise<void>;
  recoverDevice(): Promise<void>;
}

export type TrainingState = CheckpointsSlice & RunsSlice & PpoSlice & EvaluationSlice & SessionSlice;

/** What a slice reads and writes the whole store through. */
export type TrainingStore = Pick<StoreApi<TrainingState>, 'getState' | 'setState'>;

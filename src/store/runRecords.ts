// The records behind the training store, as pure functions: runs and their metric rows, the
// held-out split of rankings, each stage's metric rows (TRL's names), PPO resume points, blind A/B
// sides and tallies, the settings a run was started with, and metric CSV. No state, no worker, no
// IndexedDB: unit tests call them directly.
import { EOS, hashString, type Ranking } from '../world/index.ts';
import { withIdenticalOutputsTied } from '../rlhf/rankings.ts';
import type { StoredDemonstration, StoredJudgment, StoredRanking, StoredRun } from '../data/lab-db.ts';
import type { Hyperparameters } from './hyperparameters.ts';
import type {
  DemonstrationText,
  LabWorkerApi,
  PpoIterationReport,
  PpoSampleRow,
  PpoSettings,
} from '../../workers/lab.worker.ts';

export type RunKind = StoredRun['kind'];
export type RunStatus = StoredRun['status'];
export type MetricRow = Record<string, number>;

export interface RunState extends StoredRun {
  samples: PpoSampleRow[];
  /** The page was reloaded while this run was running: it can resume from its last saved checkpoint. */
  interrupted?: boolean;
  /** What the run is doing now, in words. */
  message?: string;
}

/** Share of rankings held out from reward-model training for its held-out accuracy. */
export const HELDOUT_RANKING_SHARE = 0.2;
/** PPO saves its policy checkpoint every iteration, so a reload resumes where the page says it stopped. */
export const PPO_SAVE_EVERY = 1;
/** PPO samples kept (and persisted) per run: the latest iterations' tables. */
export const MAX_PPO_SAMPLES = 160;

/** "1 min 5 s", "40 s": a duration for the status line. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/**
 * "step k of n", with the time left once steps after the first were measured (the first includes
 * compiling the kernels, so the estimate starts from it).
 */
export function stepProgress(clock: () => number = Date.now): (step: number, total: number) => string {
  let first: { step: number; at: number } | undefined;
  return (step, total) => {
    const now = clock();
    first ??= { step, at: now };
    if (step <= first.step) return `step ${step} of ${total} · estimating the time left…`;
    const perStep = (now - first.at) / (step - first.step);
    return `step ${step} of ${total} · about ${formatDuration(perStep * (total - step))} left`;
  };
}

/**
 * Splits rankings into train and held out: the held-out share is the rankings whose id hashes
 * lowest, so the same rankings always split the same way, whatever their order (each reward model
 * trains afresh from SFT, so the split may shift as rankings are added). Fewer than 3: none held out.
 */
export function splitRankings<R extends { id: string }>(
  rankings: readonly R[],
  share = HELDOUT_RANKING_SHARE,
): { train: R[]; heldout: R[] } {
  if (rankings.length < 3 || share <= 0) return { train: [...rankings], heldout: [] };
  const count = Math.min(rankings.length - 1, Math.max(1, Math.round(rankings.length * share)));
  const held = new Set(
    [...rankings]
      .sort((x, y) => hashString(x.id) - hashString(y.id) || (x.id < y.id ? -1 : 1))
      .slice(0, count)
      .map((r) => r.id),
  );
  return { train: rankings.filter((r) => !held.has(r.id)), heldout: rankings.filter((r) => held.has(r.id)) };
}

/** A stored ranking as the trainers take it (without its id and time). */
export function toRanking(stored: StoredRanking): Ranking {
  const { promptId, prompt, responses, order, source, ties, likert, flags } = stored;
  return withIdenticalOutputsTied({
    promptId,
    prompt,
    responses,
    order,
    source,
    ...(ties && { ties }),
    ...(likert && { likert }),
    ...(flags && { flags }),
  });
}

/** A demonstration's response text: a TRL-style completion (" …<|endoftext|>") is unwrapped. */
export function demonstrationText(d: Pick<StoredDemonstration, 'prompt' | 'completion'>): DemonstrationText {
  const completion = d.completion.endsWith(EOS) ? d.completion.slice(0, -EOS.length) : d.completion;
  return { prompt: d.prompt.trim(), response: completion.trim() };
}

/** Metric rows as CSV: one column per metric name (first-seen order), empty cells where absent or not finite. */
export function metricsCsv(rows: readonly MetricRow[]): string {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const cell = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '' : String(value));
  const quote = (name: string) => (/[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name);
  return (
    [columns.map(quote).join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\n') + '\n'
  );
}

export function newRun(kind: RunKind, settings: Record<string, number | string>, now: number): RunState {
  return {
    id: `${kind}-${now}-${Math.floor(Math.random() * 1e6)}`,
    kind,
    status: 'running',
    startedAt: now,
    updatedAt: now,
    settings,
    metrics: [],
    samples: [],
  };
}

/** The latest stored run of each kind; one that was running when the page went away is interrupted. */
export function runsFromStored(stored: readonly StoredRun[]): Partial<Record<RunKind, RunState>> {
  const latest: Partial<Record<RunKind, RunState>> = {};
  for (const run of stored) {
    const current = latest[run.kind];
    if (current && current.startedAt > run.startedAt) continue;
    const samples = run.samples.map((s) => ({ kl: NaN, ended: true, sftResponse: '', ...s }));
    latest[run.kind] =
      run.status === 'running' ? { ...run, samples, status: 'paused', interrupted: true } : { ...run, samples };
  }
  return latest;
}

/** The PPO iteration a resumed run continues from: the saved policy's step, its metrics cut there. */
export function resumePoint(
  run: RunState,
  policyStep: number | undefined,
): { iteration: number; metrics: MetricRow[]; samples: PpoSampleRow[] } {
  const iteration = policyStep ?? 0;
  return {
    iteration,
    metrics: run.metrics.filter((m) => m.iteration < iteration),
    samples: run.samples.filter((s) => s.iteration < iteration),
  };
}

// Metric rows: the part of each stage's progress report from the worker (its own callback types,
// read off its API, already under TRL's metric names) that the charts, the CSV export and the saved
// runs keep.

/** What the worker reports after each step of SFT, reward-model and DPO training (its onProgress arguments). */
type SftProgressReport = Parameters<Parameters<LabWorkerApi['trainSft']>[2]>[0];
type RewardModelProgressReport = Parameters<Parameters<LabWorkerApi['trainRewardModel']>[3]>[0];
type DpoProgressReport = Parameters<Parameters<LabWorkerApi['trainDpo']>[2]>[0];

/** The metrics an SFT step's row keeps (the worker reports them under TRL's SFTTrainer names). */
export function sftMetricRow(p: SftProgressReport): MetricRow {
  const row: MetricRow = {
    step: p.step,
    epoch: p.epoch,
    loss: p.loss,
    learning_rate: p.learning_rate,
    grad_norm: p.grad_norm,
    mean_token_accuracy: p.mean_token_accuracy,
  };
  if (p.heldout_loss !== undefined) row.heldout_loss = p.heldout_loss;
  return row;
}

/** The metrics a reward-model step's row keeps (TRL's RewardTrainer names). */
export function rewardModelMetricRow(p: RewardModelProgressReport): MetricRow {
  const row: MetricRow = {
    step: p.step,
    loss: p.loss,
    accuracy: p.accuracy,
    margin: p.margin,
    learning_rate: p.learning_rate,
  };
  if (p.heldout_accuracy !== undefined) row.heldout_accuracy = p.heldout_accuracy;
  if (p.heldout_loss !== undefined) row.heldout_loss = p.heldout_loss;
  return row;
}

/** The metrics a DPO step's row keeps (TRL's DPOTrainer names). */
export function dpoMetricRow(p: DpoProgressReport): MetricRow {
  return {
    step: p.step,
    loss: p.loss,
    'rewards/accuracies': p['rewards/accuracies'],
    'rewards/margins': p['rewards/margins'],
    learning_rate: p.learning_rate,
  };
}

/** A PPO iteration as one metric row: the iteration number and TRL's metric names. */
export function ppoMetricRow(report: Pick<PpoIterationReport, 'iteration' | 'metrics'>): MetricRow {
  return { iteration: report.iteration, ...(report.metrics as unknown as MetricRow) };
}

/** Which blind pairs show a's answer on the right, from a seed (half of them, shuffled). */
export function blindSides(count: number, seed: number): boolean[] {
  return Array.from({ length: count }, (_, i) => (hashString(`${seed}:${i}`) & 1) === 1);
}

/** Wins of each checkpoint in the judgments between a and b (either way round), and ties. */
export function judgmentTally(
  judgments: readonly StoredJudgment[],
  a: string,
  b: string,
): { wins: Record<string, number>; ties: number; total: number } {
  const wins: Record<string, number> = { [a]: 0, [b]: 0 };
  let ties = 0;
  let total = 0;
  for (const j of judgments) {
    if (!((j.a === a && j.b === b) || (j.a === b && j.b === a))) continue;
    total += 1;
    if (j.winner === 'tie') ties += 1;
    else wins[j.winner === 'a' ? j.a : j.b] += 1;
  }
  return { wins, ties, total };
}

/** The run as IndexedDB keeps it: without its transient message and flags, with the latest samples. */
export function storedRun(run: RunState): StoredRun {
  const { id, kind, status, startedAt, updatedAt, settings, metrics, samples, checkpoint, error } = run;
  return {
    id,
    kind,
    status,
    startedAt,
    updatedAt,
    settings,
    metrics,
    samples: samples.slice(-MAX_PPO_SAMPLES),
    ...(checkpoint && { checkpoint }),
    ...(error && { error }),
  };
}

export function ppoSettingsOf(hyper: Hyperparameters, seed: number, prompts: string[]): PpoSettings {
  return {
    prompts,
    klCoef: hyper.klCoef,
    lr: hyper.ppoLr,
    clipRange: hyper.clipRange,
    ppoEpochs: hyper.ppoEpochs,
    batchSize: hyper.batchSize,
    temperature: hyper.temperature,
    ptxCoef: hyper.ptxCoef,
    maxNewTokens: hyper.maxNewTokens,
    seed,
    worldSeed: seed,
    saveEvery: PPO_SAVE_EVERY,
  };
}

/** A stored PPO run's settings for the worker (without the prompts, which are not stored); older names are read where runs are loaded (migrateStoredRun). */
export function storedPpoSettings(stored: Record<string, number | string>): Omit<PpoSettings, 'prompts'> {
  return stored as unknown as Omit<PpoSettings, 'prompts'>;
}

export function sameSettings(a: Record<string, number | string>, b: Record<string, number | string>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key] === b[key]);
}

/** The stored settings of a PPO run with these hyperparameters. */
export function storedSettingsOf(
  hyper: Hyperparameters,
  seed: number,
  prompts: string[],
): Record<string, number | string> {
  return storedSettings(ppoSettingsOf(hyper, seed, prompts));
}

/** A run's settings as stored: numbers and strings only (the prompt list is not stored). */
function storedSettings(settings: object): Record<string, number | string> {
  return Object.fromEntries(
    Object.entries(settings).filter(([, v]) => typeof v === 'number' || typeof v === 'string'),
  ) as Record<string, number | string>;
}

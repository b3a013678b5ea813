// What a user saved before PPO's settings took one name in every layer (issue 20 item 4) — the
// KL coefficient, the clip range and the batch size were `beta`, `clip` and `ppoBatch` (or
// `batch`) in the page's hyperparameters, saved runs and checkpoint metadata, and the logged KL
// coefficient was the metric `beta`. This module is the one place that reads those old names, one
// function per format, each applied where that format is read:
//   lesson links and lesson bundles' "lesson" query → migrateLessonQuery (lessonStore.parseLesson)
//   saved runs, from IndexedDB or a lesson bundle    → migrateStoredRun (lab-db allRuns, lessonBundle)
//   checkpoint metadata (config.json's meta)         → migrateCheckpointMeta (worker registry, CLI)
// An old name is read only when the new one is absent; writers use the new names only. DPO's
// `beta` (TRL's DPO temperature) is another setting with the same letter and is never renamed.

/** The parts of a saved run (lab-db's StoredRun) that the migration reads. */
interface RunRecord {
  kind: string;
  settings: Record<string, number | string>;
  metrics: Record<string, number>[];
}

/** Lesson-link query keys of the PPO hyperparameters before the rename → their names now. */
export const LEGACY_LESSON_KEYS: Readonly<Record<string, string>> = {
  beta: 'klCoef',
  clip: 'clipRange',
  ppoBatch: 'batchSize',
};

/** A stored PPO run's settings keys before the rename → their names now (the oldest runs kept `batch`). */
export const LEGACY_PPO_SETTINGS: Readonly<Record<string, string>> = {
  beta: 'klCoef',
  clip: 'clipRange',
  batch: 'batchSize',
  ppoBatch: 'batchSize',
};

/** PPO's logged metrics before the rename → TRL's names (TRL's PPOTrainer logs the KL coefficient as objective/kl_coef). */
export const LEGACY_PPO_METRICS: Readonly<Record<string, string>> = {
  beta: 'objective/kl_coef',
};

/** A PPO policy checkpoint's metadata keys before the rename → their names now (TRL's PPOConfig.kl_coef). */
export const LEGACY_POLICY_META: Readonly<Record<string, string>> = {
  beta: 'kl_coef',
};

/** A copy of record with each old key renamed, unless the new key is there too (then the old one is dropped). */
function renamed<T>(record: Readonly<Record<string, T>>, names: Readonly<Record<string, string>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of Object.entries(record)) if (!(key in names)) out[key] = value;
  for (const [key, value] of Object.entries(record)) {
    const now = names[key];
    if (now !== undefined && !(now in out)) out[now] = value;
  }
  return out;
}

/**
 * A lesson link's query with the old PPO hyperparameter keys (`beta`, `clip`, `ppoBatch`) read
 * under their names now; a new key in the same query wins over its old one. Other keys are kept.
 */
export function migrateLessonQuery(search: string): URLSearchParams {
  const params = new URLSearchParams(search);
  for (const [old, now] of Object.entries(LEGACY_LESSON_KEYS)) {
    const value = params.get(old);
    if (value === null) continue;
    params.delete(old);
    if (!params.has(now)) params.set(now, value);
  }
  return params;
}

/**
 * A saved run with a PPO run's old settings keys (`beta`, `clip`, `batch`) and old metric
 * (`beta`) under their names now. Other kinds are returned as they are (DPO's `beta` stays).
 */
export function migrateStoredRun<Run extends RunRecord>(run: Run): Run {
  if (run.kind !== 'ppo') return run;
  return {
    ...run,
    settings: renamed(run.settings, LEGACY_PPO_SETTINGS),
    metrics: run.metrics.map((row) => renamed(row, LEGACY_PPO_METRICS)),
  };
}

/** A checkpoint's metadata with a PPO policy's old `beta` read as `kl_coef`; other kinds' metadata as it is. */
export function migrateCheckpointMeta(meta: Readonly<Record<string, string>>): Record<string, string> {
  return meta.kind === 'policy' ? renamed(meta, LEGACY_POLICY_META) : { ...meta };
}

// Export and import of a whole lesson as one zip (the format is lessonBundle.ts), through the
// lab's own stores: settings from and to the lesson store, demonstrations and rankings through the
// lab-data store's JSONL export and import, checkpoints through the training store's export and
// import (validated in the worker, saved, only then registered), runs into IndexedDB. An import
// is planned first: what it would replace (a checkpoint or run of the same name, other lesson
// settings) is listed for the person to decide — replace, or keep theirs and import the rest. The
// shipped base is never part of a bundle; demonstrations and rankings already here are not added twice.
import { labDb, type StoredRun } from '../data/lab-db.ts';
import { useLabDataStore } from './labDataStore.ts';
import { buildLessonBundle, readLessonBundle, type LessonBundle } from './lessonBundle.ts';
import { lessonSearch, parseLesson, useLessonStore, type LessonSetup } from './lessonStore.ts';
import { HYPERPARAMETER_SPECS, type HyperparameterName } from './hyperparameters.ts';
import { runsFromStored, storedRun } from './runRecords.ts';
import { useTrainingStore } from './trainingStore.ts';

export interface LessonImportPlan {
  fileName: string;
  bundle: LessonBundle;
  /** What exists here and the bundle would replace, in words; empty when nothing would be. */
  conflicts: string[];
}

/** What importing `theirs` would change of `mine`, in words ("KL coefficient β 0.02 → 0.05"); the panel open replaces nothing. */
function settingsChanges(mine: LessonSetup, theirs: LessonSetup): string[] {
  const changes = mine.seed === theirs.seed ? [] : [`TinyWorld seed ${mine.seed} → ${theirs.seed}`];
  for (const [name, spec] of Object.entries(HYPERPARAMETER_SPECS)) {
    const key = name as HyperparameterName;
    if (mine.hyper[key] !== theirs.hyper[key]) changes.push(`${spec.label} ${mine.hyper[key]} → ${theirs.hyper[key]}`);
  }
  return changes;
}

/** The saved runs, with the training store's fresher copies of those it holds. */
async function currentRuns(): Promise<StoredRun[]> {
  const byId = new Map((await useLabDataStore.getState().listRuns()).map((run) => [run.id, run]));
  for (const run of Object.values(useTrainingStore.getState().runs)) if (run) byId.set(run.id, storedRun(run));
  return [...byId.values()];
}

/** The bundle of this lab's lesson with the named checkpoints (the base is left out). */
export async function exportLessonBundle(checkpoints: readonly string[], createdAt = Date.now()): Promise<Uint8Array> {
  const data = useLabDataStore.getState();
  const training = useTrainingStore.getState();
  const bundled = [];
  for (const name of checkpoints.filter((n) => n !== 'base'))
    bundled.push({ name, files: await training.exportCheckpoint(name) });
  return buildLessonBundle(
    {
      lesson: lessonSearch(useLessonStore.getState()),
      demonstrationsJsonl: data.exportJsonl('demonstrations'),
      rankingsJsonl: data.exportJsonl('rankings'),
      runs: await currentRuns(),
      checkpoints: bundled,
    },
    createdAt,
  );
}

/** Reads and checks a bundle and lists what importing it would replace; writes nothing. */
export async function planLessonImport(bytes: Uint8Array, fileName: string): Promise<LessonImportPlan> {
  const bundle = readLessonBundle(bytes, fileName);
  const current = useLessonStore.getState();
  const incoming = parseLesson(bundle.lesson);
  if (incoming.preset !== current.preset) {
    throw new Error(
      `${fileName} is a lesson on the ${incoming.preset} model and this lab runs the ${current.preset} one: choose ${incoming.preset} under Preset on the Model panel (the lab restarts on it), then import the bundle again`,
    );
  }
  const checkpoints = new Set(useTrainingStore.getState().checkpoints.map((c) => c.name));
  const runs = new Set((await currentRuns()).map((r) => r.id));
  const conflicts = [
    ...bundle.checkpoints.filter((c) => checkpoints.has(c.name)).map((c) => `checkpoint “${c.name}”`),
    ...bundle.runs
      .filter((r) => runs.has(r.id))
      .map((r) => `the ${r.kind.replace('_', ' ')} run of ${new Date(r.startedAt).toLocaleString()}`),
  ];
  const changes = settingsChanges(current, incoming);
  if (changes.length > 0) conflicts.push(`the lesson settings: ${changes.join(', ')}`);
  return { fileName, bundle, conflicts };
}

/** Sets the lesson's seed and hyperparameters to the bundle's (the preset is the same, the panel stays). */
async function applySettings(lesson: LessonSetup): Promise<void> {
  const store = useLessonStore.getState();
  store.setSeed(lesson.seed);
  for (const [name, value] of Object.entries(lesson.hyper)) store.setHyper(name as HyperparameterName, value);
  await useLabDataStore.getState().load(); // the seed's prompts, before imported data is matched to them
}

/** The lines of `jsonl` that are not lines of `existing` (records exported from this lab already). */
function newLines(jsonl: string, existing: string): string {
  const known = new Set(existing.split('\n'));
  return jsonl
    .split('\n')
    .filter((line) => line.trim() !== '' && !known.has(line))
    .map((line) => `${line}\n`)
    .join('');
}

async function importData(kind: 'demonstrations' | 'rankings', jsonl: string): Promise<number> {
  const data = useLabDataStore.getState();
  const text = newLines(jsonl, data.exportJsonl(kind));
  if (text === '') return 0;
  const summary = await data.importJsonl(kind, text);
  return kind === 'demonstrations' ? summary.demonstrations : summary.rankings;
}

async function importCheckpoints(bundle: LessonBundle, replace: boolean): Promise<string[]> {
  const training = useTrainingStore.getState();
  const imported: string[] = [];
  for (const { name, files } of bundle.checkpoints) {
    const exists = useTrainingStore.getState().checkpoints.some((c) => c.name === name);
    if (exists && !replace) continue;
    await training.importCheckpoint(name, files, { replace: exists });
    imported.push(name);
  }
  return imported;
}

async function importRuns(runs: readonly StoredRun[], replace: boolean): Promise<number> {
  const db = await labDb();
  const existing = new Set((await currentRuns()).map((r) => r.id));
  const chosen = runs.filter((run) => replace || !existing.has(run.id));
  for (const run of chosen) await db.putRun(run);
  // as after a reload: each kind's latest run, a run saved while running shown as interrupted
  useTrainingStore.setState({ runs: runsFromStored(await db.allRuns()) });
  return chosen.length;
}

const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Imports a planned bundle: with `replace`, over what the plan listed; without, keeping those and
 * importing the rest. Refused while a run trains. Returns what was imported, in words.
 */
export async function applyLessonImport(
  { fileName, bundle, conflicts }: LessonImportPlan,
  replace: boolean,
): Promise<string> {
  const running = Object.values(useTrainingStore.getState().runs).find((run) => run?.status === 'running');
  if (running)
    throw new Error(`a ${running.kind.replace('_', ' ')} run is training: pause or stop it, then import ${fileName}`);
  const incoming = parseLesson(bundle.lesson);
  const settingsDiffer = settingsChanges(useLessonStore.getState(), incoming).length > 0;
  if (settingsDiffer && replace) await applySettings(incoming);
  const checkpoints = await importCheckpoints(bundle, replace);
  const runs = await importRuns(bundle.runs, replace);
  const demonstrations = await importData('demonstrations', bundle.demonstrationsJsonl);
  const rankings = await importData('rankings', bundle.rankingsJsonl);
  const parts = [
    counted(demonstrations, 'new demonstration', 'new demonstrations'),
    counted(rankings, 'new ranking', 'new rankings'),
    counted(runs, 'run', 'runs'),
    checkpoints.length === 0
      ? 'no checkpoint'
      : `checkpoint${checkpoints.length > 1 ? 's' : ''} ${checkpoints.join(', ')}`,
    ...(settingsDiffer && replace ? ['its lesson settings'] : []),
  ];
  const kept = conflicts.length > 0 && !replace ? ` Kept yours: ${conflicts.join('; ')}.` : '';
  return `Imported ${fileName}: ${parts.join(', ')}.${kept}`;
}

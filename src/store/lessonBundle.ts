// The lesson bundle: a whole lesson as one zip (fflate), so a teacher can prepare it at home and
// open it on the classroom machine. Its layout:
//
//   manifest.json                  {"format": "rlhf-lab-lesson", "version": 1, "createdAt": ms,
//                                   "lesson": "?preset=micro&seed=3…" (the lesson link's query:
//                                   panel, preset, seed, hyperparameters), "checkpoints": [names]}
//   data/demonstrations.jsonl      TRL prompt–completion, as the Data panel exports it
//   data/rankings.jsonl            whole K-way rankings, as the Data panel exports them
//   runs/runs.jsonl                one saved run per line: settings, metric rows (TRL names), samples
//   checkpoints/NAME/…             a Hugging Face folder per checkpoint: model.safetensors,
//                                  config.json, tokenizer.json, tokenizer_config.json
//
// A bundle from elsewhere is untrusted: readLessonBundle lists the zip's entries before inflating
// any (at most MAX_BUNDLE_ENTRIES, their declared sizes within per-file limits and
// MAX_BUNDLE_UNCOMPRESSED_BYTES in all; an entry never inflates past its declared size), decodes
// text as strict UTF-8, and checks every file as its own import does (JSONL line by line, each
// checkpoint with loadCheckpoint). Errors name the bundle, the file (and line), what is wrong and
// what to do. A bundle unzipped and zipped again inside one folder still reads. The same folder
// layout makes a checkpoint's download one zip named after it (checkpointZip), read back with the
// same checks (readCheckpointZip).
import { unzipSync, zipSync, type UnzipFileInfo, type Zippable } from 'fflate';
import { CHECKPOINT_FILE_NAMES, loadCheckpoint, type CheckpointFiles } from '../model/checkpoint.ts';
import { decodeUtf8 } from '../model/utf8.ts';
import { DatasetError, MAX_DATASET_CHARS, parseDemonstrations, parseRankings } from '../rlhf/datasets.ts';
import type { RunKind, StoredRun } from '../data/lab-db.ts';
import { migrateStoredRun } from '../data/legacy-names.ts';

export const LESSON_BUNDLE_FORMAT = 'rlhf-lab-lesson';
export const LESSON_BUNDLE_VERSION = 1;
/** The largest bundle file read, and the most its entries may hold once inflated. */
export const MAX_BUNDLE_BYTES = 2 ** 30;
export const MAX_BUNDLE_UNCOMPRESSED_BYTES = 2 ** 30;
/** Entries a bundle may list: 4 files per checkpoint leave room for 250 checkpoints. */
export const MAX_BUNDLE_ENTRIES = 1024;
/** The largest text file in a bundle (a JSONL, config.json or tokenizer.json). */
const MAX_TEXT_BYTES = MAX_DATASET_CHARS;
const MAX_LESSON_CHARS = 4096;

const MANIFEST = 'manifest.json';
const DEMONSTRATIONS = 'data/demonstrations.jsonl';
const RANKINGS = 'data/rankings.jsonl';
const RUNS = 'runs/runs.jsonl';
const CHECKPOINTS = 'checkpoints/';

/** A checkpoint as a bundle carries it: its name (the folder's) and its Hugging Face files. */
export interface BundledCheckpoint {
  name: string;
  files: CheckpointFiles;
}

export interface LessonBundle {
  /** The lesson link's query string ('' or '?…'): panel, preset, seed, hyperparameters. */
  lesson: string;
  demonstrationsJsonl: string;
  rankingsJsonl: string;
  runs: StoredRun[];
  checkpoints: BundledCheckpoint[];
}

/** What is wrong with a bundle: "FILE: WHERE: WHAT: what to do". */
export class LessonBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LessonBundleError';
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A checkpoint name that is also a safe folder name in a zip. */
export function isBundleableName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\u0000-\u001f]/.test(name);
}

/** A checkpoint's files in a zip; float32 weights are stored as they are (deflate saves ~7% of them, 18× slower). */
function checkpointEntries(folder: string, files: CheckpointFiles): Zippable {
  const encoder = new TextEncoder();
  const entries: Zippable = {};
  for (const file of CHECKPOINT_FILE_NAMES) {
    const content = files[file];
    entries[`${folder}${file}`] = typeof content === 'string' ? encoder.encode(content) : [content, { level: 0 }];
  }
  return entries;
}

function assertBundleable(name: string): void {
  if (!isBundleableName(name))
    throw new Error(
      `the checkpoint name "${name}" cannot be a folder in a zip (it holds a slash or a control character): rename it`,
    );
}

/** The zip of a lesson; the shipped base is never part of one. */
export function buildLessonBundle(bundle: LessonBundle, createdAt: number): Uint8Array {
  const encoder = new TextEncoder();
  const entries: Zippable = {};
  const manifest = {
    format: LESSON_BUNDLE_FORMAT,
    version: LESSON_BUNDLE_VERSION,
    createdAt,
    lesson: bundle.lesson,
    checkpoints: bundle.checkpoints.map((c) => c.name),
  };
  entries[MANIFEST] = encoder.encode(`${JSON.stringify(manifest, null, 2)}\n`);
  entries[DEMONSTRATIONS] = encoder.encode(bundle.demonstrationsJsonl);
  entries[RANKINGS] = encoder.encode(bundle.rankingsJsonl);
  entries[RUNS] = encoder.encode(bundle.runs.map((run) => `${JSON.stringify(run)}\n`).join(''));
  for (const { name, files } of bundle.checkpoints) {
    assertBundleable(name);
    if (name === 'base')
      throw new Error('"base" is the shipped base model: every lab has it, so a bundle leaves it out');
    Object.assign(entries, checkpointEntries(`${CHECKPOINTS}${name}/`, files));
  }
  return zipSync(entries);
}

/** A checkpoint's download: one zip holding the folder NAME/ (from_pretrained("NAME") after unzipping). */
export function checkpointZip(name: string, files: CheckpointFiles): Uint8Array {
  assertBundleable(name);
  return zipSync(checkpointEntries(`${name}/`, files));
}

// ---------------------------------------------------------------------------------------------
// Reading

const MiB = 2 ** 20;
const sizeText = (bytes: number) => (bytes >= MiB ? `${(bytes / MiB).toFixed(0)} MiB` : `${bytes} bytes`);

/** Lists a zip's entries without inflating any; throws if it is no zip or lists too many. */
function listEntries(bytes: Uint8Array, fail: (problem: string) => never): UnzipFileInfo[] {
  const entries: UnzipFileInfo[] = [];
  try {
    unzipSync(bytes, {
      filter(info) {
        if (entries.length === MAX_BUNDLE_ENTRIES)
          fail(
            `it lists more than ${MAX_BUNDLE_ENTRIES} files, more than any lesson or checkpoint holds: choose a .zip exported from the Data panel`,
          );
        entries.push(info);
        return false;
      },
    });
  } catch (error) {
    if (error instanceof LessonBundleError) throw error;
    fail(`it is not a zip file (${(error as Error).message}): choose the .zip exported from a lab's Data panel`);
  }
  return entries;
}

/** The folder of the one `file` at the zip's root or one folder down: '' or "FOLDER/". */
function rootOf(
  entries: readonly UnzipFileInfo[],
  file: string,
  missing: string,
  fail: (problem: string) => never,
): string {
  const found = entries
    .map((e) => e.name)
    .filter(
      (name) => name === file || (name.endsWith(`/${file}`) && name.indexOf('/') === name.length - file.length - 1),
    );
  if (found.includes(file)) return '';
  if (found.length === 1) return found[0].slice(0, -file.length);
  return fail(missing);
}

/** The most bytes a bundle file may hold once inflated. */
function limitOf(path: string): number {
  return path.endsWith('.safetensors') ? MAX_BUNDLE_UNCOMPRESSED_BYTES : MAX_TEXT_BYTES;
}

/** Inflates the files under `root`, after checking their declared sizes; their names lose the root. */
function inflateUnder(
  bytes: Uint8Array,
  entries: readonly UnzipFileInfo[],
  root: string,
  fail: (problem: string) => never,
): Map<string, Uint8Array> {
  const wanted = entries.filter((e) => e.name.startsWith(root) && !e.name.endsWith('/'));
  let total = 0;
  for (const { name, originalSize } of wanted) {
    if (originalSize > limitOf(name))
      fail(
        `${name} would inflate to ${sizeText(originalSize)}, over the ${sizeText(limitOf(name))} such a file may have: the zip is damaged or not the lab's`,
      );
    total += originalSize;
  }
  if (total > MAX_BUNDLE_UNCOMPRESSED_BYTES)
    fail(
      `its files would inflate to ${sizeText(total)}, over the ${sizeText(MAX_BUNDLE_UNCOMPRESSED_BYTES)} a bundle may hold: export fewer checkpoints`,
    );
  const names = new Set(wanted.map((e) => e.name));
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (info) => names.has(info.name) });
  } catch (error) {
    return fail(`it could not be unzipped (${(error as Error).message}): the file is damaged; export it again`);
  }
  return new Map(Object.entries(files).map(([name, content]) => [name.slice(root.length), content]));
}

/** A bundle's files, by their names in the layout (a bundle zipped again inside a folder still reads). */
function readEntries(bytes: Uint8Array, fail: (problem: string) => never): Map<string, Uint8Array> {
  const entries = listEntries(bytes, fail);
  const missing = `it has no ${MANIFEST}, so it is not a lesson bundle: choose the .zip exported with "Export lesson bundle" on the Data panel`;
  return inflateUnder(bytes, entries, rootOf(entries, MANIFEST, missing, fail), fail);
}

interface Manifest {
  createdAt: number;
  lesson: string;
  checkpoints: string[];
}

function parseManifest(text: string, fail: (problem: string) => never): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(`${MANIFEST} is not valid JSON (${(error as Error).message}): the bundle is damaged; export it again`);
  }
  const manifest = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (manifest.format !== LESSON_BUNDLE_FORMAT)
    fail(
      `${MANIFEST} says format ${JSON.stringify(manifest.format)}, not "${LESSON_BUNDLE_FORMAT}": this zip is not a lesson bundle`,
    );
  if (manifest.version !== LESSON_BUNDLE_VERSION) {
    fail(
      `${MANIFEST} says version ${JSON.stringify(manifest.version)}; this lab reads version ${LESSON_BUNDLE_VERSION}: open the bundle in the version of the lab that made it, or export it again from this one`,
    );
  }
  const { createdAt, lesson, checkpoints } = manifest;
  if (typeof createdAt !== 'number') fail(`${MANIFEST}: "createdAt" must be a number (milliseconds since 1970)`);
  if (typeof lesson !== 'string' || lesson.length > MAX_LESSON_CHARS || (lesson !== '' && !lesson.startsWith('?')))
    fail(`${MANIFEST}: "lesson" must be a lesson link's query string ("?preset=…")`);
  if (
    !Array.isArray(checkpoints) ||
    !checkpoints.every((name): name is string => typeof name === 'string' && isBundleableName(name))
  ) {
    fail(`${MANIFEST}: "checkpoints" must list the checkpoint folders' names`);
  }
  if (new Set(checkpoints).size !== checkpoints.length) fail(`${MANIFEST}: "checkpoints" names a checkpoint twice`);
  return { createdAt, lesson, checkpoints };
}

/** A bundle file as text: present, and strict UTF-8. */
function textOf(files: Map<string, Uint8Array>, path: string, fail: (problem: string) => never): string {
  const bytes = files.get(path);
  if (!bytes) return fail(`${path} is missing: the zip is incomplete; export it again`);
  try {
    return decodeUtf8(bytes, path);
  } catch (error) {
    return fail((error as Error).message);
  }
}

/** Checks a JSONL file with its own parser; a bad line is named with the file. */
function checkJsonl(
  path: string,
  text: string,
  parse: (text: string) => unknown,
  fail: (problem: string) => never,
): void {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof DatasetError) fail(`${path}: ${error.message}: fix that line, or export the bundle again`);
    throw error;
  }
}

/** The Hugging Face files in `folder`, checked as the checkpoint import checks them. */
function checkpointFilesIn(
  files: Map<string, Uint8Array>,
  folder: string,
  fail: (problem: string) => never,
): CheckpointFiles {
  const model = files.get(`${folder}model.safetensors`);
  if (!model) return fail(`${folder}model.safetensors is missing: the zip is incomplete; export it again`);
  const checkpoint: CheckpointFiles = {
    'model.safetensors': model,
    'config.json': textOf(files, `${folder}config.json`, fail),
    'tokenizer.json': textOf(files, `${folder}tokenizer.json`, fail),
    'tokenizer_config.json': textOf(files, `${folder}tokenizer_config.json`, fail),
  };
  try {
    loadCheckpoint(checkpoint);
  } catch (error) {
    fail(
      `${folder ? `checkpoint ${folder.slice(CHECKPOINTS.length, -1)} (${folder})` : 'it'} is not a valid checkpoint: ${(error as Error).message}`,
    );
  }
  return checkpoint;
}

function readCheckpoint(
  files: Map<string, Uint8Array>,
  name: string,
  fail: (problem: string) => never,
): BundledCheckpoint {
  if (name === 'base')
    fail(
      'it holds a checkpoint named "base", the shipped base model, which an import never replaces: rename that folder and its entry in manifest.json',
    );
  return { name, files: checkpointFilesIn(files, `${CHECKPOINTS}${name}/`, fail) };
}

/** Throws a LessonBundleError naming the file. */
const failing =
  (fileName: string) =>
  (problem: string): never => {
    throw new LessonBundleError(`${fileName}: ${problem}`);
  };

/** A checkpoint's zip (checkpointZip's, or its folder zipped again), checked; `fileName` names it in errors. */
export function readCheckpointZip(bytes: Uint8Array, fileName: string): CheckpointFiles {
  const fail = failing(fileName);
  if (bytes.length > MAX_BUNDLE_BYTES)
    fail(`it has ${bytes.length} bytes, over the ${sizeText(MAX_BUNDLE_BYTES)} a checkpoint zip may have`);
  const entries = listEntries(bytes, fail);
  const missing =
    "it has no config.json at its top or in one folder, so it is not a checkpoint: choose the .zip from a checkpoint's Download button";
  return checkpointFilesIn(inflateUnder(bytes, entries, rootOf(entries, 'config.json', missing, fail), fail), '', fail);
}

/** Reads and checks a bundle; `fileName` names it in errors. Throws LessonBundleError. */
export function readLessonBundle(bytes: Uint8Array, fileName: string): LessonBundle {
  const fail = failing(fileName);
  if (bytes.length > MAX_BUNDLE_BYTES)
    fail(
      `it has ${bytes.length} bytes, over the ${sizeText(MAX_BUNDLE_BYTES)} a bundle may have: export fewer checkpoints`,
    );
  const files = readEntries(bytes, fail);
  const manifest = parseManifest(textOf(files, MANIFEST, fail), fail);
  const demonstrationsJsonl = textOf(files, DEMONSTRATIONS, fail);
  checkJsonl(DEMONSTRATIONS, demonstrationsJsonl, parseDemonstrations, fail);
  const rankingsJsonl = textOf(files, RANKINGS, fail);
  checkJsonl(RANKINGS, rankingsJsonl, parseRankings, fail);
  const runs = parseRuns(textOf(files, RUNS, fail), fail);
  const checkpoints = manifest.checkpoints.map((name) => readCheckpoint(files, name, fail));
  return { lesson: manifest.lesson, demonstrationsJsonl, rankingsJsonl, runs, checkpoints };
}

// ---------------------------------------------------------------------------------------------
// Saved runs, one JSON object per line

const RUN_KINDS: readonly RunKind[] = ['sft', 'reward_model', 'ppo', 'dpo'];
const RUN_STATUSES: readonly StoredRun['status'][] = ['running', 'paused', 'done', 'failed', 'stopped'];
const RUN_KEYS = [
  'id',
  'kind',
  'status',
  'startedAt',
  'updatedAt',
  'settings',
  'metrics',
  'samples',
  'checkpoint',
  'error',
];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function only(record: Record<string, unknown>, keys: readonly string[], what: string): void {
  const unknown = Object.keys(record).filter((key) => !keys.includes(key));
  if (unknown.length > 0)
    throw new Error(
      `${what} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`,
    );
}

function field<T>(
  record: Record<string, unknown>,
  key: string,
  is: (value: unknown) => value is T,
  expected: string,
): T {
  const value = record[key];
  if (!is(value)) throw new Error(`"${key}" must be ${expected}`);
  return value;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';
const isOptionalString = (value: unknown): value is string | undefined =>
  value === undefined || typeof value === 'string';
const isOneOf =
  <T>(values: readonly T[]) =>
  (value: unknown): value is T =>
    values.includes(value as T);
const isSettings = (value: unknown): value is Record<string, number | string> =>
  isObject(value) && Object.values(value).every((v) => isNumber(v) || isString(v));

/** A metric row: JSON writes a NaN or infinite metric (a diverged loss) as null, which is left out. */
function metricRow(value: unknown): Record<string, number> {
  if (!isObject(value) || !Object.values(value).every((v) => v === null || isNumber(v)))
    throw new Error('"metrics" must be objects of numbers');
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, number] => entry[1] !== null));
}

/** A PPO sample's fields (a saved sample may also hold its KL and whether it ended, which are left out). */
function sample(value: unknown): StoredRun['samples'][number] {
  if (!isObject(value)) throw new Error('"samples" must be objects');
  const row = {
    iteration: field(value, 'iteration', isNumber, 'a number'),
    prompt: field(value, 'prompt', isString, 'a string'),
    response: field(value, 'response', isString, 'a string'),
    reward: value.reward === null ? NaN : field(value, 'reward', isNumber, 'a number'),
  };
  const sftResponse = field(value, 'sftResponse', isOptionalString, 'a string');
  return sftResponse === undefined ? row : { ...row, sftResponse };
}

function arrayField<T>(record: Record<string, unknown>, key: string, each: (value: unknown) => T): T[] {
  const value = record[key];
  if (!Array.isArray(value)) throw new Error(`"${key}" must be an array`);
  return value.map(each);
}

function storedRunFrom(record: Record<string, unknown>): StoredRun {
  only(record, RUN_KEYS, 'the run');
  const run: StoredRun = {
    id: field(record, 'id', isString, 'a string'),
    kind: field(record, 'kind', isOneOf(RUN_KINDS), `one of ${RUN_KINDS.join(', ')}`),
    status: field(record, 'status', isOneOf(RUN_STATUSES), `one of ${RUN_STATUSES.join(', ')}`),
    startedAt: field(record, 'startedAt', isNumber, 'a number'),
    updatedAt: field(record, 'updatedAt', isNumber, 'a number'),
    settings: field(record, 'settings', isSettings, 'an object of numbers and strings'),
    metrics: arrayField(record, 'metrics', metricRow),
    samples: arrayField(record, 'samples', sample),
  };
  const checkpoint = field(record, 'checkpoint', isOptionalString, 'a string');
  const error = field(record, 'error', isOptionalString, 'a string');
  // A bundle exported before PPO's settings and metric were renamed reads under the names now.
  return migrateStoredRun({
    ...run,
    ...(checkpoint !== undefined && { checkpoint }),
    ...(error !== undefined && { error }),
  });
}

function parseRuns(text: string, fail: (problem: string) => never): StoredRun[] {
  const runs: StoredRun[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      const value: unknown = JSON.parse(line);
      if (!isObject(value)) throw new Error('expected a JSON object');
      runs.push(storedRunFrom(value));
    } catch (error) {
      fail(`${RUNS}: line ${index + 1}: ${(error as Error).message}: fix that line, or export the bundle again`);
    }
  });
  if (new Set(runs.map((r) => r.id)).size !== runs.length)
    fail(`${RUNS} holds two runs with the same "id": export the bundle again`);
  return runs;
}

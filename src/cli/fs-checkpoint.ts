// Checkpoint folders on disk for the Node CLI: read and write the files of src/model/checkpoint.ts,
// with errors that name the folder and the file at fault, and the default model folder
// (public/models/base, the base model the app ships) used when a command gets no --model. A
// folder is written whole or not at all (writeFolderAtomically), so a killed save leaves the
// previous checkpoint, and every file is stat'ed against a size limit before it is read.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHECKPOINT_FILE_NAMES,
  checkpointFiles,
  loadCheckpoint,
  type Checkpoint,
  type CheckpointInput,
} from '../model/checkpoint.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { migrateCheckpointMeta } from '../data/legacy-names.ts';
import {
  checkOutputFolder,
  fileSystemError,
  MAX_READ_BYTES,
  readFileBytes,
  readFileText,
  recoverInterruptedFolder,
  writeFolderAtomically,
} from './files.ts';

/** Largest config.json or tokenizer.json read (GPT-2's own tokenizer.json has 1.4 MB). */
const MAX_JSON_BYTES = 64 * 2 ** 20;

/** The files `rlhf-lab pretrain` keeps beside a checkpoint to resume from it. */
export const RESUME_FILE_NAMES = ['optimizer.safetensors', 'train_state.json'] as const;

/** public/models/base of this repository, whatever the working directory. */
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../../public/models/base', import.meta.url));
}

/** The --model folder when given, else defaultModelDir(). */
export function resolveModelDir(model: string | boolean | undefined): string {
  if (model === undefined) return defaultModelDir();
  if (typeof model !== 'string' || model === '') throw new Error('--model needs a folder');
  return model;
}

/** Loads and validates the checkpoint in a folder; older metadata names are read as now (migrateCheckpointMeta). */
export async function readCheckpointDir(dir: string): Promise<Checkpoint> {
  await assertFolder(dir);
  const [model, config, tokenizer] = await Promise.all([
    fileOf(dir, 'model.safetensors', (path) => readFileBytes(path, MAX_READ_BYTES, 'model.safetensors')),
    readTextOf(dir, 'config.json'),
    readTextOf(dir, 'tokenizer.json'),
  ]);
  const files: CheckpointInput = { 'model.safetensors': model, 'config.json': config, 'tokenizer.json': tokenizer };
  let checkpoint: Checkpoint;
  try {
    checkpoint = loadCheckpoint(files);
  } catch (error) {
    throw new Error(`checkpoint ${dir}: ${(error as Error).message}`, { cause: error });
  }
  return checkpoint.meta === undefined ? checkpoint : { ...checkpoint, meta: migrateCheckpointMeta(checkpoint.meta) };
}

/** Loads only the tokenizer of a checkpoint folder (its tokenizer.json). */
export async function readTokenizerDir(dir: string): Promise<Tokenizer> {
  await assertFolder(dir);
  const text = await readTextOf(dir, 'tokenizer.json');
  try {
    return Tokenizer.fromJSON(text);
  } catch (error) {
    throw new Error(`checkpoint ${dir}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Writes a checkpoint's four files (and `extraFiles`, such as pretrain's optimizer state) as the
 * folder DIR, whole or not at all; its parents are created when needed.
 */
export async function writeCheckpointDir(
  dir: string,
  ckpt: Checkpoint,
  extraFiles: Record<string, string | Uint8Array> = {},
): Promise<void> {
  await checkCheckpointOutput(dir, 'checkpoint folder');
  await writeFolderAtomically(dir, { ...checkpointFiles(ckpt), ...extraFiles });
}

/** Checks before any training that DIR can receive a checkpoint: a new folder, or an older checkpoint it replaces. */
export async function checkCheckpointOutput(dir: string, option: string): Promise<void> {
  await checkOutputFolder(dir, option, [...CHECKPOINT_FILE_NAMES, ...RESUME_FILE_NAMES]);
}

async function assertFolder(dir: string): Promise<void> {
  await recoverInterruptedFolder(dir);
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`checkpoint folder ${dir} does not exist`, { cause: error });
    throw fileSystemError('read', dir, error);
  });
  if (!info.isDirectory()) throw new Error(`checkpoint folder ${dir} is not a folder`);
}

async function readTextOf(dir: string, name: string): Promise<string> {
  return fileOf(dir, name, (path) => readFileText(path, MAX_JSON_BYTES, name));
}

/** Reads a file of the folder; a missing one is "checkpoint folder DIR has no NAME". */
async function fileOf<T>(dir: string, name: string, read: (path: string) => Promise<T>): Promise<T> {
  return read(join(dir, name)).catch((error: Error) => {
    if ((error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
      throw new Error(`checkpoint folder ${dir} has no ${name}`, { cause: error });
    throw error;
  });
}

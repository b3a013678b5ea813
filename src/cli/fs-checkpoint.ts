// Checkpoint folders on disk for the Node CLI: read and write the files of src/model/checkpoint.ts,
// with errors that name the folder and the missing file, and the default model folder
// (public/models/base, the base model the app ships) used when a command gets no --model.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointFiles, loadCheckpoint, type Checkpoint, type CheckpointInput } from '../model/checkpoint.ts';
import { Tokenizer } from '../model/tokenizer.ts';

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

/** Loads and validates the checkpoint in a folder. */
export async function readCheckpointDir(dir: string): Promise<Checkpoint> {
  await assertFolder(dir);
  const [model, config, tokenizer] = await Promise.all([
    readFileOf(dir, 'model.safetensors'),
    readTextOf(dir, 'config.json'),
    readTextOf(dir, 'tokenizer.json'),
  ]);
  const files: CheckpointInput = { 'model.safetensors': model, 'config.json': config, 'tokenizer.json': tokenizer };
  try {
    return loadCheckpoint(files);
  } catch (error) {
    throw new Error(`checkpoint ${dir}: ${(error as Error).message}`, { cause: error });
  }
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

/** Writes a checkpoint's four files into a folder, creating it (and its parents) when needed. */
export async function writeCheckpointDir(dir: string, ckpt: Checkpoint): Promise<void> {
  const files = checkpointFiles(ckpt);
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(files).map(([name, content]) => writeFile(join(dir, name), content)));
}

/** Writes to a temporary name beside the target, then renames, so a killed run never leaves half a file. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.partial`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

async function assertFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`checkpoint folder ${dir} does not exist`, { cause: error });
    throw error;
  });
  if (!info.isDirectory()) throw new Error(`checkpoint folder ${dir} is not a folder`);
}

async function readFileOf(dir: string, name: string): Promise<Uint8Array> {
  try {
    const buffer = await readFile(join(dir, name));
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`checkpoint folder ${dir} has no ${name}`, { cause: error });
    }
    throw error;
  }
}

async function readTextOf(dir: string, name: string): Promise<string> {
  return new TextDecoder('utf-8').decode(await readFileOf(dir, name));
}

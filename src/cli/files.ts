// Files on disk for the Node CLI, one way for each thing:
//   reading   stat first (a folder, a device or a file over the size limit is refused before a byte
//             is read), then the bytes, or the text as strict UTF-8 (decodeUtf8 names the line)
//   writing   a file goes to a temporary name beside it, is fsynced and renamed over the target; a
//             folder is built beside its target (DIR.partial), fsynced, and renamed into place, the
//             old one kept as DIR.previous until the new one is whole — so a killed run leaves the
//             old output or the new, never half of one, and a resume never reads a half-written folder
//   outputs   checked (and their parent folders created) before any training starts
//   errors    every file-system error names the path and says what to do
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeUtf8 } from '../model/utf8.ts';

/** What a failed file operation was doing, for its message. */
type Action = 'read' | 'write' | 'create';

const ADVICE: Record<string, string> = {
  ENOENT: 'it does not exist',
  EEXIST: 'a file of that name is in the way',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ELOOP: 'its symbolic links form a loop',
  ENAMETOOLONG: 'the path is too long',
  EACCES: 'permission denied: check the permissions or choose another place',
  EPERM: 'permission denied: check the permissions or choose another place',
  EROFS: 'the file system is read-only: choose another place',
  ENOSPC: 'the disk is full: free some space and run again',
  EDQUOT: 'the disk quota is used up: free some space and run again',
  EFBIG: 'the file is too large for this file system',
  EMFILE: 'too many files are open: close some programs and run again',
};

/** A file-system error as "cannot ACTION PATH: what is wrong and what to do" (the original as its cause). */
export function fileSystemError(action: Action, path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = (code && ADVICE[code]) ?? (error as Error).message;
  return new Error(`cannot ${action} ${path}: ${reason}`, { cause: error });
}

/** Node's readFile refuses files of 2 GiB and more. */
export const MAX_READ_BYTES = 2 ** 31 - 1;

/** The bytes of a regular file of at most maxBytes, checked with stat before it is read. */
export async function readFileBytes(path: string, maxBytes: number, what: string): Promise<Uint8Array> {
  const info = await stat(path).catch((error: unknown) => {
    throw fileSystemError('read', path, error);
  });
  if (info.isDirectory()) throw new Error(`cannot read ${path}: it is a folder, not a file`);
  if (!info.isFile()) throw new Error(`cannot read ${path}: it is not a regular file`);
  if (info.size > maxBytes)
    throw new Error(
      `${path} has ${info.size} bytes, over the ${byteText(maxBytes)} a ${what} may have: check that it is the right file`,
    );
  const buffer = await readFile(path).catch((error: unknown) => {
    throw fileSystemError('read', path, error);
  });
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** The text of a UTF-8 file of at most maxBytes; invalid UTF-8 is an error naming the line. */
export async function readFileText(path: string, maxBytes: number, what: string): Promise<string> {
  return decodeUtf8(await readFileBytes(path, maxBytes, what), path);
}

function byteText(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(0)} GiB`;
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : `${bytes} bytes`;
}

/** Writes to PATH.partial beside the target, fsyncs and renames it over the target: the file is the old one or the whole new one. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.partial`;
  try {
    await writeSynced(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw fileSystemError('write', path, error);
  }
}

async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Where the folder being written is built, and where the one it replaces waits until the new one is whole. */
function folderSiblings(dir: string): { partial: string; previous: string } {
  return { partial: `${dir}.partial`, previous: `${dir}.previous` };
}

/**
 * After a run killed between the two renames of writeFolderAtomically, DIR is missing and
 * DIR.previous holds the last whole folder: it is moved back. Call before reading or writing DIR.
 */
export async function recoverInterruptedFolder(dir: string): Promise<void> {
  const { previous } = folderSiblings(dir);
  if ((await exists(dir)) || !(await exists(previous))) return;
  await rename(previous, dir).catch((error: unknown) => {
    throw fileSystemError('write', dir, error);
  });
}

/**
 * Writes the files as the folder DIR: all of them into DIR.partial (fsynced), then DIR.partial
 * renamed to DIR, the folder it replaces set aside as DIR.previous and removed only after.
 * A failure leaves DIR as it was (and no DIR.partial).
 */
export async function writeFolderAtomically(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const { partial, previous } = folderSiblings(dir);
  await recoverInterruptedFolder(dir);
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    for (const [name, content] of Object.entries(files)) await writeSynced(join(partial, name), content);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw fileSystemError('write', dir, error);
  }
  try {
    await rm(previous, { recursive: true, force: true });
    if (await exists(dir)) await rename(dir, previous);
    await rename(partial, dir);
    await rm(previous, { recursive: true, force: true });
  } catch (error) {
    throw fileSystemError('write', dir, error);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Checks an output file before any work: not a folder, its folder created and writable.
 * `option` names where the path came from (e.g. "--save-rankings").
 */
export async function checkOutputFile(path: string, option: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw new Error(`${option} ${path} is a folder; a file name is needed`);
  await checkWritableFolder(dirname(path), option, path);
}

/**
 * Checks an output folder before any work: a new folder, or one that holds only files the
 * command writes there (`replaceable`) — never a folder of other files, which a save would
 * replace. Its parent is created and must be writable.
 */
export async function checkOutputFolder(dir: string, option: string, replaceable: readonly string[]): Promise<void> {
  await recoverInterruptedFolder(dir);
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory())
    throw new Error(`${option} ${dir} is a file; a folder is needed: choose a new folder name`);
  if (info) {
    const others = (await readdir(dir)).filter((name) => !replaceable.includes(name));
    if (others.length > 0) {
      throw new Error(
        `${option} ${dir} holds ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}, not only the files it would write (a save replaces the folder): choose a new folder`,
      );
    }
  }
  await checkWritableFolder(dirname(dir), option, dir);
}

async function checkWritableFolder(folder: string, option: string, path: string): Promise<void> {
  await mkdir(folder, { recursive: true }).catch((error: unknown) => {
    throw new Error(`${option} ${path}: ${fileSystemError('create', folder, error).message}`, { cause: error });
  });
  await access(folder, constants.W_OK).catch((error: unknown) => {
    throw new Error(
      `${option} ${path}: folder ${folder} is not writable (${basename(path)} could not be saved there): choose another place`,
      { cause: error },
    );
  });
}

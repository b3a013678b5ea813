// Tests for the CLI's files (src/cli/files.ts and the checkpoint folders on it): a save that fails
// between two writes (a full disk, injected into node:fs/promises) or a run killed between the
// folder's renames leaves the previous checkpoint whole; outputs are checked before any work;
// inputs are stat'ed before they are read; every file-system error names the path.
import * as fs from 'node:fs/promises';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkOutputFile, fileSystemError, readFileBytes, writeFileAtomically } from '../../../src/cli/files.ts';
import { checkCheckpointOutput, readCheckpointDir, writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import type { Checkpoint } from '../../../src/model/checkpoint.ts';
import { initParameters, makeConfig } from '../../../src/model/config.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fs>();
  return {
    ...actual,
    open: vi.fn(actual.open),
    writeFile: vi.fn(actual.writeFile),
    rename: vi.fn(actual.rename),
    readFile: vi.fn(actual.readFile),
  };
});

const tokenizer = trainBpe(['The fox lives in the forest. Mia has a red ball.'], 280);
const config = makeConfig('micro', tokenizer.vocabSize);
const checkpointOf = (seed: number): Checkpoint => ({
  config,
  params: initParameters(config, seed),
  tokenizer,
  meta: { kind: 'base', steps: String(seed) },
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rlhf-lab-files-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));
afterEach(() => vi.clearAllMocks());

const diskFull = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** The n-th file written from now on (by writeFile or a handle opened for writing) fails as on a full disk. */
function failNthWrite(n: number): void {
  let writes = 0;
  const fail = () => (writes += 1) === n;
  vi.mocked(fs.writeFile).mockImplementation(async (...args: Parameters<typeof fs.writeFile>) => {
    if (fail()) throw diskFull();
    return (await vi.importActual<typeof fs>('node:fs/promises')).writeFile(...args);
  });
  vi.mocked(fs.open).mockImplementation(async (...args: Parameters<typeof fs.open>) => {
    if (args[1] === 'w' && fail()) throw diskFull();
    return (await vi.importActual<typeof fs>('node:fs/promises')).open(...args);
  });
}

describe('checkpoint folders are written whole or not at all', () => {
  it('a save that fails at its third file (disk full) leaves the older checkpoint whole, and names the folder', async () => {
    const out = join(dir, 'kept');
    await writeCheckpointDir(out, checkpointOf(1));
    failNthWrite(3);
    await expect(writeCheckpointDir(out, checkpointOf(2))).rejects.toThrow(
      `cannot write ${out}: the disk is full: free some space and run again`,
    );
    vi.mocked(fs.writeFile).mockReset();
    vi.mocked(fs.open).mockReset();
    const read = await readCheckpointDir(out);
    expect(read.params).toEqual(checkpointOf(1).params);
    expect(read.meta).toEqual({ kind: 'base', steps: '1' });
    expect((await readdir(dir)).filter((name) => name.startsWith('kept'))).toEqual(['kept']); // no kept.partial left
  });

  it("a run killed between the folder's two renames: the next read finds the previous checkpoint again", async () => {
    const out = join(dir, 'renamed');
    await writeCheckpointDir(out, checkpointOf(3));
    const actual = await vi.importActual<typeof fs>('node:fs/promises');
    vi.mocked(fs.rename).mockImplementation(async (from, to) => {
      if (String(from).endsWith('.partial')) throw new Error('killed'); // the old folder is already set aside
      return actual.rename(from, to);
    });
    await expect(writeCheckpointDir(out, checkpointOf(4))).rejects.toThrow(`cannot write ${out}`);
    vi.mocked(fs.rename).mockReset();
    expect(await readdir(dir)).toContain('renamed.previous');
    const read = await readCheckpointDir(out);
    expect(read.meta?.steps).toBe('3');
  });

  it("replaces an older checkpoint and keeps pretrain's resume files beside it", async () => {
    const out = join(dir, 'replaced');
    await writeCheckpointDir(out, checkpointOf(5), { 'train_state.json': '{"step": 5}' });
    await writeCheckpointDir(out, checkpointOf(6), { 'train_state.json': '{"step": 6}' });
    expect((await readCheckpointDir(out)).meta?.steps).toBe('6');
    expect(await readFile(join(out, 'train_state.json'), 'utf8')).toBe('{"step": 6}');
    expect((await readdir(dir)).filter((name) => name.startsWith('replaced'))).toEqual(['replaced']);
  });

  it('a file write that fails leaves the old file and no .partial', async () => {
    const path = join(dir, 'report.json');
    await writeFileAtomically(path, 'old');
    failNthWrite(1);
    await expect(writeFileAtomically(path, 'new')).rejects.toThrow(`cannot write ${path}: the disk is full`);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).not.toContain('report.json.partial');
  });
});

describe('outputs are checked before any work', () => {
  it('refuses a file as a checkpoint folder, and a folder of other files', async () => {
    const file = join(dir, 'a_file');
    await writeFile(file, 'x');
    await expect(checkCheckpointOutput(file, '--out')).rejects.toThrow(
      `--out ${file} is a file; a folder is needed: choose a new folder name`,
    );
    const notes = join(dir, 'notes');
    await mkdir(notes);
    await writeFile(join(notes, 'thesis.txt'), 'x');
    await expect(checkCheckpointOutput(notes, '--out')).rejects.toThrow(
      `--out ${notes} holds thesis.txt, not only the files it would write`,
    );
  });

  it('creates the parent folders of a new output, and refuses a folder as an output file', async () => {
    await checkCheckpointOutput(join(dir, 'new', 'deep', 'sft'), '--out');
    expect(await readdir(join(dir, 'new', 'deep'))).toEqual([]);
    await expect(checkOutputFile(dir, '--save-rankings')).rejects.toThrow(
      `--save-rankings ${dir} is a folder; a file name is needed`,
    );
    const blocked = join(dir, 'a_file', 'rankings.jsonl');
    await expect(checkOutputFile(blocked, '--save-rankings')).rejects.toThrow(
      `--save-rankings ${blocked}: cannot create ${join(dir, 'a_file')}`,
    );
  });
});

describe("inputs are stat'ed before they are read", () => {
  it('refuses a file over its limit without reading it', async () => {
    const path = join(dir, 'big.jsonl');
    await writeFile(path, 'x'.repeat(2048));
    await expect(readFileBytes(path, 1024, 'JSONL file')).rejects.toThrow(
      `${path} has 2048 bytes, over the 1024 bytes a JSONL file may have`,
    );
    expect(fs.readFile).not.toHaveBeenCalled();
  });

  it('names the path of a folder, a missing file and a symbolic-link loop', async () => {
    await expect(readFileBytes(dir, 1024, 'file')).rejects.toThrow(`cannot read ${dir}: it is a folder, not a file`);
    await expect(readFileBytes(join(dir, 'nope'), 1024, 'file')).rejects.toThrow(
      `cannot read ${join(dir, 'nope')}: it does not exist`,
    );
    const loop = join(dir, 'loop');
    await symlink(loop, loop);
    await expect(readFileBytes(loop, 1024, 'file')).rejects.toThrow(
      `cannot read ${loop}: its symbolic links form a loop`,
    );
  });

  it("fileSystemError keeps an unknown error's message and the original as its cause", () => {
    const original = Object.assign(new Error('EWHAT: odd'), { code: 'EWHAT' });
    const error = fileSystemError('write', '/x/y', original);
    expect(error.message).toBe('cannot write /x/y: EWHAT: odd');
    expect(error.cause).toBe(original);
  });
});

describe('checkpoint folders written before PPO took one name per setting', () => {
  it("read an old policy's metadata beta as kl_coef, with the same value", async () => {
    const out = join(dir, 'old-policy');
    const meta = { kind: 'policy', algorithm: 'ppo', beta: '0.02', lr: '3e-5' };
    await writeCheckpointDir(out, { ...checkpointOf(3), meta });
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(config)).toContain('"beta":"0.02"'); // written as an older lab wrote it
    expect((await readCheckpointDir(out)).meta).toEqual({
      kind: 'policy',
      algorithm: 'ppo',
      kl_coef: '0.02',
      lr: '3e-5',
    });
  });
});

// Tests for `rlhf-lab tokenize` and the checkpoint folder helpers it uses: ids and decoded text from
// a model folder's tokenizer.json, folder round trips, and errors for missing folders and files.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultModelDir,
  readCheckpointDir,
  readTokenizerDir,
  resolveModelDir,
  writeCheckpointDir,
} from '../../../src/cli/fs-checkpoint.ts';
import type { Checkpoint } from '../../../src/model/checkpoint.ts';
import { initParameters, initScalarHead, makeConfig } from '../../../src/model/config.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { runCli } from './run-cli.ts';

const TEXT = 'The fox lives in the forest. The fox eats berries. Mia has a red ball.';
const tokenizer = trainBpe([TEXT], 300);
const config = makeConfig('micro', tokenizer.vocabSize);
const checkpoint: Checkpoint = {
  config,
  params: initParameters(config, 3),
  scalarHead: initScalarHead(config, 4),
  tokenizer,
  meta: { kind: 'reward_model', parent: 'sft-1' },
};

let dir: string;
let modelDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rlhf-lab-tokenize-'));
  modelDir = join(dir, 'models', 'rm');
  await writeCheckpointDir(modelDir, checkpoint);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('rlhf-lab tokenize', () => {
  it('prints the ids and the decoded text as its last JSON line', async () => {
    const text = 'The fox eats <|endoftext|> berries!';
    const run = await runCli(['tokenize', '--model', modelDir, '--text', text, '--json']);
    expect(run.code).toBe(0);
    expect(run.result).toEqual({ ids: tokenizer.encode(text), decoded: text });
    expect((run.result as { ids: number[] }).ids).toContain(tokenizer.eosId);
  });

  it('needs only tokenizer.json', async () => {
    const only = join(dir, 'tokenizer-only');
    await mkdir(only);
    await writeFile(join(only, 'tokenizer.json'), tokenizer.toJSON());
    const run = await runCli(['tokenize', '--model', only, '--text', 'Mia', '--json']);
    expect(run.result).toEqual({ ids: tokenizer.encode('Mia'), decoded: 'Mia' });
  });

  it('reports a missing folder, a missing tokenizer.json and a missing --text', async () => {
    const missing = join(dir, 'nope');
    expect((await runCli(['tokenize', '--model', missing, '--text', 'x', '--json'])).result).toEqual({
      error: `checkpoint folder ${missing} does not exist`,
    });
    expect((await runCli(['tokenize', '--model', dir, '--text', 'x', '--json'])).result).toEqual({
      error: `checkpoint folder ${dir} has no tokenizer.json`,
    });
    const noText = await runCli(['tokenize', '--model', modelDir, '--json']);
    expect(noText.code).toBe(1);
    expect(noText.result).toEqual({ error: '--text "..." is required' });
  });
});

describe('checkpoint folders', () => {
  it('write → read round-trips a checkpoint exactly', async () => {
    const loaded = await readCheckpointDir(modelDir);
    expect(loaded.config).toEqual(config);
    expect(Buffer.from(loaded.params.buffer).equals(Buffer.from(checkpoint.params.buffer))).toBe(true);
    expect(Array.from(loaded.scalarHead!)).toEqual(Array.from(checkpoint.scalarHead!));
    expect(loaded.meta).toEqual(checkpoint.meta);
    expect((await readTokenizerDir(modelDir)).toJSON()).toBe(tokenizer.toJSON());
  });

  it('names the folder and the file at fault', async () => {
    const partial = join(dir, 'partial');
    await writeCheckpointDir(partial, checkpoint);
    await rm(join(partial, 'config.json'));
    await expect(readCheckpointDir(partial)).rejects.toThrow(`checkpoint folder ${partial} has no config.json`);
    await writeFile(join(partial, 'config.json'), '{');
    await expect(readCheckpointDir(partial)).rejects.toThrow(
      new RegExp(`^checkpoint ${partial}: config\\.json is not valid JSON`),
    );
    await expect(readCheckpointDir(join(partial, 'model.safetensors'))).rejects.toThrow('is not a folder');
    await expect(readCheckpointDir(join(dir, 'absent'))).rejects.toThrow(
      `checkpoint folder ${join(dir, 'absent')} does not exist`,
    );
  });

  it('defaults to public/models/base of the repository', () => {
    expect(defaultModelDir()).toBe(resolve(import.meta.dirname, '../../../public/models/base'));
    expect(resolveModelDir(undefined)).toBe(defaultModelDir());
    expect(resolveModelDir('x/y')).toBe('x/y');
  });
});

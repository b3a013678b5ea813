// Tests for `rlhf-lab world`: the three JSONL files of a seed, the counts it prints as its last JSON
// line, the token folder of --tokens (what tools/pretrain.py reads), and its errors for bad options.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldoutCount } from '../../../src/model/lm-training.ts';
import { Tokenizer } from '../../../src/model/tokenizer.ts';
import { generateCorpus, generateWorld, joinDocuments, parseJsonl, worldFiles } from '../../../src/world/index.ts';
import { runCli } from './run-cli.ts';

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'rlhf-lab-world-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('rlhf-lab world', () => {
  it('writes corpus.jsonl, prompts.jsonl and demonstrations.jsonl and prints their counts', async () => {
    const out = join(dir, 'nested', 'world');
    const run = await runCli(['world', '--out', out, '--seed', 'cli-test', '--documents', '40', '--json']);
    expect(run.code).toBe(0);
    const expected = worldFiles(generateWorld('cli-test', { documents: 40 }));
    for (const [name, text] of Object.entries(expected)) expect(await readFile(join(out, name), 'utf8')).toBe(text);
    expect(run.result).toEqual({
      out,
      seed: 'cli-test',
      counts: {
        corpus: 40,
        trainPrompts: 400,
        heldoutPrompts: 100,
        demonstrations: parseJsonl(expected['demonstrations.jsonl']).length,
      },
      bytes: Object.fromEntries(Object.entries(expected).map(([name, text]) => [name, Buffer.byteLength(text)])),
    });
    expect(run.stderr.some((line) => line.includes('corpus.jsonl'))).toBe(true);
  });

  it('--tokens writes the corpus as uint16 ids under the base tokenizer: held-out documents first, each ending with EOS', async () => {
    const out = join(dir, 'tokens');
    const run = await runCli(['world', '--out', out, '--seed', '2', '--documents', '60', '--tokens', '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'tokens.json'), 'utf8'));
    expect(run.result).toEqual(manifest);
    expect(manifest).toMatchObject({
      format: 'rlhf-lab-tokens-v1',
      world_seed: '2',
      documents: 60,
      heldout_documents: heldoutCount(60),
      dtype: 'uint16',
      vocab_size: 1024,
    });
    const tokenizer = Tokenizer.fromJSON(await readFile(join(out, 'tokenizer.json'), 'utf8'));
    const decode = async (name: string) => {
      const bytes = await readFile(join(out, name));
      const ids = Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16LE(2 * i));
      return { ids, text: tokenizer.decode(ids) };
    };
    const documents = generateCorpus(2, 60);
    const heldout = await decode('heldout.bin');
    const train = await decode('train.bin');
    expect(heldout.ids.length).toBe(manifest.heldout_tokens);
    expect(train.ids.length).toBe(manifest.train_tokens);
    expect(heldout.text).toBe(joinDocuments(documents.slice(0, heldoutCount(60))));
    expect(train.text).toBe(joinDocuments(documents.slice(heldoutCount(60))));
    expect(train.ids.at(-1)).toBe(manifest.eos_id);
  });

  it('uses seed 1 by default', async () => {
    const run = await runCli(['world', '--out', join(dir, 'default'), '--documents', '5', '--json']);
    expect((run.result as { seed: string }).seed).toBe('1');
    const corpus = await readFile(join(dir, 'default', 'corpus.jsonl'), 'utf8');
    expect(corpus).toBe(worldFiles(generateWorld(1, { documents: 5 }))['corpus.jsonl']);
  });

  it('reports a missing --out and a bad --documents as JSON errors', async () => {
    const noOut = await runCli(['world', '--json']);
    expect(noOut.code).toBe(1);
    expect(noOut.result).toEqual({ error: '--out DIR is required' });
    const bad = await runCli(['world', '--out', dir, '--documents', '2.5', '--json']);
    expect(bad.code).toBe(1);
    expect(bad.result).toEqual({ error: "--documents must be an integer ≥ 1, got '2.5'" });
    const unknown = await runCli(['world', '--out', dir, '--bogus']);
    expect(unknown.code).toBe(2);
  });
});

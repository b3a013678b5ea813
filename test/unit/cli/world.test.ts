// Tests for `rlhf-lab world`: the three JSONL files of a seed, the counts it prints as its last JSON
// line, and its errors for bad options.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld, parseJsonl, worldFiles } from '../../../src/world/index.ts';
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
      counts: { corpus: 40, trainPrompts: 400, heldoutPrompts: 100, demonstrations: parseJsonl(expected['demonstrations.jsonl']).length },
      bytes: Object.fromEntries(Object.entries(expected).map(([name, text]) => [name, Buffer.byteLength(text)])),
    });
    expect(run.stderr.some((line) => line.includes('corpus.jsonl'))).toBe(true);
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

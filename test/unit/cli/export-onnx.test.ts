// `rlhf-lab export-onnx` end to end: a checkpoint folder written by the lab becomes an .onnx file
// that onnxruntime-web (wasm) runs with the float64 twin's log-probs (tolerance 2e-4 as in
// test/unit/model/onnx-export.test.ts); the reward model's head exports as `values`; errors are clear.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { initParameters, initScalarHead, makeConfig } from '../../../src/model/config.ts';
import { forward, tokenLogprobs } from '../../../src/model/reference.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { runCli } from './run-cli.ts';

ort.env.wasm.numThreads = 1;

const dir = mkdtempSync(join(tmpdir(), 'rlhf-export-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tokenizer = trainBpe(['the cat is red. the dog says woof. a bird can fly over the red house.'], 300);
const config = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 24 };
const params = initParameters(config, 4).map((x) => x * 6);

describe('rlhf-lab export-onnx', () => {
  it("writes an ONNX model that onnxruntime-web runs with the twin's log-probs", async () => {
    const modelDir = join(dir, 'policy');
    await writeCheckpointDir(modelDir, { config, params, tokenizer });
    const out = join(dir, 'nested', 'policy.onnx');
    const run = await runCli(['export-onnx', '--model', modelDir, '--out', out, '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const bytes = readFileSync(out);
    expect(run.result).toEqual({
      model: modelDir,
      out,
      bytes: bytes.length,
      opset: 17,
      head: 'lm',
      kvCache: false,
      input: 'input_ids',
      output: 'logits',
    });

    const session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'] });
    const ids = tokenizer.encode('the red cat can fly over the dog.');
    const T = ids.length - 1;
    const { logits } = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.slice(0, T), BigInt), [1, T]),
    });
    const V = config.vocabSize;
    const onnx = tokenLogprobs(Float64Array.from(logits.data as Float32Array), Int32Array.from(ids.slice(1)), V);
    const twin = tokenLogprobs(
      forward(config, Float64Array.from(params), Int32Array.from(ids.slice(0, T)), 1, T).logits,
      Int32Array.from(ids.slice(1)),
      V,
    );
    const diff = Math.max(...onnx.map((lp, i) => Math.abs(lp - twin[i])));
    console.log(`export-onnx: ONNX vs float64 twin log-probs max |Δ| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(2e-4);
    await session.release();
  });

  it('writes the KV-cache export with --kv-cache', async () => {
    const out = join(dir, 'policy-kv.onnx');
    const run = await runCli(['export-onnx', '--model', join(dir, 'policy'), '--out', out, '--kv-cache', '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.result).toMatchObject({ head: 'lm', kvCache: true, output: 'logits' });
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(out)), {
      executionProviders: ['wasm'],
    });
    expect(session.inputNames.slice(0, 4)).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      'past_key_values.0.key',
    ]);
    expect(session.outputNames.slice(0, 2)).toEqual(['logits', 'present.0.key']);
    await session.release();
    const scalar = await runCli([
      'export-onnx',
      '--model',
      join(dir, 'policy'),
      '--out',
      join(dir, 'no.onnx'),
      '--head',
      'scalar',
      '--kv-cache',
      '--json',
    ]);
    expect(scalar.code).not.toBe(0);
    expect(scalar.stderr.join('\n')).toMatch(/KV cache is only exported with the lm head/);
  });

  it("exports a reward model's scalar head as values [batch, sequence]", async () => {
    const modelDir = join(dir, 'rm');
    await writeCheckpointDir(modelDir, { config, params, tokenizer, scalarHead: initScalarHead(config, 2) });
    const out = join(dir, 'rm.onnx');
    const run = await runCli(['export-onnx', '--model', modelDir, '--out', out, '--head', 'scalar', '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    expect(run.result).toMatchObject({ head: 'scalar', output: 'values' });
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(out)), {
      executionProviders: ['wasm'],
    });
    expect(session.outputMetadata).toEqual([
      { name: 'values', isTensor: true, type: 'float32', shape: ['batch_size', 'sequence_length'] },
    ]);
    await session.release();
  });

  it('fails clearly without --out, on a bad --head, on a missing folder, and on a head the checkpoint lacks', async () => {
    const noOut = await runCli(['export-onnx', '--model', join(dir, 'policy'), '--json']);
    expect(noOut.code).toBe(1);
    expect(noOut.stderr.join('\n')).toMatch(/--out FILE.onnx is required/);
    const badHead = await runCli([
      'export-onnx',
      '--model',
      join(dir, 'policy'),
      '--out',
      join(dir, 'x.onnx'),
      '--head',
      'value',
      '--json',
    ]);
    expect(badHead.stderr.join('\n')).toMatch(/--head must be lm or scalar/);
    const missing = await runCli(['export-onnx', '--model', join(dir, 'nope'), '--out', join(dir, 'x.onnx'), '--json']);
    expect(missing.stderr.join('\n')).toMatch(/does not exist/);
    const headless = await runCli([
      'export-onnx',
      '--model',
      join(dir, 'policy'),
      '--out',
      join(dir, 'x.onnx'),
      '--head',
      'scalar',
      '--json',
    ]);
    expect(headless.code).toBe(1);
    expect(headless.stderr.join('\n')).toMatch(/checkpoint has none/);
  });
});

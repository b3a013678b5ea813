// exportOnnx against the WGSL engine: onnxruntime-web (wasm, in Node) runs the exported GPT-2 and its
// per-token log-probs match GptModel's (Dawn, the shared test device) on several batch sizes and
// sequence lengths, for a random micro model with every tensor scaled up and for the shipped base
// model; the scalar head's values match GptModel 'scalar'; the session declares the HF names and
// dynamic dims.
//
// Tolerance. Both sides compute in float32 (unit roundoff 6e-8) with different reduction orders and
// fused kernels; each is ~1e-6 relative from the float64 twin (gpt.test.ts), and a log-prob carries
// the absolute error of its logits through logsumexp. Observed: ≤ 3e-5 on the micro model (every
// tensor scaled ×6, so logits reach ~30) and ≤ 7e-6 on the base model (printed below). We allow
// |Δ log p| ≤ 2e-4, several times the largest observed, yet well below the smallest plausible
// mistake: LayerNorm eps 1e-6 instead of 1e-5 moves these log-probs by 4e-3–7e-3, GELU's cubic
// coefficient 0.04 instead of 0.044715 by 3e-3–4e-2 (measured by editing the graph), and a wrong op,
// layout or mask by O(1). The scalar head's values (up to ~25 here) get 5e-5 relative.
//
// The KV-cache export (Optimum's decoder layout) is fed as a sampler feeds it: left-padded rows of
// different lengths, a prefill, then one token per call with the previous call's present as past.
// Each real position's log-probs must be the engine's for that row alone (no padding, no cache) and
// the float64 twin's, within the same 2e-4: the cache changes which products are summed, not how
// many (a padded key's weight is exp(−3.4e38 − max) = 0 exactly), so the error budget is unchanged.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { readCheckpointDir, defaultModelDir } from '../../../src/cli/fs-checkpoint.ts';
import type { Checkpoint } from '../../../src/model/checkpoint.ts';
import { initParameters, initScalarHead, makeConfig } from '../../../src/model/config.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import {
  exportOnnx,
  ONNX_OPSET,
  onnxPastName,
  onnxPresentName,
  type CacheTensor,
} from '../../../src/model/onnx/gpt2-graph.ts';
import { forward } from '../../../src/model/reference.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { testGpu } from '../engine/gpu-device.ts';

ort.env.wasm.numThreads = 1;

const LOGPROB_TOLERANCE = 2e-4;

function randomIds(count: number, V: number, seed: number): number[] {
  const ids: number[] = [];
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    ids.push((state >>> 8) % V);
  }
  return ids;
}

function microCheckpoint(withHead = false): Checkpoint {
  const tokenizer = trainBpe(['the cat is red. the dog says woof. a bird can fly over the red house.'], 300);
  const config = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 24 };
  const params = initParameters(config, 4);
  for (let i = 0; i < params.length; i++) params[i] *= 6; // make every tensor matter
  return { config, params, tokenizer, ...(withHead && { scalarHead: initScalarHead(config, 5).map((x) => x * 20) }) };
}

/** log p(ids[b, t+1] | ids[b, ..t]) from logits (B,T,V), in float64: (B, T−1) row-major. */
function logprobsOf(logits: ArrayLike<number>, ids: number[], B: number, T: number, V: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const row = (b * T + t) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
      out.push(logits[row + ids[b * T + t + 1]] - max - Math.log(sum));
    }
  }
  return out;
}

async function ortRun(session: ort.InferenceSession, ids: number[], B: number, T: number): Promise<ort.Tensor> {
  const outputs = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [B, T]) });
  return outputs[session.outputNames[0]];
}

/** GptModel's log-probs of the same (B,T) ids, without the last position of each row (no target). */
async function engineLogprobs(checkpoint: Checkpoint, ids: number[], B: number, T: number): Promise<number[]> {
  const { device } = await testGpu();
  const model = new GptModel(device, checkpoint.config, 'lm', B, T, 'onnx-check');
  model.writeParams(checkpoint.params);
  const targets = ids.map((_, i) => ((i + 1) % T === 0 ? 0 : ids[i + 1]));
  model.setBatch({ tokens: ids, targets });
  const logprobs = (await model.evaluate()).logprobs!;
  model.destroy();
  return Array.from(logprobs).filter((_, i) => (i + 1) % T !== 0);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

async function compareWithEngine(
  name: string,
  checkpoint: Checkpoint,
  shapes: Array<[B: number, T: number]>,
): Promise<number> {
  const session = await ort.InferenceSession.create(exportOnnx(checkpoint), { executionProviders: ['wasm'] });
  const V = checkpoint.config.vocabSize;
  let worst = 0;
  for (const [B, T] of shapes) {
    const ids = randomIds(B * T, V, 7 * B + T);
    const logits = await ortRun(session, ids, B, T);
    expect(logits.dims).toEqual([B, T, V]);
    const onnx = logprobsOf(logits.data as Float32Array, ids, B, T, V);
    const diff = maxAbsDiff(onnx, await engineLogprobs(checkpoint, ids, B, T));
    console.log(`${name} B=${B} T=${T}: ONNX (ort wasm) vs WGSL engine log-probs max |Δ| ${diff.toExponential(2)}`);
    expect(diff, `${name} B=${B} T=${T}`).toBeLessThanOrEqual(LOGPROB_TOLERANCE);
    worst = Math.max(worst, diff);
  }
  await session.release();
  return worst;
}

describe('exportOnnx', () => {
  it('declares input_ids int64 [batch_size, sequence_length] and logits float32 [batch_size, sequence_length, vocab]', async () => {
    const checkpoint = microCheckpoint();
    const session = await ort.InferenceSession.create(exportOnnx(checkpoint), { executionProviders: ['wasm'] });
    expect(session.inputMetadata).toEqual([
      { name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch_size', 'sequence_length'] },
    ]);
    expect(session.outputMetadata).toEqual([
      {
        name: 'logits',
        isTensor: true,
        type: 'float32',
        shape: ['batch_size', 'sequence_length', checkpoint.config.vocabSize],
      },
    ]);
    expect(ONNX_OPSET).toBe(17);
    await session.release();
  });

  it("gives the WGSL engine's log-probs on a micro model, several batch sizes and lengths", async () => {
    const checkpoint = microCheckpoint();
    await compareWithEngine('micro', checkpoint, [
      [1, 2],
      [1, 9],
      [3, 16],
      [2, checkpoint.config.nCtx],
    ]);
    // and the float64 twin's, as a third opinion on one shape
    const session = await ort.InferenceSession.create(exportOnnx(checkpoint), { executionProviders: ['wasm'] });
    const [B, T, V] = [2, 11, checkpoint.config.vocabSize];
    const ids = randomIds(B * T, V, 99);
    const onnx = logprobsOf((await ortRun(session, ids, B, T)).data as Float32Array, ids, B, T, V);
    const twin = logprobsOf(
      forward(checkpoint.config, Float64Array.from(checkpoint.params), Int32Array.from(ids), B, T).logits,
      ids,
      B,
      T,
      V,
    );
    const diff = maxAbsDiff(onnx, twin);
    console.log(`micro B=${B} T=${T}: ONNX vs float64 twin log-probs max |Δ| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(LOGPROB_TOLERANCE);
    await session.release();
  });

  it("gives the WGSL engine's log-probs on the shipped base model", async () => {
    const checkpoint = await readCheckpointDir(defaultModelDir());
    await compareWithEngine('base', checkpoint, [
      [1, 1 + 1],
      [1, 37],
      [4, 64],
      [2, checkpoint.config.nCtx],
    ]);
  });

  it("exports the scalar head: values (B,T) equal GptModel 'scalar'", async () => {
    const checkpoint = microCheckpoint(true);
    const session = await ort.InferenceSession.create(exportOnnx(checkpoint, { head: 'scalar' }), {
      executionProviders: ['wasm'],
    });
    expect(session.outputMetadata).toEqual([
      { name: 'values', isTensor: true, type: 'float32', shape: ['batch_size', 'sequence_length'] },
    ]);
    const [B, T] = [3, 10];
    const ids = randomIds(B * T, checkpoint.config.vocabSize, 5);
    const values = await ortRun(session, ids, B, T);
    expect(values.dims).toEqual([B, T]);
    const { device } = await testGpu();
    const model = new GptModel(device, checkpoint.config, 'scalar', B, T, 'onnx-check-scalar');
    const flat = new Float32Array(model.layout.totalFloats);
    flat.set(checkpoint.params);
    flat.set(checkpoint.scalarHead!, checkpoint.params.length);
    model.writeParams(flat);
    model.setBatch({ tokens: ids });
    const engine = (await model.evaluate()).values!;
    model.destroy();
    const diff = maxAbsDiff(values.data as Float32Array, engine);
    const scale = Math.max(...Array.from(engine, Math.abs));
    console.log(
      `scalar head: ONNX vs WGSL values max |Δ| ${diff.toExponential(2)} (max |value| ${scale.toExponential(2)})`,
    );
    expect(diff).toBeLessThanOrEqual(5e-5 * Math.max(1, scale));
    await session.release();
  });

  it('refuses a scalar export of a checkpoint without a head', () => {
    expect(() => exportOnnx(microCheckpoint(), { head: 'scalar' })).toThrow(/has none/);
  });

  it('refuses a KV cache on the scalar head', () => {
    expect(() => exportOnnx(microCheckpoint(true), { head: 'scalar', kvCache: true })).toThrow(
      /only exported with the lm head/,
    );
  });
});

const CACHE_KINDS: CacheTensor[] = ['key', 'value'];

function int64Tensor(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
}

/**
 * Logits (T_b, V) at every real position of each row, from the KV-cache export fed as a sampler
 * feeds it: rows left-padded to the longest, the first `prefill` columns in one call, then one
 * column per call with the last call's present as past.
 */
async function cachedLogits(
  session: ort.InferenceSession,
  checkpoint: Checkpoint,
  rows: number[][],
  prefill: number,
): Promise<Float32Array[]> {
  const { nLayer, nHead, nEmbd, vocabSize: V } = checkpoint.config;
  const [B, S] = [rows.length, Math.max(...rows.map((row) => row.length))];
  const pad = rows.map((row) => S - row.length);
  const column = (b: number, s: number) => ({
    id: s < pad[b] ? 0 : rows[b][s - pad[b]],
    mask: s < pad[b] ? 0 : 1,
    position: Math.max(0, s - pad[b]),
  });
  let past: Record<string, ort.Tensor> = {};
  for (let layer = 0; layer < nLayer; layer++)
    for (const kind of CACHE_KINDS)
      past[onnxPastName(layer, kind)] = new ort.Tensor('float32', new Float32Array(0), [B, nHead, 0, nEmbd / nHead]);
  const out = rows.map((row) => new Float32Array(row.length * V));
  for (let from = 0; from < S;) {
    const to = from === 0 ? prefill : from + 1;
    const T = to - from;
    const cells = rows.map((_, b) => Array.from({ length: T }, (_, t) => column(b, from + t))); // (B,T)
    const outputs = await session.run({
      input_ids: int64Tensor(
        cells.flat().map((c) => c.id),
        [B, T],
      ),
      position_ids: int64Tensor(
        cells.flat().map((c) => c.position),
        [B, T],
      ),
      attention_mask: int64Tensor(
        rows.flatMap((_, b) => Array.from({ length: to }, (_, s) => column(b, s).mask)),
        [B, to],
      ),
      ...past,
    });
    expect(outputs[onnxPresentName(0, 'key')].dims).toEqual([B, nHead, to, nEmbd / nHead]);
    const logits = outputs.logits.data as Float32Array; // (B,T,V)
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++)
        if (from + t >= pad[b])
          out[b].set(logits.subarray((b * T + t) * V, (b * T + t + 1) * V), (from + t - pad[b]) * V);
    }
    past = Object.fromEntries(
      Object.keys(past).map((name) => [name, outputs[name.replace('past_key_values.', 'present.')]]),
    );
    from = to;
  }
  return out;
}

describe('exportOnnx with a KV cache', () => {
  it("declares Optimum's GPT-2 decoder interface", async () => {
    const checkpoint = microCheckpoint();
    const { nLayer, nHead, nEmbd, vocabSize } = checkpoint.config;
    const session = await ort.InferenceSession.create(exportOnnx(checkpoint, { kvCache: true }), {
      executionProviders: ['wasm'],
    });
    const layers = Array.from({ length: nLayer }, (_, layer) =>
      CACHE_KINDS.map((kind) => [layer, kind] as const),
    ).flat();
    expect(session.inputNames).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      ...layers.map(([layer, kind]) => `past_key_values.${layer}.${kind}`),
    ]);
    expect(session.outputNames).toEqual(['logits', ...layers.map(([layer, kind]) => `present.${layer}.${kind}`)]);
    expect(session.inputMetadata[1]).toEqual({
      name: 'attention_mask',
      isTensor: true,
      type: 'int64',
      shape: ['batch_size', 'past_sequence_length + sequence_length'],
    });
    expect(session.inputMetadata[3]).toEqual({
      name: 'past_key_values.0.key',
      isTensor: true,
      type: 'float32',
      shape: ['batch_size', nHead, 'past_sequence_length', nEmbd / nHead],
    });
    expect(session.outputMetadata[0]).toEqual({
      name: 'logits',
      isTensor: true,
      type: 'float32',
      shape: ['batch_size', 'sequence_length', vocabSize],
    });
    expect(session.outputMetadata[1]).toEqual({
      name: 'present.0.key',
      isTensor: true,
      type: 'float32',
      shape: ['batch_size', nHead, 'past_sequence_length + sequence_length', nEmbd / nHead],
    });
    await session.release();
  });

  for (const [name, load] of [
    ['micro', async () => microCheckpoint()],
    ['base', () => readCheckpointDir(defaultModelDir())],
  ] as const) {
    it(`decodes left-padded rows token by token to the engine's and the float64 twin's log-probs (${name})`, async () => {
      const checkpoint = await load();
      const V = checkpoint.config.vocabSize;
      const session = await ort.InferenceSession.create(exportOnnx(checkpoint, { kvCache: true }), {
        executionProviders: ['wasm'],
      });
      const rows = [randomIds(14, V, 3), randomIds(9, V, 4), randomIds(2, V, 5)];
      for (const prefill of [1, 6]) {
        const logits = await cachedLogits(session, checkpoint, rows, prefill);
        for (const [b, row] of rows.entries()) {
          const onnx = logprobsOf(logits[b], row, 1, row.length, V);
          const engine = maxAbsDiff(onnx, await engineLogprobs(checkpoint, row, 1, row.length));
          const twinLogits = forward(
            checkpoint.config,
            Float64Array.from(checkpoint.params),
            Int32Array.from(row),
            1,
            row.length,
          ).logits;
          const twin = maxAbsDiff(onnx, logprobsOf(twinLogits, row, 1, row.length, V));
          console.log(
            `${name} KV cache, prefill ${prefill}, row ${b} (${row.length} tokens): log-probs max |Δ| vs engine ${engine.toExponential(2)}, vs float64 twin ${twin.toExponential(2)}`,
          );
          expect(engine, `row ${b}`).toBeLessThanOrEqual(LOGPROB_TOLERANCE);
          expect(twin, `row ${b}`).toBeLessThanOrEqual(LOGPROB_TOLERANCE);
        }
      }
      await session.release();
    });
  }
});

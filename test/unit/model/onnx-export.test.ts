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
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { readCheckpointDir, defaultModelDir } from '../../../src/cli/fs-checkpoint.ts';
import type { Checkpoint } from '../../../src/model/checkpoint.ts';
import { initParameters, initScalarHead, makeConfig } from '../../../src/model/config.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import { exportOnnx, ONNX_OPSET } from '../../../src/model/onnx/gpt2-graph.ts';
import { forward } from '../../../src/model/reference.ts';
import { trainBpe } from '../../../src/model/tokenizer.ts';
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

async function compareWithEngine(name: string, checkpoint: Checkpoint, shapes: Array<[B: number, T: number]>): Promise<number> {
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
    expect(session.inputMetadata).toEqual([{ name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch_size', 'sequence_length'] }]);
    expect(session.outputMetadata).toEqual([{ name: 'logits', isTensor: true, type: 'float32', shape: ['batch_size', 'sequence_length', checkpoint.config.vocabSize] }]);
    expect(ONNX_OPSET).toBe(17);
    await session.release();
  });

  it('gives the WGSL engine\'s log-probs on a micro model, several batch sizes and lengths', async () => {
    const checkpoint = microCheckpoint();
    await compareWithEngine('micro', checkpoint, [[1, 2], [1, 9], [3, 16], [2, checkpoint.config.nCtx]]);
    // and the float64 twin's, as a third opinion on one shape
    const session = await ort.InferenceSession.create(exportOnnx(checkpoint), { executionProviders: ['wasm'] });
    const [B, T, V] = [2, 11, checkpoint.config.vocabSize];
    const ids = randomIds(B * T, V, 99);
    const onnx = logprobsOf((await ortRun(session, ids, B, T)).data as Float32Array, ids, B, T, V);
    const twin = logprobsOf(forward(checkpoint.config, Float64Array.from(checkpoint.params), Int32Array.from(ids), B, T).logits, ids, B, T, V);
    const diff = maxAbsDiff(onnx, twin);
    console.log(`micro B=${B} T=${T}: ONNX vs float64 twin log-probs max |Δ| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(LOGPROB_TOLERANCE);
    await session.release();
  });

  it('gives the WGSL engine\'s log-probs on the shipped base model', async () => {
    const checkpoint = await readCheckpointDir(defaultModelDir());
    await compareWithEngine('base', checkpoint, [[1, 1 + 1], [1, 37], [4, 64], [2, checkpoint.config.nCtx]]);
  });

  it('exports the scalar head: values (B,T) equal GptModel \'scalar\'', async () => {
    const checkpoint = microCheckpoint(true);
    const session = await ort.InferenceSession.create(exportOnnx(checkpoint, { head: 'scalar' }), { executionProviders: ['wasm'] });
    expect(session.outputMetadata).toEqual([{ name: 'values', isTensor: true, type: 'float32', shape: ['batch_size', 'sequence_length'] }]);
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
    console.log(`scalar head: ONNX vs WGSL values max |Δ| ${diff.toExponential(2)} (max |value| ${scale.toExponential(2)})`);
    expect(diff).toBeLessThanOrEqual(5e-5 * Math.max(1, scale));
    await session.release();
  });

  it('refuses a scalar export of a checkpoint without a head', () => {
    expect(() => exportOnnx(microCheckpoint(), { head: 'scalar' })).toThrow(/has none/);
  });
});

// Sampling without WebGPU: the CPU twin of the sampling kernel draws the GPU kernel's tokens from the
// same logits (greedy, temperature, top-k, top-p, ties), and OrtSampler (onnxruntime-web wasm on the
// KV-cache export, prompts of different lengths left-padded) generates what GptSampler generates on
// the shipped base model — token for token greedily, and with seeded sampling (both use the same
// random draw per (seed, step, row)); seeds reproduce, EOS ends a sequence, bad prompts or settings
// are refused as GptSampler does, and forward() gives the plain export's logits.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { createStorageBuffer, createStorageBufferFrom, readUint32 } from '../../../src/engine/buffers.ts';
import { recordDispatches } from '../../../src/engine/kernel.ts';
import {
  createSampleParamsBuffer,
  sampleDispatch,
  writeSampleParams,
  type SampleParams,
} from '../../../src/engine/ops/decode.ts';
import { defaultModelDir, readCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { exportOnnx } from '../../../src/model/onnx/gpt2-graph.ts';
import { sampleNextToken, uniform01 } from '../../../src/model/onnx/next-token.ts';
import { OrtSampler, ortSamplerModel } from '../../../src/model/ort-sampler.ts';
import { DEFAULT_SAMPLING, GptSampler, type Generation, type SamplingOptions } from '../../../src/model/sampler.ts';
import { testGpu } from '../engine/gpu-device.ts';

ort.env.wasm.numThreads = 1;

/** The GPU kernel's ids for every row of logits (B,V). */
async function gpuSample(logits: Float32Array, B: number, V: number, p: SampleParams): Promise<Uint32Array> {
  const { device } = await testGpu();
  const ids = createStorageBuffer(device, 'ids', B * 4);
  const done = createStorageBufferFrom(device, 'done', new Uint32Array(B));
  const logitsBuffer = createStorageBufferFrom(device, 'logits', logits);
  const params = createSampleParamsBuffer(device, 'params');
  writeSampleParams(device.queue, params, p);
  const encoder = device.createCommandEncoder();
  recordDispatches(
    encoder,
    [sampleDispatch(device, 'sample', { ids, logits: logitsBuffer, params, done }, B, V, V - 1)],
    'sample',
  );
  device.queue.submit([encoder.finish()]);
  const result = await readUint32(device, ids, 0, B);
  for (const buffer of [ids, done, logitsBuffer, params]) buffer.destroy();
  return result;
}

/** Random logits (B,V) with ties: a quarter of each row repeats a few values. */
function randomLogits(B: number, V: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(B * V);
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = 0; i < out.length; i++) out[i] = next() < 0.25 ? Math.floor(next() * 4) : scale * (next() * 2 - 1);
  return out;
}

describe('sampleNextToken (the CPU twin of sample.wgsl)', () => {
  it("draws the GPU kernel's token for every row, setting, seed and step", async () => {
    const [B, V] = [48, 300];
    const settings = [
      { temperature: 0, topK: 0, topP: 1 },
      { temperature: 1, topK: 0, topP: 1 },
      { temperature: 0.6, topK: 7, topP: 1 },
      { temperature: 1.4, topK: 0, topP: 0.85 },
      { temperature: 1, topK: 40, topP: 0.6 },
      { temperature: 0.9, topK: 2, topP: 0.3 },
    ];
    let draws = 0;
    for (const [index, setting] of settings.entries()) {
      const logits = randomLogits(B, V, 11 + index, 4);
      for (const [seed, step] of [
        [1, 0],
        [2, 5],
        [123456789, 77],
      ]) {
        const params = { ...setting, seed, step };
        const gpu = await gpuSample(logits, B, V, params);
        const cpu = Array.from({ length: B }, (_, b) =>
          sampleNextToken(logits.subarray(b * V, (b + 1) * V), params, b),
        );
        expect(cpu, JSON.stringify(params)).toEqual(Array.from(gpu));
        draws += B;
      }
    }
    console.log(`CPU twin == GPU kernel on ${draws} draws`);
  });

  it('uses 24-bit uniforms that depend on seed, step and row', () => {
    const values = new Set<number>();
    for (let seed = 0; seed < 4; seed++)
      for (let step = 0; step < 4; step++) for (let row = 0; row < 4; row++) values.add(uniform01(seed, step, row));
    expect(values.size).toBe(64);
    for (const u of values) {
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(Number.isInteger(u * 2 ** 24)).toBe(true);
    }
  });
});

describe('OrtSampler on the shipped base model', async () => {
  const checkpoint = await readCheckpointDir(defaultModelDir());
  const { tokenizer, config } = checkpoint;
  const prompts = ['Human: What colour is a banana? Assistant:', 'Once upon a time', 'The cat'].map((text) =>
    tokenizer.encode(text),
  );
  // The GPU sampler on the base model is slow on a software adapter: few, short runs.
  const maxNewTokens = 10;
  const ortSampler = OrtSampler.fromCheckpoint(ort, checkpoint);
  let gpuSampler: GptSampler | undefined;

  async function gpuGenerate(options: SamplingOptions): Promise<Generation> {
    const { device } = await testGpu();
    const maxT = Math.max(...prompts.map((p) => p.length)) + maxNewTokens;
    gpuSampler ??= new GptSampler(
      device,
      config,
      createStorageBufferFrom(device, 'base.params', checkpoint.params),
      'lm',
      prompts.length,
      maxT,
      tokenizer.eosId,
    );
    return gpuSampler.generate(prompts, options);
  }

  it('loads the exported model; a model that does not load is reported', async () => {
    await expect(ortSampler.ready()).resolves.toBeUndefined();
    const broken = new OrtSampler(ort, new Uint8Array([1, 2, 3]), ortSamplerModel(checkpoint, 8));
    await expect(broken.ready()).rejects.toThrow();
    await expect(broken.generate([[1]], DEFAULT_SAMPLING)).rejects.toThrow();
  });

  it("greedy decoding equals GptSampler's token for token", async () => {
    const options = { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens };
    const onnx = await ortSampler.generate(prompts, options);
    prompts.forEach((_, b) => console.log(`greedy ${b}: ${JSON.stringify(tokenizer.decode(onnx.tokens[b]))}`));
    expect(onnx.tokens.map((t) => t.length)).toEqual([maxNewTokens, maxNewTokens, maxNewTokens]);
    expect(onnx).toEqual(await gpuGenerate(options));
  });

  it("seeded sampling reproduces, differs across seeds, and equals GptSampler's draws", async () => {
    const options = { ...DEFAULT_SAMPLING, temperature: 1, topK: 40, topP: 0.95, maxNewTokens, seed: 3 };
    const first = await ortSampler.generate(prompts, options);
    expect(await ortSampler.generate(prompts, options)).toEqual(first);
    expect((await ortSampler.generate(prompts, { ...options, seed: 4 })).tokens).not.toEqual(first.tokens);
    // The same draw per (seed, step, row) on logits equal to ~1e-5: the tokens agree unless a draw
    // falls within rounding of a boundary (not the case for these prompts and seeds).
    expect(await gpuGenerate(options)).toEqual(first);
  });

  it('ends a sequence at EOS, and bounds it by maxNewTokens and maxT', async () => {
    const options = { ...DEFAULT_SAMPLING, temperature: 0, maxNewTokens: 16 };
    const greedy = await ortSampler.generate(prompts, options);
    // Pretend the token that greedy decoding of prompt 0 produces third is the end of text.
    const eosId = greedy.tokens[0][2];
    const stopping = new OrtSampler(ort, exportOnnx(checkpoint, { kvCache: true }), {
      ...ortSamplerModel(checkpoint),
      eosId,
    });
    const stopped = await stopping.generate(prompts, options);
    greedy.tokens.forEach((tokens, b) => {
      const end = tokens.indexOf(eosId);
      expect(stopped.tokens[b]).toEqual(end >= 0 ? tokens.slice(0, end + 1) : tokens);
      expect(stopped.ended[b]).toBe(end >= 0);
    });
    expect(stopped.ended[0]).toBe(true);
    await stopping.release();
    const maxT = Math.max(prompts[1].length, prompts[2].length) + 3;
    const bounded = OrtSampler.fromCheckpoint(ort, checkpoint, { maxT });
    const capped = await bounded.generate(prompts.slice(1), options);
    expect(capped.tokens).toEqual([1, 2].map((b) => greedy.tokens[b].slice(0, maxT - prompts[b].length)));
    expect(capped.tokens[0].length + capped.tokens[1].length).toBeLessThan(2 * 16);
    await bounded.release();
  });

  it("forward() gives the plain export's logits", async () => {
    const [B, T] = [2, 7];
    const ids = Array.from({ length: B * T }, (_, i) => (i * 37 + 5) % config.vocabSize);
    const plain = await ort.InferenceSession.create(exportOnnx(checkpoint), { executionProviders: ['wasm'] });
    const expected = (await plain.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [B, T]) }))
      .logits.data as Float32Array;
    const logits = await ortSampler.forward(ids, B, T);
    // Same runtime, same ops; only the attention's masking differs, which adds exact zeros.
    expect(Math.max(...logits.map((value, i) => Math.abs(value - expected[i])))).toBeLessThan(1e-5);
    await plain.release();
  });

  it('refuses what GptSampler refuses', async () => {
    await expect(ortSampler.generate([], DEFAULT_SAMPLING)).rejects.toThrow(/at least one prompt/);
    await expect(ortSampler.generate([[]], DEFAULT_SAMPLING)).rejects.toThrow(/prompt 0 is empty/);
    await expect(ortSampler.generate([Array(config.nCtx).fill(1)], DEFAULT_SAMPLING)).rejects.toThrow(
      /leaving no room/,
    );
    await expect(ortSampler.generate([[config.vocabSize]], DEFAULT_SAMPLING)).rejects.toThrow(/outside the vocabulary/);
    await expect(ortSampler.generate([[1]], { ...DEFAULT_SAMPLING, topP: 0 })).rejects.toThrow(/topP must be in/);
    await expect(ortSampler.generate([[1]], { ...DEFAULT_SAMPLING, temperature: -1 })).rejects.toThrow(
      /temperature must be/,
    );
    expect(() => OrtSampler.fromCheckpoint(ort, checkpoint, { maxT: config.nCtx + 1 })).toThrow(/maxT must be/);
    gpuSampler?.destroy();
    await ortSampler.release();
  });
});

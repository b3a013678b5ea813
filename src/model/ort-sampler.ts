// Sampling with onnxruntime-web on the KV-cache export (onnx/gpt2-graph.ts, kvCache), for browsers
// without WebGPU (the wasm execution provider) and as the peer our GPU sampler is measured against
// (ort's webgpu provider). Same options, result and semantics as GptSampler: a token is drawn at
// position t from the logits of positions 0..t−1 with the GPU kernel's rules and random draw
// (onnx/next-token.ts, step t−1, row = the prompt's index), a sequence stops after EOS, after
// maxNewTokens, or at maxT.
// The prompts are left-padded to the longest (attention_mask 0, position_ids from each row's own
// start) and run in one prefill call; then every call feeds one token per row with the last call's
// present as past: O(T) work a step. A row that has stopped feeds padding until all have, as on the
// GPU. The runtime is the caller's module (onnxruntime-web, or its smaller onnxruntime-web/wasm).
import type * as Ort from 'onnxruntime-web';
import type { Checkpoint } from './checkpoint.ts';
import {
  exportOnnx,
  ONNX_ATTENTION_MASK,
  ONNX_INPUT,
  ONNX_LOGITS,
  ONNX_POSITION_IDS,
  onnxPastName,
  onnxPresentName,
  type CacheTensor,
} from './onnx/gpt2-graph.ts';
import { checkSamplingParams, sampleNextToken } from './onnx/next-token.ts';
import type { Generation, SamplingOptions } from './sampler.ts';

/** What the sampler uses of onnxruntime-web: any of its builds. */
export type OrtRuntime = Pick<typeof Ort, 'InferenceSession' | 'Tensor'>;

/** What a sampler needs to know about the exported model besides its graph. */
export interface OrtSamplerModel {
  vocabSize: number;
  /** The end-of-text id: a sequence that draws it stops. */
  eosId: number;
  /** Longest sequence, prompt + completion, at most the model's context n_ctx (GptSampler's maxT). */
  maxT: number;
  /** The cache's shape: nLayer × key/value tensors of (B, nHead, S, headSize). */
  nLayer: number;
  nHead: number;
  headSize: number;
}

/** The wasm execution provider unless the caller picks another (e.g. ['webgpu']). */
const DEFAULT_SESSION_OPTIONS: Ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'] };
/** The token a padded or stopped row feeds; masked out, so any id would do. */
const PAD_ID = 0;
const CACHE_KINDS: CacheTensor[] = ['key', 'value'];

/** The sampler's model description for a checkpoint, with maxT defaulting to the context length. */
export function ortSamplerModel(checkpoint: Checkpoint, maxT = checkpoint.config.nCtx): OrtSamplerModel {
  const { config } = checkpoint;
  if (!Number.isInteger(maxT) || maxT < 2 || maxT > config.nCtx)
    throw new Error(`maxT must be an integer in [2, ${config.nCtx}], got ${maxT}`);
  return {
    vocabSize: config.vocabSize,
    eosId: checkpoint.tokenizer.eosId,
    maxT,
    nLayer: config.nLayer,
    nHead: config.nHead,
    headSize: config.nEmbd / config.nHead,
  };
}

/** One call's inputs besides the cache: (B,T) ids and positions, (B,S) mask. */
interface StepInputs {
  ids: number[];
  positions: number[];
  mask: number[];
  T: number;
}

/**
 * A sampler over a KV-cache ONNX export (exportOnnx(…, { kvCache: true })). The session is created
 * in the constructor; generate() and forward() wait for it, and ready() reports a model that does
 * not load.
 */
export class OrtSampler {
  private readonly session: Promise<Ort.InferenceSession>;

  constructor(
    private readonly ort: OrtRuntime,
    onnx: Uint8Array,
    readonly model: OrtSamplerModel,
    sessionOptions: Ort.InferenceSession.SessionOptions = DEFAULT_SESSION_OPTIONS,
  ) {
    if (!Number.isInteger(model.eosId) || model.eosId < 0 || model.eosId >= model.vocabSize)
      throw new Error(`eosId ${model.eosId} is outside [0, ${model.vocabSize})`);
    this.session = ort.InferenceSession.create(onnx, sessionOptions);
    this.session.catch(() => undefined); // reported by ready(), generate() and forward()
  }

  /** Exports a checkpoint with its KV cache and opens a sampler on it. */
  static fromCheckpoint(
    ort: OrtRuntime,
    checkpoint: Checkpoint,
    options: { maxT?: number; sessionOptions?: Ort.InferenceSession.SessionOptions } = {},
  ): OrtSampler {
    return new OrtSampler(
      ort,
      exportOnnx(checkpoint, { kvCache: true }),
      ortSamplerModel(checkpoint, options.maxT),
      options.sessionOptions,
    );
  }

  /** Resolves once the session is loaded; rejects with the runtime's error otherwise. */
  async ready(): Promise<void> {
    await this.session;
  }

  /** logits (B,T,V) of B sequences of T tokens each (row-major ids), with no past. */
  async forward(ids: ArrayLike<number>, B: number, T: number): Promise<Float32Array> {
    if (ids.length !== B * T) throw new Error(`forward: ${ids.length} ids for B=${B} × T=${T}`);
    const positions = Array.from({ length: B * T }, (_, i) => i % T);
    const { logits, present } = await this.run(
      { ids: Array.from(ids), positions, mask: Array(B * T).fill(1), T },
      this.emptyCache(B),
    );
    this.dispose(present);
    return logits;
  }

  /** Generates continuations of the prompts (any number of them), as GptSampler.generate does. */
  async generate(prompts: number[][], options: SamplingOptions): Promise<Generation> {
    this.checkPrompts(prompts);
    checkSamplingParams(options);
    if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0)
      throw new Error(`maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}`);
    const { maxT, eosId, vocabSize: V } = this.model;
    const rows = prompts.map((prompt) => ({
      sequence: [...prompt],
      limit: prompt.length + Math.min(options.maxNewTokens, maxT - prompt.length),
      ended: false,
    }));
    const growing = (row: (typeof rows)[number]) => !row.ended && row.sequence.length < row.limit;
    const P = Math.max(...prompts.map((prompt) => prompt.length));
    const masks = prompts.map((prompt) => Array.from({ length: P }, (_, s) => (s < P - prompt.length ? 0 : 1))); // (B,S), one column a call
    let inputs: StepInputs = {
      ids: prompts.flatMap((prompt) => [...Array<number>(P - prompt.length).fill(PAD_ID), ...prompt]),
      positions: prompts.flatMap((prompt) => Array.from({ length: P }, (_, s) => Math.max(0, s - (P - prompt.length)))),
      mask: masks.flat(),
      T: P,
    };
    let cache = this.emptyCache(prompts.length);
    while (rows.some(growing)) {
      const { logits, present } = await this.run(inputs, cache); // logits (B,T,V)
      this.dispose(cache);
      cache = present;
      const { T } = inputs;
      rows.forEach((row, b) => {
        if (!growing(row)) return;
        const token = sampleNextToken(
          logits.subarray(((b + 1) * T - 1) * V, (b + 1) * T * V),
          { ...options, step: row.sequence.length - 1 },
          b,
        );
        row.sequence.push(token);
        row.ended = token === eosId;
      });
      // The next call feeds each growing row the token it just drew; a stopped row feeds masked padding.
      rows.forEach((row, b) => masks[b].push(growing(row) ? 1 : 0));
      inputs = {
        ids: rows.map((row) => (growing(row) ? row.sequence[row.sequence.length - 1] : PAD_ID)),
        positions: rows.map((row) => (growing(row) ? row.sequence.length - 1 : 0)),
        mask: masks.flat(),
        T: 1,
      };
    }
    this.dispose(cache);
    return {
      tokens: rows.map((row, b) => row.sequence.slice(prompts[b].length)),
      ended: rows.map((row) => row.ended),
    };
  }

  /** Frees the session (its wasm memory). */
  async release(): Promise<void> {
    await (await this.session).release();
  }

  /** One call: the logits (B,T,V) on the CPU and the present cache, wherever the session keeps it. */
  private async run(
    { ids, positions, mask, T }: StepInputs,
    past: Record<string, Ort.Tensor>,
  ): Promise<{ logits: Float32Array; present: Record<string, Ort.Tensor> }> {
    const session = await this.session;
    const B = ids.length / T;
    const int64 = (values: number[], dims: number[]) =>
      new this.ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
    const feeds = {
      [ONNX_INPUT]: int64(ids, [B, T]),
      [ONNX_POSITION_IDS]: int64(positions, [B, T]),
      [ONNX_ATTENTION_MASK]: int64(mask, [B, mask.length / B]),
      ...past,
    };
    const outputs = await session.run(feeds);
    const present = Object.fromEntries(
      this.cacheLayers().map(([layer, kind]) => [onnxPastName(layer, kind), outputs[onnxPresentName(layer, kind)]]),
    );
    return { logits: outputs[ONNX_LOGITS].data as Float32Array, present };
  }

  private cacheLayers(): Array<[number, CacheTensor]> {
    return Array.from({ length: this.model.nLayer }, (_, layer) =>
      CACHE_KINDS.map((kind): [number, CacheTensor] => [layer, kind]),
    ).flat();
  }

  /** The past of a first call: (B, nHead, 0, headSize) for every layer's keys and values. */
  private emptyCache(B: number): Record<string, Ort.Tensor> {
    const { nHead, headSize } = this.model;
    return Object.fromEntries(
      this.cacheLayers().map(([layer, kind]) => [
        onnxPastName(layer, kind),
        new this.ort.Tensor('float32', new Float32Array(0), [B, nHead, 0, headSize]),
      ]),
    );
  }

  /** Frees a cache's tensors (GPU buffers when the session keeps present there; a no-op on the CPU). */
  private dispose(cache: Record<string, Ort.Tensor>): void {
    for (const tensor of Object.values(cache)) tensor.dispose();
  }

  private checkPrompts(prompts: number[][]): void {
    const { maxT, vocabSize } = this.model;
    if (prompts.length === 0) throw new Error('ort-sampler: at least one prompt is needed');
    prompts.forEach((prompt, b) => {
      if (prompt.length === 0) throw new Error(`ort-sampler: prompt ${b} is empty`);
      if (prompt.length >= maxT)
        throw new Error(`ort-sampler: prompt ${b} has ${prompt.length} tokens, leaving no room in ${maxT}`);
      for (const id of prompt)
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
          throw new Error(`ort-sampler: prompt ${b} has token id ${id} outside the vocabulary`);
    });
  }
}

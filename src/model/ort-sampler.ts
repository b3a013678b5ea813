// Sampling with onnxruntime-web on an exported model (onnx/gpt2-graph.ts), for browsers without
// WebGPU (the wasm execution provider) and as the peer our GPU sampler is measured against (ort's
// webgpu provider). Same options, result and semantics as GptSampler: a token is drawn at position t
// from the logits of positions 0..t−1 with the GPU kernel's rules and random draw (onnx/next-token.ts,
// step t−1, row = the prompt's index), a sequence stops after EOS, after maxNewTokens, or at maxT.
// The exported graph has no KV cache, so every step runs the forward over the whole prefix of the
// sequences still generating: O(T²) work, fine for the lab's small models.
import * as ort from 'onnxruntime-web';
import type { Checkpoint } from './checkpoint.ts';
import { exportOnnx, ONNX_INPUT, ONNX_LOGITS } from './onnx/gpt2-graph.ts';
import { checkSamplingParams, sampleNextToken } from './onnx/next-token.ts';
import type { Generation, SamplingOptions } from './sampler.ts';

/** What a sampler needs to know about the exported model besides its graph. */
export interface OrtSamplerModel {
  vocabSize: number;
  /** The end-of-text id: a sequence that draws it stops. */
  eosId: number;
  /** Longest sequence, prompt + completion, at most the model's context n_ctx (GptSampler's maxT). */
  maxT: number;
}

/** The wasm execution provider unless the caller picks another (e.g. ['webgpu']). */
const DEFAULT_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { executionProviders: ['wasm'] };

/** The sampler's model description for a checkpoint, with maxT defaulting to the context length. */
export function ortSamplerModel(checkpoint: Checkpoint, maxT = checkpoint.config.nCtx): OrtSamplerModel {
  if (!Number.isInteger(maxT) || maxT < 2 || maxT > checkpoint.config.nCtx) throw new Error(`maxT must be an integer in [2, ${checkpoint.config.nCtx}], got ${maxT}`);
  return { vocabSize: checkpoint.config.vocabSize, eosId: checkpoint.tokenizer.eosId, maxT };
}

/**
 * A sampler over an ONNX model with input `input_ids` and output `logits` (exportOnnx's). The
 * session is created in the constructor; generate() and forward() wait for it, and ready() reports
 * a model that does not load.
 */
export class OrtSampler {
  private readonly session: Promise<ort.InferenceSession>;

  constructor(
    onnx: Uint8Array,
    readonly model: OrtSamplerModel,
    sessionOptions: ort.InferenceSession.SessionOptions = DEFAULT_SESSION_OPTIONS,
  ) {
    if (!Number.isInteger(model.eosId) || model.eosId < 0 || model.eosId >= model.vocabSize) throw new Error(`eosId ${model.eosId} is outside [0, ${model.vocabSize})`);
    this.session = ort.InferenceSession.create(onnx, sessionOptions);
    this.session.catch(() => undefined); // reported by ready(), generate() and forward()
  }

  /** Exports a checkpoint and opens a sampler on it. */
  static fromCheckpoint(checkpoint: Checkpoint, options: { maxT?: number; sessionOptions?: ort.InferenceSession.SessionOptions } = {}): OrtSampler {
    return new OrtSampler(exportOnnx(checkpoint), ortSamplerModel(checkpoint, options.maxT), options.sessionOptions);
  }

  /** Resolves once the session is loaded; rejects with the runtime's error otherwise. */
  async ready(): Promise<void> {
    await this.session;
  }

  /** logits (B,T,V) of B sequences of T tokens each (row-major ids). */
  async forward(ids: ArrayLike<number>, B: number, T: number): Promise<Float32Array> {
    if (ids.length !== B * T) throw new Error(`forward: ${ids.length} ids for B=${B} × T=${T}`);
    const session = await this.session;
    const input = new ort.Tensor('int64', BigInt64Array.from(Array.from(ids, BigInt)), [B, T]);
    const outputs = await session.run({ [ONNX_INPUT]: input });
    input.dispose();
    return outputs[ONNX_LOGITS].data as Float32Array;
  }

  /** Generates continuations of the prompts (any number of them), as GptSampler.generate does. */
  async generate(prompts: number[][], options: SamplingOptions): Promise<Generation> {
    this.checkPrompts(prompts);
    checkSamplingParams(options);
    if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}`);
    const { maxT, eosId, vocabSize: V } = this.model;
    const rows = prompts.map((prompt) => ({ sequence: [...prompt], limit: prompt.length + Math.min(options.maxNewTokens, maxT - prompt.length), ended: false }));
    const growing = (row: (typeof rows)[number]) => !row.ended && row.sequence.length < row.limit;
    // A step conditions on T tokens and draws position T for every growing row that is T long.
    for (let T = Math.min(...prompts.map((p) => p.length)); rows.some(growing); T++) {
      const active = rows.flatMap((row, b) => (growing(row) && row.sequence.length === T ? [b] : []));
      if (active.length === 0) continue;
      const logits = await this.forward(active.flatMap((b) => rows[b].sequence), active.length, T); // (A,T,V)
      active.forEach((b, a) => {
        const last = logits.subarray(((a + 1) * T - 1) * V, (a + 1) * T * V);
        const token = sampleNextToken(last, { ...options, step: T - 1 }, b);
        rows[b].sequence.push(token);
        rows[b].ended = token === eosId;
      });
    }
    return {
      tokens: rows.map((row, b) => row.sequence.slice(prompts[b].length)),
      ended: rows.map((row) => row.ended),
    };
  }

  /** Frees the session (its wasm memory). */
  async release(): Promise<void> {
    await (await this.session).release();
  }

  private checkPrompts(prompts: number[][]): void {
    const { maxT, vocabSize } = this.model;
    if (prompts.length === 0) throw new Error('ort-sampler: at least one prompt is needed');
    prompts.forEach((prompt, b) => {
      if (prompt.length === 0) throw new Error(`ort-sampler: prompt ${b} is empty`);
      if (prompt.length >= maxT) throw new Error(`ort-sampler: prompt ${b} has ${prompt.length} tokens, leaving no room in ${maxT}`);
      for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`ort-sampler: prompt ${b} has token id ${id} outside the vocabulary`);
    });
  }
}

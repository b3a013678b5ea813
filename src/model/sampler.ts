// Batched KV-cache sampling on the GPU. B prompts of different lengths share one (B, maxT) token
// buffer; each decode step feeds every sequence its token at positions[b] (a prompt token while
// the prompt lasts, then the last sampled one), appends k and v to per-layer caches, attends over
// the cache, and samples with temperature / top-k / top-p from a seeded counter-based RNG. All
// steps are recorded into one command encoder and submitted once; only token ids are read back.
import { writeArray, createStorageBuffer, readFloat32, readUint32, FLOAT_BYTES } from '../engine/buffers.ts';
import { recordDispatches, type Dispatch } from '../engine/kernel.ts';
import { matmulDispatch } from '../engine/ops/matmul.ts';
import { layernormForwardDispatch } from '../engine/ops/layernorm.ts';
import {
  createSampleParamsBuffer,
  decodeAttentionDispatches,
  kvAppendDispatch,
  sampleDispatch,
  writeSampleParams,
} from '../engine/ops/decode.ts';
import { decodeCommitDispatch, decodeEmbedDispatch } from '../engine/ops/sequence.ts';
import { modelLayout, type ModelKind } from './layout.ts';
import type { GptConfig } from './config.ts';

export interface SamplingOptions {
  /** New tokens per sequence at most (the context n_ctx also bounds it). */
  maxNewTokens: number;
  /** 0 = greedy (argmax); otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP: number;
  seed: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { maxNewTokens: 48, temperature: 1, topK: 0, topP: 1, seed: 1 };

export interface Generation {
  /** Generated ids per prompt, up to and including EOS when it was produced. */
  tokens: number[][];
  /** Whether each sequence ended with EOS within maxNewTokens. */
  ended: boolean[];
}

/** Decode-step activations (one row per sequence). */
interface StepBuffers {
  x: GPUBuffer; // (B,C) residual stream
  ln: GPUBuffer;
  mean: GPUBuffer;
  rstd: GPUBuffer; // (B,C) (B) (B)
  qkv: GPUBuffer; // (B,3C)
  atty: GPUBuffer;
  residual: GPUBuffer; // (B,C) residual: the stream after attention
  fch: GPUBuffer;
  fchGelu: GPUBuffer; // (B,4C)
  logits: GPUBuffer; // (B,V)
}

/**
 * A sampler bound to a parameter buffer (e.g. GptModel.params: the policy's live weights, no copy)
 * for up to B sequences of up to maxT tokens (prompt + completion).
 */
export class GptSampler {
  private readonly layout;
  private readonly sequence: GPUBuffer; // (B,maxT) u32
  private readonly positions: GPUBuffer; // (B) u32
  private readonly finished: GPUBuffer; // (B) u32
  private readonly sampleDone: GPUBuffer; // (B) u32
  private readonly promptLengths: GPUBuffer; // (B) u32
  private readonly sampled: GPUBuffer; // (B) u32
  private readonly stepPass: Dispatch[];
  private readonly commitPass: Dispatch;
  private readonly step: StepBuffers;
  private readonly allocated: GPUBuffer[] = [];
  private readonly sampleSteps: { params: GPUBuffer; dispatch: Dispatch }[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly config: GptConfig,
    readonly params: GPUBuffer,
    readonly kind: ModelKind,
    readonly B: number,
    readonly maxT: number,
    readonly eosId: number,
    readonly label = 'sampler',
  ) {
    if (maxT > config.nCtx) throw new Error(`sampler length ${maxT} exceeds the model's context n_ctx=${config.nCtx}`);
    this.layout = modelLayout(config, kind);
    const { nEmbd: C, vocabSize: V, nLayer: L } = config;
    this.sequence = this.buffer('sequence', B * maxT);
    this.positions = this.buffer('positions', B);
    this.finished = this.buffer('finished', B);
    this.sampleDone = this.buffer('sample-done', B);
    this.promptLengths = this.buffer('prompt-lengths', B);
    this.sampled = this.buffer('sampled', B);
    this.step = {
      x: this.buffer('x', B * C),
      ln: this.buffer('ln', B * C),
      mean: this.buffer('ln.mean', B),
      rstd: this.buffer('ln.rstd', B),
      qkv: this.buffer('qkv', B * 3 * C),
      atty: this.buffer('atty', B * C),
      residual: this.buffer('residual', B * C),
      fch: this.buffer('fch', B * 4 * C),
      fchGelu: this.buffer('fch.gelu', B * 4 * C),
      logits: this.buffer('logits', B * V),
    };
    const caches = Array.from({ length: L }, (_, l) => ({
      k: this.buffer(`h${l}.k-cache`, B * maxT * C),
      v: this.buffer(`h${l}.v-cache`, B * maxT * C),
    }));
    this.stepPass = this.buildStep(caches);
    this.commitPass = this.commitDispatch();
  }

  private buffer(name: string, floats: number): GPUBuffer {
    const buffer = createStorageBuffer(this.device, `${this.label}.${name}`, floats * FLOAT_BYTES);
    this.allocated.push(buffer);
    return buffer;
  }

  private tensor(name: string) {
    const t = this.layout.tensors.find((candidate) => candidate.name === name);
    if (!t) throw new Error(`${this.label}: no tensor ${name}`);
    return { buffer: this.params, offset: t.offset * FLOAT_BYTES, size: t.size * FLOAT_BYTES };
  }

  /** One decode step for all sequences, up to the logits (sampling and commit are added per step). */
  private buildStep(caches: { k: GPUBuffer; v: GPUBuffer }[]): Dispatch[] {
    const { device, B, maxT, step: s } = this;
    const { nEmbd: C, nHead: NH, vocabSize: V } = this.config;
    const wte = this.tensor('transformer.wte.weight');
    const dispatches: Dispatch[] = [
      decodeEmbedDispatch(
        device,
        `${this.label}.embed`,
        {
          out: s.x,
          sequence: this.sequence,
          positions: this.positions,
          wte,
          wpe: this.tensor('transformer.wpe.weight'),
        },
        B,
        C,
        maxT,
      ),
    ];
    caches.forEach((cache, l) => {
      const w = (name: string) => this.tensor(`transformer.h.${l}.${name}`);
      const at = (what: string) => `${this.label}.h${l}.${what}`;
      dispatches.push(
        layernormForwardDispatch(
          device,
          at('ln1'),
          { out: s.ln, mean: s.mean, rstd: s.rstd, inp: s.x, weight: w('ln_1.weight'), bias: w('ln_1.bias') },
          B,
          C,
        ),
        matmulDispatch(
          device,
          at('qkv'),
          { out: s.qkv, a: s.ln, b: w('attn.c_attn.weight'), bias: w('attn.c_attn.bias') },
          B,
          3 * C,
          C,
        ),
        kvAppendDispatch(
          device,
          at('kv-append'),
          { kCache: cache.k, vCache: cache.v, qkv: s.qkv, positions: this.positions },
          B,
          C,
          NH,
          maxT,
        ),
        ...decodeAttentionDispatches(
          device,
          at('attention'),
          { out: s.atty, qkv: s.qkv, kCache: cache.k, vCache: cache.v, positions: this.positions },
          B,
          C,
          NH,
          maxT,
        ),
        matmulDispatch(
          device,
          at('attproj'),
          { out: s.residual, a: s.atty, b: w('attn.c_proj.weight'), bias: w('attn.c_proj.bias'), residual: s.x },
          B,
          C,
          C,
        ),
        layernormForwardDispatch(
          device,
          at('ln2'),
          { out: s.ln, mean: s.mean, rstd: s.rstd, inp: s.residual, weight: w('ln_2.weight'), bias: w('ln_2.bias') },
          B,
          C,
        ),
        matmulDispatch(
          device,
          at('fc'),
          { out: s.fch, a: s.ln, b: w('mlp.c_fc.weight'), bias: w('mlp.c_fc.bias'), geluOut: s.fchGelu },
          B,
          4 * C,
          C,
        ),
        matmulDispatch(
          device,
          at('fcproj'),
          { out: s.x, a: s.fchGelu, b: w('mlp.c_proj.weight'), bias: w('mlp.c_proj.bias'), residual: s.residual },
          B,
          C,
          4 * C,
        ),
      );
    });
    dispatches.push(
      layernormForwardDispatch(
        device,
        `${this.label}.ln_f`,
        {
          out: s.ln,
          mean: s.mean,
          rstd: s.rstd,
          inp: s.x,
          weight: this.tensor('transformer.ln_f.weight'),
          bias: this.tensor('transformer.ln_f.bias'),
        },
        B,
        C,
      ),
      matmulDispatch(device, `${this.label}.lm-head`, { out: s.logits, a: s.ln, b: wte }, B, V, C, { transB: true }),
    );
    return dispatches;
  }

  /**
   * The sampling dispatch of decode step `step`, with its own parameter buffer (the step number
   * seeds the RNG, and all steps are recorded before one submit). Built on first use and kept, so
   * repeated generations allocate nothing.
   */
  private sampleStep(step: number): { params: GPUBuffer; dispatch: Dispatch } {
    let cached = this.sampleSteps[step];
    if (!cached) {
      const params = createSampleParamsBuffer(this.device, `${this.label}.sample-params.${step}`);
      this.allocated.push(params);
      const dispatch = sampleDispatch(
        this.device,
        `${this.label}.sample`,
        { ids: this.sampled, logits: this.step.logits, params, done: this.sampleDone },
        this.B,
        this.config.vocabSize,
        this.eosId,
      );
      cached = this.sampleSteps[step] = { params, dispatch };
    }
    return cached;
  }

  private commitDispatch(): Dispatch {
    return decodeCommitDispatch(
      this.device,
      `${this.label}.commit`,
      {
        sequence: this.sequence,
        positions: this.positions,
        finished: this.finished,
        sampleDone: this.sampleDone,
        promptLengths: this.promptLengths,
        sampled: this.sampled,
      },
      this.B,
      this.maxT,
      this.eosId,
    );
  }

  private upload(prompts: number[][]): void {
    const { B, maxT } = this;
    if (prompts.length === 0 || prompts.length > B)
      throw new Error(`${this.label}: between 1 and ${B} prompts, got ${prompts.length}`);
    const sequence = new Uint32Array(B * maxT);
    const lengths = new Uint32Array(B).fill(1);
    prompts.forEach((prompt, b) => {
      if (prompt.length === 0) throw new Error(`${this.label}: prompt ${b} is empty`);
      if (prompt.length >= maxT)
        throw new Error(`${this.label}: prompt ${b} has ${prompt.length} tokens, leaving no room in ${maxT}`);
      for (const id of prompt)
        if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize)
          throw new Error(`${this.label}: prompt ${b} has token id ${id} outside the vocabulary`);
      sequence.set(prompt, b * maxT);
      lengths[b] = prompt.length;
    });
    const queue = this.device.queue;
    writeArray(queue, this.sequence, sequence);
    writeArray(queue, this.promptLengths, lengths);
    queue.writeBuffer(this.positions, 0, new Uint32Array(B));
    queue.writeBuffer(this.finished, 0, new Uint32Array(B));
    queue.writeBuffer(this.sampleDone, 0, new Uint32Array(B));
  }

  /**
   * Generates continuations for up to B prompts. With `onStepLogits`, every step is submitted
   * separately and its (B,V) logits are passed on (tests compare them with a full forward).
   */
  async generate(
    prompts: number[][],
    options: SamplingOptions,
    onStepLogits?: (step: number, logits: Float32Array) => void,
  ): Promise<Generation> {
    this.upload(prompts);
    const longest = Math.max(...prompts.map((p) => p.length));
    const steps = Math.min(this.maxT, longest + options.maxNewTokens) - 1;
    let encoder = this.device.createCommandEncoder({ label: `${this.label}.generate` });
    for (let step = 0; step < steps; step++) {
      const { params, dispatch: sample } = this.sampleStep(step);
      writeSampleParams(this.device.queue, params, {
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        seed: options.seed,
        step,
      });
      recordDispatches(encoder, [...this.stepPass, sample, this.commitPass], `${this.label}.step`);
      if (onStepLogits) {
        this.device.queue.submit([encoder.finish()]);
        onStepLogits(step, await readFloat32(this.device, this.step.logits, 0, this.B * this.config.vocabSize));
        encoder = this.device.createCommandEncoder({ label: `${this.label}.generate` });
      }
    }
    this.device.queue.submit([encoder.finish()]);
    const sequence = await readUint32(this.device, this.sequence, 0, this.B * this.maxT);
    return this.collect(prompts, sequence, steps + 1, options.maxNewTokens);
  }

  /** Reads each row's completion: positions prompt.length .. filled-1 of the sequence buffer. */
  private collect(prompts: number[][], sequence: Uint32Array, filled: number, maxNewTokens: number): Generation {
    const tokens: number[][] = [];
    const ended: boolean[] = [];
    prompts.forEach((prompt, b) => {
      const row = Array.from(sequence.subarray(b * this.maxT + prompt.length, b * this.maxT + filled)).slice(
        0,
        maxNewTokens,
      );
      const eos = row.indexOf(this.eosId);
      tokens.push(eos >= 0 ? row.slice(0, eos + 1) : row);
      ended.push(eos >= 0);
    });
    return { tokens, ended };
  }

  destroy(): void {
    for (const buffer of this.allocated) buffer.destroy();
  }
}

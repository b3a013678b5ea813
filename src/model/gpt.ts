// GPT-2 on the GPU, the llm.c way: a fixed architecture written as explicit forward and backward
// kernel dispatches over buffers allocated once for a (B, T) shape. The dispatch lists are built
// once and re-recorded every step; a training step is one command encoder and one submit, and its
// loss is read back asynchronously. The float64 twin in reference.ts is the specification.
//
// Sizes: B batch, T sequence length (≤ nCtx), C channels, V vocabulary, NH heads, L layers.
// Two kinds of model share the trunk:
//   'lm'     — logits = lnf @ wte^T (tied LM head): pretraining, SFT, the PPO policy, DPO;
//   'scalar' — values = lnf · score.weight + score.bias at every position: reward model, PPO value.
import {
  writeArray,
  createStorageBuffer,
  createStorageBufferFrom,
  readFloat32,
  FLOAT_BYTES,
} from '../engine/buffers.ts';
import { recordDispatches, type Dispatch } from '../engine/kernel.ts';
import { matmulDispatch } from '../engine/ops/matmul.ts';
import { encoderBackwardDispatches, encoderForwardDispatch, bucketTokens } from '../engine/ops/encoder.ts';
import { layernormBackwardDispatches, layernormForwardDispatch } from '../engine/ops/layernorm.ts';
import { biasBackwardDispatches } from '../engine/ops/columnsum.ts';
import { attentionBackwardDispatches, attentionForwardDispatches } from '../engine/ops/attention.ts';
import { crossEntropyDispatch, tokenStatsDispatch } from '../engine/ops/crossentropy.ts';
import { scalarHeadBackwardDispatches, scalarHeadForwardDispatch } from '../engine/ops/scalarhead.ts';
import {
  adamwDispatches,
  createAdamwHyperBuffer,
  decayMaskFor,
  writeAdamwHyper,
  type AdamwHyperparams,
} from '../engine/ops/adamw.ts';
import { modelLayout, type ModelKind, type ModelLayout } from './layout.ts';
import type { GptConfig } from './config.ts';

export type { AdamwHyperparams };

export const DEFAULT_ADAMW: AdamwHyperparams = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  gradClip: 1.0,
};

/** A batch as the CPU prepares it. Row-major (B,T); shorter sequences are padded with weight 0. */
export interface Batch {
  tokens: ArrayLike<number>; // (B,T) input ids
  /** (B,T) next-token targets for 'lm' models (targets[b,t] = tokens[b,t+1] for language modelling). */
  targets?: ArrayLike<number>;
  /** (B,T) per-token loss weights: 0 masks prompt tokens and padding. Default 1 everywhere. */
  weights?: ArrayLike<number>;
  /** Loss normaliser; default 1 / Σ weights (mean over weighted tokens). */
  lossScale?: number;
}

/** Statistics a step can read back. */
export interface StepResult {
  /** Σ w·nll · lossScale for 'lm' models; NaN for 'scalar'. */
  loss: number;
  /** Global gradient norm before clipping (NaN without an optimizer step). */
  gradNorm: number;
}

type Range = { buffer: GPUBuffer; offset: number; size: number };

/** WebGPU limits checked against a configuration before anything is allocated. */
export function checkShapeFits(
  config: GptConfig,
  kind: ModelKind,
  B: number,
  T: number,
  limits: GPUSupportedLimits,
): void {
  const { nEmbd: C, nHead: NH, vocabSize: V, nCtx } = config;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1)
    throw new Error(`batch shape must be positive integers, got B=${B} T=${T}`);
  if (T > nCtx) throw new Error(`sequence length T=${T} exceeds the model's context n_ctx=${nCtx}`);
  const binding = limits.maxStorageBufferBindingSize;
  const largest: [string, number][] = [
    ['parameters', modelLayout(config, kind).totalFloats * FLOAT_BYTES],
    ['attention scores (B,NH,T,T)', B * NH * T * T * FLOAT_BYTES],
    ['MLP activations (B,T,4C)', B * T * 4 * C * FLOAT_BYTES],
    ...(kind === 'lm' ? ([['logits (B,T,V)', B * T * V * FLOAT_BYTES]] as [string, number][]) : []),
  ];
  for (const [what, bytes] of largest) {
    if (bytes > binding) {
      throw new Error(
        `${what} need ${(bytes / 2 ** 20).toFixed(1)} MiB, over the device's maxStorageBufferBindingSize ` +
          `(${(binding / 2 ** 20).toFixed(0)} MiB): use a smaller batch B=${B}, sequence T=${T} or model`,
      );
    }
  }
  if (B * T > 65535 * 64)
    throw new Error(`B·T=${B * T} rows exceed maxComputeWorkgroupsPerDimension for the row kernels`);
}

/** Per-block activation buffers (B·T rows). */
interface BlockBuffers {
  ln1: GPUBuffer;
  ln1Mean: GPUBuffer;
  ln1Rstd: GPUBuffer; // (BT,C) (BT) (BT)
  qkv: GPUBuffer; // (BT,3C)
  preatt: GPUBuffer;
  att: GPUBuffer; // (B,NH,T,T)
  atty: GPUBuffer;
  residual2: GPUBuffer; // (BT,C) residual2 = input + attention projection
  ln2: GPUBuffer;
  ln2Mean: GPUBuffer;
  ln2Rstd: GPUBuffer; // (BT,C) (BT) (BT)
  fch: GPUBuffer;
  fchGelu: GPUBuffer; // (BT,4C)
  residual3: GPUBuffer; // (BT,C) residual2 + MLP projection
}

/**
 * A GPT-2 with its parameters, gradients, AdamW moments and activations on one device, for one
 * (B, T) shape. Parameters live in ONE flat buffer laid out by modelLayout (256-byte aligned
 * tensors bound as sub-ranges), and so do gradients and moments.
 */
export class GptModel {
  readonly layout: ModelLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  private readonly m: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly adamwHyper: GPUBuffer;
  private readonly gradNorm: GPUBuffer;
  private optimizerStep = 0;

  // inputs
  private readonly tokens: GPUBuffer; // (BT) u32
  private readonly targets: GPUBuffer; // (BT) u32
  private readonly weights: GPUBuffer; // (BT) f32
  private readonly lossScale: GPUBuffer; // (1) f32
  private readonly tokenOffsets: GPUBuffer; // (V+1) u32
  private readonly tokenPositions: GPUBuffer; // (BT) u32
  private hostWeights = new Float32Array(0);
  private hostLossScale = 1;

  // outputs readable after forward
  readonly logits?: GPUBuffer; // (BT,V) — dlogits after the loss pass
  readonly losses?: GPUBuffer; // (BT) −log p(target)
  readonly logprobs?: GPUBuffer; // (BT)
  readonly entropy?: GPUBuffer; // (BT)
  readonly values?: GPUBuffer; // (BT)
  readonly dvalues?: GPUBuffer; // (BT) written by the CPU for 'scalar' backward

  private readonly forwardPass: Dispatch[];
  private readonly statsPass: Dispatch[];
  private readonly lossPass: Dispatch[];
  private readonly backwardPass: Dispatch[];
  private readonly optimizerPass: Dispatch[];
  private readonly allocated: GPUBuffer[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly config: GptConfig,
    readonly kind: ModelKind,
    readonly B: number,
    readonly T: number,
    readonly label = `gpt-${kind}`,
  ) {
    checkShapeFits(config, kind, B, T, device.limits);
    const { nEmbd: C, vocabSize: V } = config;
    const BT = B * T;
    this.layout = modelLayout(config, kind);
    const total = this.layout.totalFloats;
    this.params = this.buffer('params', total);
    this.grads = this.buffer('grads', total);
    this.m = this.buffer('adamw.m', total);
    this.v = this.buffer('adamw.v', total);
    this.gradNorm = this.buffer('adamw.grad-norm', 1);
    this.adamwHyper = createAdamwHyperBuffer(device, `${label}.adamw.hyper`);
    this.tokens = this.buffer('tokens', BT);
    this.targets = this.buffer('targets', BT);
    this.weights = this.buffer('weights', BT);
    this.lossScale = this.buffer('loss-scale', 1);
    this.tokenOffsets = this.buffer('token-offsets', V + 1);
    this.tokenPositions = this.buffer('token-positions', BT);
    if (kind === 'lm') {
      this.logits = this.buffer('logits', BT * V);
      this.losses = this.buffer('losses', BT);
      this.logprobs = this.buffer('logprobs', BT);
      this.entropy = this.buffer('entropy', BT);
    } else {
      this.values = this.buffer('values', BT);
      this.dvalues = this.buffer('dvalues', BT);
    }
    const blocks = Array.from({ length: config.nLayer }, (_, layer) => this.blockBuffers(layer));
    const encoded = this.buffer('encoded', BT * C);
    const lnf = this.buffer('lnf', BT * C);
    const lnfMean = this.buffer('lnf.mean', BT);
    const lnfRstd = this.buffer('lnf.rstd', BT);
    this.forwardPass = this.buildForward(blocks, encoded, lnf, lnfMean, lnfRstd);
    this.statsPass = this.buildStats();
    this.lossPass = this.buildLoss();
    this.backwardPass = this.buildBackward(blocks, encoded, lnf, lnfMean, lnfRstd);
    const decayMask = createStorageBufferFrom(device, `${label}.adamw.decay-mask`, decayMaskFor(this.layout));
    this.allocated.push(decayMask, this.adamwHyper);
    this.optimizerPass = adamwDispatches(
      device,
      `${label}.adamw`,
      {
        params: this.params,
        grads: this.grads,
        m: this.m,
        v: this.v,
        decayMask,
        hyper: this.adamwHyper,
        gradNorm: this.gradNorm,
      },
      total,
    );
  }

  private buffer(name: string, floats: number): GPUBuffer {
    const buffer = createStorageBuffer(this.device, `${this.label}.${name}`, floats * FLOAT_BYTES);
    this.allocated.push(buffer);
    return buffer;
  }

  private blockBuffers(layer: number): BlockBuffers {
    const { nEmbd: C, nHead: NH } = this.config;
    const { B, T } = this;
    const BT = B * T;
    const name = (n: string) => `h${layer}.${n}`;
    return {
      ln1: this.buffer(name('ln1'), BT * C),
      ln1Mean: this.buffer(name('ln1.mean'), BT),
      ln1Rstd: this.buffer(name('ln1.rstd'), BT),
      qkv: this.buffer(name('qkv'), BT * 3 * C),
      preatt: this.buffer(name('preatt'), B * NH * T * T),
      att: this.buffer(name('att'), B * NH * T * T),
      atty: this.buffer(name('atty'), BT * C),
      residual2: this.buffer(name('residual2'), BT * C),
      ln2: this.buffer(name('ln2'), BT * C),
      ln2Mean: this.buffer(name('ln2.mean'), BT),
      ln2Rstd: this.buffer(name('ln2.rstd'), BT),
      fch: this.buffer(name('fch'), BT * 4 * C),
      fchGelu: this.buffer(name('fch.gelu'), BT * 4 * C),
      residual3: this.buffer(name('residual3'), BT * C),
    };
  }

  /** A parameter tensor as a sub-range of `buffer` (params or grads). */
  tensor(buffer: GPUBuffer, name: string): Range {
    const t = this.layout.tensors.find((candidate) => candidate.name === name);
    if (!t) throw new Error(`${this.label}: no tensor ${name}`);
    return { buffer, offset: t.offset * FLOAT_BYTES, size: t.size * FLOAT_BYTES };
  }

  private block(buffer: GPUBuffer, layer: number, name: string): Range {
    return this.tensor(buffer, `transformer.h.${layer}.${name}`);
  }

  private buildForward(
    blocks: BlockBuffers[],
    encoded: GPUBuffer,
    lnf: GPUBuffer,
    lnfMean: GPUBuffer,
    lnfRstd: GPUBuffer,
  ): Dispatch[] {
    const { device, B, T, params: p } = this;
    const { nEmbd: C, nHead: NH, vocabSize: V } = this.config;
    const BT = B * T;
    const at = (layer: number, what: string) => `${this.label}.h${layer}.${what}`;
    const dispatches: Dispatch[] = [
      encoderForwardDispatch(
        device,
        `${this.label}.encoder`,
        {
          out: encoded,
          tokens: this.tokens,
          wte: this.tensor(p, 'transformer.wte.weight'),
          wpe: this.tensor(p, 'transformer.wpe.weight'),
        },
        B,
        T,
        C,
      ),
    ];
    let x: GPUBuffer = encoded; // (BT,C) the residual stream
    blocks.forEach((a, l) => {
      const w = (name: string) => this.block(p, l, name);
      dispatches.push(
        layernormForwardDispatch(
          device,
          at(l, 'ln1'),
          { out: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, inp: x, weight: w('ln_1.weight'), bias: w('ln_1.bias') },
          BT,
          C,
        ),
        matmulDispatch(
          device,
          at(l, 'qkv'),
          { out: a.qkv, a: a.ln1, b: w('attn.c_attn.weight'), bias: w('attn.c_attn.bias') },
          BT,
          3 * C,
          C,
        ),
        ...attentionForwardDispatches(
          device,
          at(l, 'attention'),
          { out: a.atty, preatt: a.preatt, att: a.att, qkv: a.qkv },
          B,
          T,
          C,
          NH,
        ),
        // residual2 = x + (atty @ Wproj + b): the residual connection is the projection's epilogue
        matmulDispatch(
          device,
          at(l, 'attproj'),
          { out: a.residual2, a: a.atty, b: w('attn.c_proj.weight'), bias: w('attn.c_proj.bias'), residual: x },
          BT,
          C,
          C,
        ),
        layernormForwardDispatch(
          device,
          at(l, 'ln2'),
          {
            out: a.ln2,
            mean: a.ln2Mean,
            rstd: a.ln2Rstd,
            inp: a.residual2,
            weight: w('ln_2.weight'),
            bias: w('ln_2.bias'),
          },
          BT,
          C,
        ),
        // fch = ln2 @ Wfc + b, and fchGelu = gelu(fch) in the same epilogue
        matmulDispatch(
          device,
          at(l, 'fc'),
          { out: a.fch, a: a.ln2, b: w('mlp.c_fc.weight'), bias: w('mlp.c_fc.bias'), geluOut: a.fchGelu },
          BT,
          4 * C,
          C,
        ),
        matmulDispatch(
          device,
          at(l, 'fcproj'),
          {
            out: a.residual3,
            a: a.fchGelu,
            b: w('mlp.c_proj.weight'),
            bias: w('mlp.c_proj.bias'),
            residual: a.residual2,
          },
          BT,
          C,
          4 * C,
        ),
      );
      x = a.residual3;
    });
    dispatches.push(
      layernormForwardDispatch(
        device,
        `${this.label}.ln_f`,
        {
          out: lnf,
          mean: lnfMean,
          rstd: lnfRstd,
          inp: x,
          weight: this.tensor(p, 'transformer.ln_f.weight'),
          bias: this.tensor(p, 'transformer.ln_f.bias'),
        },
        BT,
        C,
      ),
    );
    if (this.kind === 'lm') {
      const wte = this.tensor(p, 'transformer.wte.weight');
      dispatches.push(
        matmulDispatch(device, `${this.label}.lm-head`, { out: this.logits!, a: lnf, b: wte }, BT, V, C, {
          transB: true,
        }),
      );
    } else {
      dispatches.push(
        scalarHeadForwardDispatch(
          device,
          `${this.label}.score`,
          { values: this.values!, lnf, weight: this.tensor(p, 'score.weight'), bias: this.tensor(p, 'score.bias') },
          BT,
          C,
        ),
      );
    }
    return dispatches;
  }

  private buildStats(): Dispatch[] {
    if (this.kind !== 'lm') return [];
    const { B, T } = this;
    return [
      tokenStatsDispatch(
        this.device,
        `${this.label}.token-stats`,
        { logprobs: this.logprobs!, entropy: this.entropy!, logits: this.logits!, targets: this.targets },
        B * T,
        this.config.vocabSize,
      ),
    ];
  }

  private buildLoss(): Dispatch[] {
    if (this.kind !== 'lm') return [];
    const { B, T } = this;
    return [
      crossEntropyDispatch(
        this.device,
        `${this.label}.cross-entropy`,
        {
          losses: this.losses!,
          logits: this.logits!,
          targets: this.targets,
          weights: this.weights,
          scale: this.lossScale,
        },
        B * T,
        this.config.vocabSize,
        { writeGradient: true },
      ),
    ];
  }

  private buildBackward(
    blocks: BlockBuffers[],
    encoded: GPUBuffer,
    lnf: GPUBuffer,
    lnfMean: GPUBuffer,
    lnfRstd: GPUBuffer,
  ): Dispatch[] {
    const { device, B, T, params: p, grads: g } = this;
    const { nEmbd: C, nHead: NH, vocabSize: V } = this.config;
    const BT = B * T;
    const at = (layer: number, what: string) => `${this.label}.h${layer}.${what}.backward`;
    // Scratch gradients shared by all layers (activation gradients overwrite).
    const dresidual = this.buffer('d.residual', BT * C); // (BT,C) d loss / d residual stream
    const dln = this.buffer('d.ln', BT * C); // (BT,C)
    const dqkv = this.buffer('d.qkv', BT * 3 * C); // (BT,3C)
    const datty = this.buffer('d.atty', BT * C); // (BT,C)
    const dpreatt = this.buffer('d.preatt', B * NH * T * T); // (B,NH,T,T)
    const datt = this.buffer('d.att', B * NH * T * T); // (B,NH,T,T)
    const dfch = this.buffer('d.fch', BT * 4 * C); // (BT,4C)
    const dlnf = this.buffer('d.lnf', BT * C); // (BT,C)
    const wte = this.tensor(p, 'transformer.wte.weight');
    const dwte = this.tensor(g, 'transformer.wte.weight');
    const dispatches: Dispatch[] = [];

    if (this.kind === 'lm') {
      const dlogits = this.logits!; // the loss pass wrote d loss / d logits in place
      dispatches.push(
        matmulDispatch(device, `${this.label}.lm-head.backward.dlnf`, { out: dlnf, a: dlogits, b: wte }, BT, C, V),
        matmulDispatch(device, `${this.label}.lm-head.backward.dwte`, { out: dwte, a: dlogits, b: lnf }, V, C, BT, {
          transA: true,
          accumulate: true,
        }),
      );
    } else {
      dispatches.push(
        ...scalarHeadBackwardDispatches(
          device,
          `${this.label}.score.backward`,
          {
            dlnf,
            dweight: this.tensor(g, 'score.weight'),
            dbias: this.tensor(g, 'score.bias'),
            dvalues: this.dvalues!,
            lnf,
            weight: this.tensor(p, 'score.weight'),
          },
          BT,
          C,
          { accumulateInput: false },
        ),
      );
    }
    const lastInput = blocks.length > 0 ? blocks[blocks.length - 1].residual3 : encoded;
    dispatches.push(
      ...layernormBackwardDispatches(
        device,
        `${this.label}.ln_f.backward`,
        {
          dinp: dresidual,
          dweight: this.tensor(g, 'transformer.ln_f.weight'),
          dbias: this.tensor(g, 'transformer.ln_f.bias'),
          dout: dlnf,
          inp: lastInput,
          weight: this.tensor(p, 'transformer.ln_f.weight'),
          mean: lnfMean,
          rstd: lnfRstd,
        },
        BT,
        C,
        { accumulateInput: false },
      ),
    );
    for (let l = blocks.length - 1; l >= 0; l--) {
      const a = blocks[l];
      const input = l > 0 ? blocks[l - 1].residual3 : encoded;
      const w = (name: string) => this.block(p, l, name);
      const dw = (name: string) => this.block(g, l, name);
      dispatches.push(
        // residual3 = residual2 + fcproj: both receive dresidual. fcproj = fchGelu @ Wproj + b
        // d fch = gelu'(fch) · (dresidual @ Wproj^T): the GELU's backward is the product's epilogue
        matmulDispatch(
          device,
          at(l, 'fcproj.dinp'),
          { out: dfch, a: dresidual, b: w('mlp.c_proj.weight'), geluInput: a.fch },
          BT,
          4 * C,
          C,
          { transB: true },
        ),
        matmulDispatch(
          device,
          at(l, 'fcproj.dweight'),
          { out: dw('mlp.c_proj.weight'), a: a.fchGelu, b: dresidual },
          4 * C,
          C,
          BT,
          { transA: true, accumulate: true },
        ),
        ...biasBackwardDispatches(
          device,
          at(l, 'fcproj.dbias'),
          { dbias: dw('mlp.c_proj.bias'), dout: dresidual },
          BT,
          C,
        ),
        matmulDispatch(device, at(l, 'fc.dinp'), { out: dln, a: dfch, b: w('mlp.c_fc.weight') }, BT, C, 4 * C, {
          transB: true,
        }),
        matmulDispatch(device, at(l, 'fc.dweight'), { out: dw('mlp.c_fc.weight'), a: a.ln2, b: dfch }, C, 4 * C, BT, {
          transA: true,
          accumulate: true,
        }),
        ...biasBackwardDispatches(device, at(l, 'fc.dbias'), { dbias: dw('mlp.c_fc.bias'), dout: dfch }, BT, 4 * C),
        ...layernormBackwardDispatches(
          device,
          at(l, 'ln2'),
          {
            dinp: dresidual,
            dweight: dw('ln_2.weight'),
            dbias: dw('ln_2.bias'),
            dout: dln,
            inp: a.residual2,
            weight: w('ln_2.weight'),
            mean: a.ln2Mean,
            rstd: a.ln2Rstd,
          },
          BT,
          C,
          { accumulateInput: true },
        ),
        // residual2 = input + attproj; attproj = atty @ Wproj + b
        matmulDispatch(
          device,
          at(l, 'attproj.dinp'),
          { out: datty, a: dresidual, b: w('attn.c_proj.weight') },
          BT,
          C,
          C,
          { transB: true },
        ),
        matmulDispatch(
          device,
          at(l, 'attproj.dweight'),
          { out: dw('attn.c_proj.weight'), a: a.atty, b: dresidual },
          C,
          C,
          BT,
          { transA: true, accumulate: true },
        ),
        ...biasBackwardDispatches(
          device,
          at(l, 'attproj.dbias'),
          { dbias: dw('attn.c_proj.bias'), dout: dresidual },
          BT,
          C,
        ),
        ...attentionBackwardDispatches(
          device,
          at(l, 'attention'),
          { dqkv, dpreatt, datt, dout: datty, qkv: a.qkv, att: a.att },
          B,
          T,
          C,
          NH,
        ),
        matmulDispatch(device, at(l, 'qkv.dinp'), { out: dln, a: dqkv, b: w('attn.c_attn.weight') }, BT, C, 3 * C, {
          transB: true,
        }),
        matmulDispatch(
          device,
          at(l, 'qkv.dweight'),
          { out: dw('attn.c_attn.weight'), a: a.ln1, b: dqkv },
          C,
          3 * C,
          BT,
          { transA: true, accumulate: true },
        ),
        ...biasBackwardDispatches(device, at(l, 'qkv.dbias'), { dbias: dw('attn.c_attn.bias'), dout: dqkv }, BT, 3 * C),
        ...layernormBackwardDispatches(
          device,
          at(l, 'ln1'),
          {
            dinp: dresidual,
            dweight: dw('ln_1.weight'),
            dbias: dw('ln_1.bias'),
            dout: dln,
            inp: input,
            weight: w('ln_1.weight'),
            mean: a.ln1Mean,
            rstd: a.ln1Rstd,
          },
          BT,
          C,
          { accumulateInput: true },
        ),
      );
    }
    dispatches.push(
      ...encoderBackwardDispatches(
        device,
        `${this.label}.encoder.backward`,
        {
          dwte,
          dwpe: this.tensor(g, 'transformer.wpe.weight'),
          dout: dresidual,
          offsets: this.tokenOffsets,
          positions: this.tokenPositions,
        },
        B,
        T,
        C,
        V,
      ),
    );
    return dispatches;
  }

  /** Uploads parameters (flat, this.layout). */
  writeParams(values: Float32Array): void {
    if (values.length !== this.layout.totalFloats)
      throw new Error(`${this.label}: expected ${this.layout.totalFloats} parameter floats, got ${values.length}`);
    writeArray(this.device.queue, this.params, values);
  }

  readParams(): Promise<Float32Array> {
    return readFloat32(this.device, this.params, 0, this.layout.totalFloats);
  }

  readGrads(): Promise<Float32Array> {
    return readFloat32(this.device, this.grads, 0, this.layout.totalFloats);
  }

  /** Writes a batch's tokens, targets and weights (and the token buckets the embedding backward uses). */
  setBatch(batch: Batch): void {
    const BT = this.B * this.T;
    const V = this.config.vocabSize;
    checkIds('tokens', batch.tokens, BT, V);
    const tokens = Uint32Array.from(batch.tokens);
    const targets = batch.targets ? Uint32Array.from(batch.targets) : new Uint32Array(BT);
    if (batch.targets) checkIds('targets', batch.targets, BT, V);
    const weights = batch.weights ? Float32Array.from(batch.weights) : new Float32Array(BT).fill(1);
    if (weights.length !== BT)
      throw new Error(`${this.label}: weights must have B·T=${BT} entries, got ${weights.length}`);
    const weightSum = weights.reduce((sum, w) => sum + w, 0);
    this.hostWeights = weights;
    this.hostLossScale = batch.lossScale ?? (weightSum > 0 ? 1 / weightSum : 0);
    const { offsets, positions } = bucketTokens(tokens, V);
    const queue = this.device.queue;
    writeArray(queue, this.tokens, tokens);
    writeArray(queue, this.targets, targets);
    writeArray(queue, this.weights, weights);
    queue.writeBuffer(this.lossScale, 0, new Float32Array([this.hostLossScale]));
    writeArray(queue, this.tokenOffsets, offsets);
    writeArray(queue, this.tokenPositions, positions);
  }

  /** Forward pass only; resolves with per-token statistics ('lm': logprobs of targets and entropy; 'scalar': values). */
  async evaluate(): Promise<{
    logprobs?: Float32Array;
    entropy?: Float32Array;
    values?: Float32Array;
    losses?: Float32Array;
  }> {
    const encoder = this.device.createCommandEncoder({ label: `${this.label}.evaluate` });
    recordDispatches(encoder, [...this.forwardPass, ...this.statsPass], `${this.label}.forward`);
    this.device.queue.submit([encoder.finish()]);
    const BT = this.B * this.T;
    if (this.kind === 'scalar') return { values: await readFloat32(this.device, this.values!, 0, BT) };
    const [logprobs, entropy] = await Promise.all([
      readFloat32(this.device, this.logprobs!, 0, BT),
      readFloat32(this.device, this.entropy!, 0, BT),
    ]);
    return { logprobs, entropy };
  }

  /** Reads the (B,T,V) logits after evaluate(). */
  readLogits(): Promise<Float32Array> {
    if (!this.logits) throw new Error(`${this.label}: a scalar model has no logits`);
    return readFloat32(this.device, this.logits, 0, this.B * this.T * this.config.vocabSize);
  }

  /** Sets d loss / d values (B,T) for a 'scalar' model's backward (e.g. the reward-model ranking loss). */
  setValueGradients(dvalues: Float32Array): void {
    if (!this.dvalues) throw new Error(`${this.label}: only scalar models take value gradients`);
    if (dvalues.length !== this.B * this.T)
      throw new Error(`${this.label}: dvalues must have B·T=${this.B * this.T} entries`);
    writeArray(this.device.queue, this.dvalues, dvalues);
  }

  /**
   * One step, recorded into one encoder and submitted once: [zero grads] → forward → loss
   * ('lm': weighted cross-entropy, writing d logits; 'scalar': uses setValueGradients) →
   * backward (gradients accumulate) → [AdamW]. With `reuseForward`, the forward of a preceding
   * evaluate() is reused (PPO and the reward model read statistics between forward and backward).
   * Returns a promise of the loss and grad norm that resolves when the GPU has finished; awaiting
   * it is optional, and the next step can be submitted before it resolves.
   */
  step(
    options: { zeroGrad?: boolean; optimizer?: AdamwHyperparams; reuseForward?: boolean } = {},
  ): Promise<StepResult> {
    const { device } = this;
    const encoder = device.createCommandEncoder({ label: `${this.label}.step` });
    if (options.zeroGrad ?? true) encoder.clearBuffer(this.grads);
    const passes = [...(options.reuseForward ? [] : this.forwardPass), ...this.lossPass, ...this.backwardPass];
    if (options.optimizer) {
      this.optimizerStep += 1;
      writeAdamwHyper(device.queue, this.adamwHyper, options.optimizer, this.optimizerStep);
      passes.push(...this.optimizerPass);
    }
    recordDispatches(encoder, passes, `${this.label}.step`);
    const BT = this.B * this.T;
    const staging = device.createBuffer({
      label: `${this.label}.step.readback`,
      size: (BT + 1) * FLOAT_BYTES,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (this.losses) encoder.copyBufferToBuffer(this.losses, 0, staging, 0, BT * FLOAT_BYTES);
    encoder.copyBufferToBuffer(this.gradNorm, 0, staging, BT * FLOAT_BYTES, FLOAT_BYTES);
    device.queue.submit([encoder.finish()]);
    const weights = this.hostWeights;
    const scale = this.hostLossScale;
    const withOptimizer = Boolean(options.optimizer);
    return staging.mapAsync(GPUMapMode.READ).then(() => {
      const data = new Float32Array(staging.getMappedRange().slice(0));
      staging.destroy();
      let loss = NaN;
      if (this.kind === 'lm') {
        loss = 0;
        for (let i = 0; i < BT; i++) if (weights[i] !== 0) loss += weights[i] * data[i];
        loss *= scale;
      }
      return { loss, gradNorm: withOptimizer ? data[BT] : NaN };
    });
  }

  /** AdamW's state, for resumable training: both moments (flat, this.layout) and the step count. */
  async readOptimizerState(): Promise<{ m: Float32Array; v: Float32Array; step: number }> {
    const total = this.layout.totalFloats;
    const [m, v] = await Promise.all([
      readFloat32(this.device, this.m, 0, total),
      readFloat32(this.device, this.v, 0, total),
    ]);
    return { m, v, step: this.optimizerStep };
  }

  writeOptimizerState(state: { m: Float32Array; v: Float32Array; step: number }): void {
    const total = this.layout.totalFloats;
    if (state.m.length !== total || state.v.length !== total)
      throw new Error(`${this.label}: optimizer state must have ${total} floats per moment`);
    writeArray(this.device.queue, this.m, state.m);
    writeArray(this.device.queue, this.v, state.v);
    this.optimizerStep = state.step;
  }

  /** Resets AdamW's moments and step count (e.g. at the start of a new training phase). */
  resetOptimizer(): void {
    const encoder = this.device.createCommandEncoder({ label: `${this.label}.reset-optimizer` });
    encoder.clearBuffer(this.m);
    encoder.clearBuffer(this.v);
    this.device.queue.submit([encoder.finish()]);
    this.optimizerStep = 0;
  }

  destroy(): void {
    for (const buffer of this.allocated) buffer.destroy();
  }
}

function checkIds(what: string, ids: ArrayLike<number>, count: number, V: number): void {
  if (ids.length !== count) throw new Error(`${what} must have B·T=${count} entries, got ${ids.length}`);
  for (let i = 0; i < count; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= V)
      throw new Error(`${what}[${i}] = ${id} is not a token id in [0, ${V})`);
  }
}

// GPT-2 model configuration: the typed config, presets named by purpose, the flat parameter layout
// (Hugging Face GPT-2 tensor names and shapes, every tensor 256-byte aligned so one GPU buffer holds
// them all), the separate scalar head (reward model / value function) layout, and GPT-2 style
// initialization. Shared by the WebGPU model, the float64 reference and checkpoint export.

import { Rng } from './random.ts';

/** The hyperparameters that fix the shape of a GPT-2 model (Hugging Face GPT2Config key in brackets). */
export interface GptConfig {
  /** L: number of transformer blocks [n_layer]. */
  nLayer: number;
  /** C: width of the residual stream, the embedding size [n_embd]. */
  nEmbd: number;
  /** NH: attention heads per block; each head has size HS = C / NH [n_head]. */
  nHead: number;
  /** Context length: rows of the position embedding wpe, the largest T a forward accepts [n_positions]. */
  nCtx: number;
  /** V: vocabulary size, rows of the token embedding wte; set by the tokenizer [vocab_size]. */
  vocabSize: number;
}

/** A preset fixes everything but the vocabulary size, which comes from the tokenizer. */
export type GptPreset = Omit<GptConfig, 'vocabSize'>;

export const PRESETS = {
  /** Unit and GPU kernel tests: tiny, runs in milliseconds. */
  micro: { nLayer: 2, nEmbd: 32, nHead: 2, nCtx: 32 },
  /** Classroom default: about 1M parameters, trains in minutes in a browser. */
  small: { nLayer: 4, nEmbd: 128, nHead: 4, nCtx: 128 },
  /** Bigger runs on a good GPU: about 5M parameters. */
  medium: { nLayer: 6, nEmbd: 256, nHead: 8, nCtx: 256 },
} as const satisfies Record<string, GptPreset>;

export type PresetName = keyof typeof PRESETS;

/** Vocabulary size used when none is given (the TinyWorld tokenizer's default). */
export const DEFAULT_VOCAB_SIZE = 512;

/** Tensor offsets are multiples of this many floats: 256 bytes, WebGPU's minStorageBufferOffsetAlignment. */
export const PARAM_ALIGNMENT_FLOATS = 64;

/** Standard deviation of GPT-2's normal initialization (HF initializer_range). */
export const INIT_STD = 0.02;

/** Builds the config of a preset for a tokenizer's vocabulary size. */
export function makeConfig(presetName: PresetName, vocabSize: number = DEFAULT_VOCAB_SIZE): GptConfig {
  const preset: GptPreset | undefined = PRESETS[presetName];
  if (preset === undefined) throw new Error(`unknown model preset "${presetName}"`);
  const config = { ...preset, vocabSize };
  assertValidConfig(config);
  return config;
}

/** Throws unless every size is a positive integer and the heads divide the embedding evenly. */
export function assertValidConfig(config: GptConfig): void {
  for (const [key, value] of Object.entries(config)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`GptConfig.${key} must be a positive integer, got ${value}`);
    }
  }
  if (config.nEmbd % config.nHead !== 0) {
    throw new Error(`nEmbd (${config.nEmbd}) must be divisible by nHead (${config.nHead})`);
  }
}

/** One tensor inside a flat parameter buffer. */
export interface ParameterTensor {
  /** Hugging Face name, e.g. "transformer.h.0.attn.c_attn.weight". */
  name: string;
  /** Shape in Hugging Face layout; Conv1D weights are (in, out) and y = x @ W + b. */
  shape: number[];
  /** Index of the first float in the flat buffer, a multiple of PARAM_ALIGNMENT_FLOATS. */
  offset: number;
  /** Number of floats, the product of shape. */
  size: number;
}

/** Where every tensor lives in one flat Float32Array / GPU buffer; gaps between tensors are zero padding. */
export interface ParameterLayout {
  tensors: ParameterTensor[];
  /** Length of the flat buffer, padding included (a multiple of PARAM_ALIGNMENT_FLOATS). */
  totalFloats: number;
}

/**
 * The GPT-2 trunk's tensors in order, Hugging Face names and shapes. The LM head has no tensor of
 * its own: it is tied to wte (logits = h @ wte^T). c_attn's 3C output columns are [q | k | v], each
 * C wide, and head h owns columns h·HS..(h+1)·HS within each of q, k and v.
 */
export function parameterShapes(config: GptConfig): Array<[name: string, shape: number[]]> {
  const { nLayer: L, nEmbd: C, nCtx, vocabSize: V } = config;
  const shapes: Array<[string, number[]]> = [
    ['transformer.wte.weight', [V, C]],
    ['transformer.wpe.weight', [nCtx, C]],
  ];
  for (let i = 0; i < L; i++) {
    const h = `transformer.h.${i}`;
    shapes.push(
      [`${h}.ln_1.weight`, [C]],
      [`${h}.ln_1.bias`, [C]],
      [`${h}.attn.c_attn.weight`, [C, 3 * C]],
      [`${h}.attn.c_attn.bias`, [3 * C]],
      [`${h}.attn.c_proj.weight`, [C, C]],
      [`${h}.attn.c_proj.bias`, [C]],
      [`${h}.ln_2.weight`, [C]],
      [`${h}.ln_2.bias`, [C]],
      [`${h}.mlp.c_fc.weight`, [C, 4 * C]],
      [`${h}.mlp.c_fc.bias`, [4 * C]],
      [`${h}.mlp.c_proj.weight`, [4 * C, C]],
      [`${h}.mlp.c_proj.bias`, [C]],
    );
  }
  shapes.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  return shapes;
}

/** The trunk's flat layout: tensors in parameterShapes order, each starting on a 256-byte boundary. */
export function parameterLayout(config: GptConfig): ParameterLayout {
  assertValidConfig(config);
  return alignedLayout(parameterShapes(config));
}

/** Number of trunk parameters, padding excluded (124,439,808 for GPT-2 small's config). */
export function parameterCount(config: GptConfig): number {
  return parameterShapes(config).reduce((sum, [, shape]) => sum + product(shape), 0);
}

/**
 * The scalar head, kept apart from the trunk: value = lnf[b, position] · score.weight + score.bias,
 * reading the final hidden state (after ln_f). Used as the reward model's head and PPO's value head.
 * (Hugging Face GPT2ForSequenceClassification has score.weight only; a constant bias does not
 * change a ranking loss, so dropping it on export keeps the reward model's preferences.)
 */
export function scalarHeadLayout(config: GptConfig): ParameterLayout {
  assertValidConfig(config);
  return alignedLayout([
    ['score.weight', [1, config.nEmbd]],
    ['score.bias', [1]],
  ]);
}

/** Finds a tensor by name; throws if the layout has none. */
export function findTensor(layout: ParameterLayout, name: string): ParameterTensor {
  const tensor = layout.tensors.find((t) => t.name === name);
  if (tensor === undefined) throw new Error(`no parameter tensor named "${name}"`);
  return tensor;
}

/**
 * GPT-2 initialization of the trunk, deterministic for a seed: LayerNorm weights 1 and biases 0,
 * all other biases 0, weights and embeddings normal(0, 0.02), except the residual projections
 * (attn.c_proj and mlp.c_proj weights) whose std is 0.02 / sqrt(2L), so the residual stream's
 * variance does not grow with depth (2 residual additions per block). Padding stays 0.
 */
export function initParameters(config: GptConfig, seed: number): Float32Array {
  const layout = parameterLayout(config);
  const params = new Float32Array(layout.totalFloats);
  const rng = new Rng(seed);
  const residualStd = INIT_STD / Math.sqrt(2 * config.nLayer);
  for (const tensor of layout.tensors) {
    const values = params.subarray(tensor.offset, tensor.offset + tensor.size);
    if (isLayerNormWeight(tensor.name)) values.fill(1);
    else if (!isBias(tensor.name)) {
      fillNormal(values, rng, isResidualProjection(tensor.name) ? residualStd : INIT_STD);
    }
  }
  return params;
}

/** Scalar head initialization: score.weight normal(0, 0.02) as Hugging Face does, score.bias 0. */
export function initScalarHead(config: GptConfig, seed: number): Float32Array {
  const layout = scalarHeadLayout(config);
  const head = new Float32Array(layout.totalFloats);
  const weight = findTensor(layout, 'score.weight');
  fillNormal(head.subarray(weight.offset, weight.offset + weight.size), new Rng(seed), INIT_STD);
  return head;
}

function alignedLayout(shapes: Array<[string, number[]]>): ParameterLayout {
  const tensors: ParameterTensor[] = [];
  let offset = 0;
  for (const [name, shape] of shapes) {
    const size = product(shape);
    tensors.push({ name, shape, offset, size });
    offset = roundUp(offset + size, PARAM_ALIGNMENT_FLOATS);
  }
  return { tensors, totalFloats: offset };
}

function fillNormal(out: Float32Array, rng: Rng, std: number): void {
  for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
}

function isLayerNormWeight(name: string): boolean {
  return /\.ln_(\d|f)\.weight$/.test(name);
}

function isBias(name: string): boolean {
  return name.endsWith('.bias');
}

function isResidualProjection(name: string): boolean {
  return name.endsWith('.c_proj.weight');
}

function product(shape: number[]): number {
  return shape.reduce((p, n) => p * n, 1);
}

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

// GPT-2 as an ONNX graph, built from a checkpoint: the same computation as reference.ts and the WGSL
// engine (pre-LayerNorm blocks, GELU tanh approximation, causal attention, LM head tied to wte),
// with the weights as float32 initializers under their Hugging Face names and layout.
//
// Interface (the names Hugging Face's exporters use):
//   input_ids  int64   [batch_size, sequence_length]             sequence_length ≤ n_positions
//   logits     float32 [batch_size, sequence_length, vocab_size] ('lm' head)
//   values     float32 [batch_size, sequence_length]             ('scalar' head: lnf · score.weight + score.bias)
// With a KV cache ('lm' head only; Optimum's / transformers.js's GPT-2 decoder layout), S = P + T:
//   attention_mask            int64   [batch_size, S]          1 = a real token, 0 = padding (never attended)
//   position_ids              int64   [batch_size, T]          each token's position (wpe row), < n_positions
//   past_key_values.{i}.key   float32 [batch_size, n_head, P, head_size]   (P = 0: an empty tensor)
//   past_key_values.{i}.value float32 [batch_size, n_head, P, head_size]
//   present.{i}.key|value     float32 [batch_size, n_head, S, head_size]   the past with this call's keys / values appended
// The input tokens sit at cache positions P..S−1: a token at P + t attends to cache positions ≤ P + t
// whose mask is 1. With an empty past, a mask of ones and positions 0..T−1 it is the plain export.
//
// Opset 17 (IR version 8): the first opset with LayerNormalization, so each LayerNorm is one node
// that runtimes run fused, while GELU is written out from Mul/Add/Tanh (Gelu with the tanh
// approximation only arrived in opset 20); every op used has kept its semantics since opset 13, and
// runtimes from onnxruntime 1.12 and ONNX 1.12 (2022) on load the file.
import type { Checkpoint } from '../checkpoint.ts';
import { findTensor, parameterLayout, scalarHeadLayout, type GptConfig, type ParameterLayout } from '../config.ts';
import { LAYERNORM_EPS } from '../reference.ts';
import {
  DataType,
  encodeModel,
  float32Bytes,
  int64Bytes,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnx-proto.ts';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'input_ids';
export const ONNX_LOGITS = 'logits';
export const ONNX_VALUES = 'values';
export const ONNX_BATCH_DIM = 'batch_size';
export const ONNX_SEQUENCE_DIM = 'sequence_length';
export const ONNX_ATTENTION_MASK = 'attention_mask';
export const ONNX_POSITION_IDS = 'position_ids';
export const ONNX_PAST_SEQUENCE_DIM = 'past_sequence_length';
export const ONNX_TOTAL_SEQUENCE_DIM = 'past_sequence_length + sequence_length';

/** A layer's cached keys or values. */
export type CacheTensor = 'key' | 'value';
/** The input that feeds layer `layer`'s cached keys or values. */
export const onnxPastName = (layer: number, kind: CacheTensor) => `past_key_values.${layer}.${kind}`;
/** The output with layer `layer`'s keys or values, the past's and this call's. */
export const onnxPresentName = (layer: number, kind: CacheTensor) => `present.${layer}.${kind}`;

/** 'lm': the language model's logits; 'scalar': the reward / value head's value at every position. */
export type OnnxHead = 'lm' | 'scalar';

export interface OnnxExportOptions {
  /** Default 'lm'. 'scalar' needs a checkpoint with a scalar head. */
  head?: OnnxHead;
  /**
   * Default false: input_ids → logits, the file any ONNX consumer runs with one input. True adds
   * the KV-cache inputs and outputs ('lm' head only), which a sampler needs to decode in O(T) a step.
   */
  kvCache?: boolean;
}

/** float32's lowest value: the score of a masked (future) position, exp() of which is exactly 0. */
const MASKED_SCORE = -3.4028234663852886e38;
const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** The .onnx file of a checkpoint's model. */
export function exportOnnx(checkpoint: Checkpoint, options: OnnxExportOptions = {}): Uint8Array {
  return encodeModel(gpt2OnnxModel(checkpoint, options));
}

/** The ONNX model of a checkpoint, before serialisation. */
export function gpt2OnnxModel(checkpoint: Checkpoint, options: OnnxExportOptions = {}): OnnxModel {
  const head = options.head ?? 'lm';
  const kvCache = options.kvCache ?? false;
  if (kvCache && head !== 'lm') throw new Error('ONNX export: a KV cache is only exported with the lm head');
  const { config, tokenizer } = checkpoint;
  const graph = new GraphBuilder();
  const lnf = buildTrunk(graph, config, new Weights(parameterLayout(config), checkpoint.params, 'params'), kvCache);
  const output = head === 'lm' ? buildLmHead(graph, lnf) : buildScalarHead(graph, lnf, scalarHeadWeights(checkpoint));
  const batch = ONNX_BATCH_DIM;
  const sequence = ONNX_SEQUENCE_DIM;
  const cache = kvCache ? cacheInterface(config) : { inputs: [], outputs: [] };
  return {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'rlhf-lab',
    producerVersion: '0.1.0',
    docString: `GPT-2 (${config.nLayer} layers, ${config.nEmbd} channels, ${config.nHead} heads, context ${config.nCtx}, vocabulary ${config.vocabSize}) exported by RLHF Lab`,
    graph: {
      name: head === 'lm' ? (kvCache ? 'gpt2_lm_kv_cache' : 'gpt2_lm') : 'gpt2_scalar',
      nodes: graph.nodes,
      initializers: graph.initializers,
      inputs: [{ name: ONNX_INPUT, elemType: DataType.INT64, shape: [batch, sequence] }, ...cache.inputs],
      outputs: [
        head === 'lm'
          ? { name: output, elemType: DataType.FLOAT, shape: [batch, sequence, config.vocabSize] }
          : { name: output, elemType: DataType.FLOAT, shape: [batch, sequence] },
        ...cache.outputs,
      ],
    },
    metadata: {
      n_layer: String(config.nLayer),
      n_embd: String(config.nEmbd),
      n_head: String(config.nHead),
      n_positions: String(config.nCtx),
      vocab_size: String(config.vocabSize),
      eos_token_id: String(tokenizer.eosId),
      ...Object.fromEntries(Object.entries(checkpoint.meta ?? {}).map(([key, value]) => [`rlhf_lab.${key}`, value])),
    },
  };
}

/** Named float32 tensors of a flat parameter buffer (views, no copies). */
class Weights {
  constructor(
    private readonly layout: ParameterLayout,
    private readonly flat: Float32Array,
    what: string,
  ) {
    if (flat.length !== layout.totalFloats)
      throw new Error(`ONNX export: ${what} have ${flat.length} floats, expected ${layout.totalFloats}`);
  }

  tensor(name: string): OnnxTensor {
    const { shape, offset, size } = findTensor(this.layout, name);
    return {
      name,
      dataType: DataType.FLOAT,
      dims: shape,
      raw: float32Bytes(this.flat.subarray(offset, offset + size)),
    };
  }
}

function scalarHeadWeights(checkpoint: Checkpoint): Weights {
  if (checkpoint.scalarHead === undefined)
    throw new Error('ONNX export: the scalar head was asked for but the checkpoint has none');
  return new Weights(scalarHeadLayout(checkpoint.config), checkpoint.scalarHead, 'scalar head');
}

/** Nodes and initializers in the order they are added; a node's output is named after the node. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];

  /** Adds a node with one output, named `name`; returns that name. */
  op(name: string, opType: string, inputs: string[], attributes?: OnnxAttribute[]): string {
    return this.multi(name, opType, inputs, [name], attributes)[0];
  }

  /** Adds a node with the given outputs; returns their names. */
  multi(name: string, opType: string, inputs: string[], outputs: string[], attributes?: OnnxAttribute[]): string[] {
    this.nodes.push({ opType, name, inputs, outputs, ...(attributes && { attributes }) });
    return outputs;
  }

  weight(weights: Weights, name: string): string {
    this.initializers.push(weights.tensor(name));
    return name;
  }

  float(name: string, value: number): string {
    this.initializers.push({ name, dataType: DataType.FLOAT, dims: [], raw: float32Bytes(Float32Array.of(value)) });
    return name;
  }

  /** An int64 initializer: a scalar when `scalar`, else a 1-D tensor. */
  int64(name: string, values: number[], scalar = false): string {
    if (scalar && values.length !== 1) throw new Error(`ONNX export: scalar ${name} needs one value`);
    this.initializers.push({
      name,
      dataType: DataType.INT64,
      dims: scalar ? [] : [values.length],
      raw: int64Bytes(values),
    });
    return name;
  }
}

/** The KV-cache export's extra inputs (mask, positions, past) and outputs (present), in Optimum's order. */
function cacheInterface(config: GptConfig): { inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
  const headSize = config.nEmbd / config.nHead;
  const layers = Array.from({ length: config.nLayer }, (_, layer) => layer);
  const kinds: CacheTensor[] = ['key', 'value'];
  const cacheTensor = (name: string, length: string): OnnxValueInfo => ({
    name,
    elemType: DataType.FLOAT,
    shape: [ONNX_BATCH_DIM, config.nHead, length, headSize],
  });
  return {
    inputs: [
      { name: ONNX_ATTENTION_MASK, elemType: DataType.INT64, shape: [ONNX_BATCH_DIM, ONNX_TOTAL_SEQUENCE_DIM] },
      { name: ONNX_POSITION_IDS, elemType: DataType.INT64, shape: [ONNX_BATCH_DIM, ONNX_SEQUENCE_DIM] },
      ...layers.flatMap((layer) => kinds.map((kind) => cacheTensor(onnxPastName(layer, kind), ONNX_PAST_SEQUENCE_DIM))),
    ],
    outputs: layers.flatMap((layer) =>
      kinds.map((kind) => cacheTensor(onnxPresentName(layer, kind), ONNX_TOTAL_SEQUENCE_DIM)),
    ),
  };
}

/** Embeddings, the L blocks and ln_f; returns the final hidden state's name (B,T,C). */
function buildTrunk(g: GraphBuilder, config: GptConfig, w: Weights, kvCache: boolean): string {
  const tokens = g.op('embed.tokens', 'Gather', [g.weight(w, 'transformer.wte.weight'), ONNX_INPUT], [int('axis', 0)]); // (B,T,C)
  const shape = g.op('embed.shape', 'Shape', [ONNX_INPUT]); // (2) = [B, T]
  const T = g.op('embed.T', 'Gather', [shape, g.int64('const.one', [1], true)], [int('axis', 0)]); // ()
  const { position, visible } = kvCache ? cachedPositions(g, w, T) : plainPositions(g, w, T);
  let x = g.op('embed', 'Add', [tokens, position]); // (B,T,C)
  const constants = {
    visible,
    scale: g.float('const.attention_scale', 1 / Math.sqrt(config.nEmbd / config.nHead)),
    masked: g.float('const.masked_score', MASKED_SCORE),
    qkvSplit: g.int64('const.qkv_split', [config.nEmbd, config.nEmbd, config.nEmbd]),
    headsShape: g.int64('const.heads_shape', [0, 0, config.nHead, config.nEmbd / config.nHead]),
    mergedShape: g.int64('const.merged_shape', [0, 0, config.nEmbd]),
    geluScale: g.float('const.gelu_scale', GELU_SCALE),
    geluCubic: g.float('const.gelu_cubic', GELU_CUBIC),
    half: g.float('const.half', 0.5),
    oneF: g.float('const.one_f', 1),
  };
  for (let layer = 0; layer < config.nLayer; layer++) x = buildBlock(g, w, layer, x, constants, kvCache);
  return layerNorm(g, w, 'transformer.ln_f', x);
}

/** Positions 0..T−1 and the causal mask: visible (T,T)[t, t2] = t2 ≤ t. */
function plainPositions(g: GraphBuilder, w: Weights, T: string): { position: string; visible: string } {
  const positions = g.op('embed.positions', 'Range', [g.int64('const.zero', [0], true), T, 'const.one']); // (T) 0..T-1
  const position = g.op(
    'embed.position',
    'Gather',
    [g.weight(w, 'transformer.wpe.weight'), positions],
    [int('axis', 0)],
  ); // (T,C)
  const column = g.op('mask.rows', 'Unsqueeze', [positions, g.int64('const.axis1', [1])]); // (T,1)
  const visible = g.op('mask.visible', 'LessOrEqual', [positions, column]); // (T,T) bool
  return { position, visible };
}

/**
 * position_ids' embeddings and the mask over the cache: visible (B,1,T,S)[b, 0, t, s] = s ≤ P + t
 * and attention_mask[b, s] = 1 (the T inputs are cache positions P..S−1).
 */
function cachedPositions(g: GraphBuilder, w: Weights, T: string): { position: string; visible: string } {
  const position = g.op(
    'embed.position',
    'Gather',
    [g.weight(w, 'transformer.wpe.weight'), ONNX_POSITION_IDS],
    [int('axis', 0)],
  ); // (B,T,C)
  const S = g.op(
    'mask.S',
    'Gather',
    [g.op('mask.shape', 'Shape', [ONNX_ATTENTION_MASK]), 'const.one'],
    [int('axis', 0)],
  ); // ()
  const P = g.op('mask.P', 'Sub', [S, T]); // ()
  const queries = g.op('mask.query_positions', 'Range', [P, S, 'const.one']); // (T) P..S-1
  const keys = g.op('mask.key_positions', 'Range', [g.int64('const.zero', [0], true), S, 'const.one']); // (S) 0..S-1
  const causal = g.op('mask.causal', 'LessOrEqual', [
    keys,
    g.op('mask.rows', 'Unsqueeze', [queries, g.int64('const.axis1', [1])]),
  ]); // (T,S) bool
  const attended = g.op('mask.attended', 'Cast', [ONNX_ATTENTION_MASK], [int('to', DataType.BOOL)]); // (B,S) bool
  const perRow = g.op('mask.per_row', 'Unsqueeze', [attended, g.int64('const.axes12', [1, 2])]); // (B,1,1,S)
  return { position, visible: g.op('mask.visible', 'And', [causal, perRow]) }; // (B,1,T,S) bool
}

type BlockConstants = {
  visible: string;
  scale: string;
  masked: string;
  qkvSplit: string;
  headsShape: string;
  mergedShape: string;
  geluScale: string;
  geluCubic: string;
  half: string;
  oneF: string;
};

/** x + attn(ln_1(x)), then + mlp(ln_2(·)): one pre-LayerNorm transformer block. */
function buildBlock(
  g: GraphBuilder,
  w: Weights,
  layer: number,
  x: string,
  k: BlockConstants,
  kvCache: boolean,
): string {
  const h = `transformer.h.${layer}`;
  const attention = buildAttention(g, w, h, layerNorm(g, w, `${h}.ln_1`, x), k, kvCache ? layer : undefined); // (B,T,C)
  const residual = g.op(`${h}.residual_attn`, 'Add', [x, attention]);
  const mlp = buildMlp(g, w, h, layerNorm(g, w, `${h}.ln_2`, residual), k);
  return g.op(`${h}.residual_mlp`, 'Add', [residual, mlp]);
}

function layerNorm(g: GraphBuilder, w: Weights, prefix: string, x: string): string {
  return g.op(
    prefix,
    'LayerNormalization',
    [x, g.weight(w, `${prefix}.weight`), g.weight(w, `${prefix}.bias`)],
    [int('axis', -1), float('epsilon', LAYERNORM_EPS)],
  );
}

/** y = x @ W + b with Hugging Face's Conv1D weight layout (in, out). */
function conv1d(g: GraphBuilder, w: Weights, prefix: string, x: string): string {
  const product = g.op(`${prefix}.matmul`, 'MatMul', [x, g.weight(w, `${prefix}.weight`)]);
  return g.op(prefix, 'Add', [product, g.weight(w, `${prefix}.bias`)]);
}

/**
 * Causal multi-head self-attention of ln (B,T,C): softmax(q·kᵀ/√HS, hidden keys masked)·v, heads
 * merged, projected. With `cacheLayer`, k and v are appended to that layer's past (S = P + T keys).
 */
function buildAttention(
  g: GraphBuilder,
  w: Weights,
  h: string,
  ln: string,
  k: BlockConstants,
  cacheLayer?: number,
): string {
  const a = `${h}.attn`;
  const qkv = conv1d(g, w, `${a}.c_attn`, ln); // (B,T,3C) = [q | k | v]
  const [q, key, v] = g.multi(
    `${a}.split`,
    'Split',
    [qkv, k.qkvSplit],
    [`${a}.q`, `${a}.k`, `${a}.v`],
    [int('axis', 2)],
  ); // 3 × (B,T,C)
  const heads = (name: string, input: string, perm: number[]) =>
    g.op(
      `${a}.${name}_heads`,
      'Transpose',
      [g.op(`${a}.${name}_split_heads`, 'Reshape', [input, k.headsShape])],
      [ints('perm', perm)],
    );
  const qh = heads('q', q, [0, 2, 1, 3]); // (B,NH,T,HS)
  const vh = heads('v', v, [0, 2, 1, 3]); // (B,NH,T,HS)
  /** present = past ++ current along the sequence: (B,NH,S,HS). */
  const append = (layer: number, kind: CacheTensor, current: string) =>
    g.op(onnxPresentName(layer, kind), 'Concat', [onnxPastName(layer, kind), current], [int('axis', 2)]);
  const kt =
    cacheLayer === undefined
      ? heads('k', key, [0, 2, 3, 1]) // (B,NH,HS,T)
      : g.op(
          `${a}.k_t`,
          'Transpose',
          [append(cacheLayer, 'key', heads('k', key, [0, 2, 1, 3]))],
          [ints('perm', [0, 1, 3, 2])],
        ); // (B,NH,HS,S)
  const values = cacheLayer === undefined ? vh : append(cacheLayer, 'value', vh); // (B,NH,S,HS)
  const scores = g.op(`${a}.scores`, 'Mul', [g.op(`${a}.qk`, 'MatMul', [qh, kt]), k.scale]); // (B,NH,T,S)
  const causal = g.op(`${a}.causal_scores`, 'Where', [k.visible, scores, k.masked]);
  const weights = g.op(`${a}.weights`, 'Softmax', [causal], [int('axis', -1)]); // (B,NH,T,S)
  const context = g.op(`${a}.context`, 'MatMul', [weights, values]); // (B,NH,T,HS)
  const merged = g.op(`${a}.merge_heads`, 'Reshape', [
    g.op(`${a}.context_t`, 'Transpose', [context], [ints('perm', [0, 2, 1, 3])]),
    k.mergedShape,
  ]); // (B,T,C)
  return conv1d(g, w, `${a}.c_proj`, merged);
}

/** gelu(ln @ Wfc + bfc) @ Wproj + bproj, GELU as 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function buildMlp(g: GraphBuilder, w: Weights, h: string, ln: string, k: BlockConstants): string {
  const m = `${h}.mlp`;
  const x = conv1d(g, w, `${m}.c_fc`, ln); // (B,T,4C)
  const cube = g.op(`${m}.gelu.cube`, 'Mul', [g.op(`${m}.gelu.square`, 'Mul', [x, x]), x]);
  const inner = g.op(`${m}.gelu.inner`, 'Add', [x, g.op(`${m}.gelu.cubic`, 'Mul', [cube, k.geluCubic])]);
  const tanh = g.op(`${m}.gelu.tanh`, 'Tanh', [g.op(`${m}.gelu.scaled`, 'Mul', [inner, k.geluScale])]);
  const gelu = g.op(`${m}.gelu`, 'Mul', [
    g.op(`${m}.gelu.half_x`, 'Mul', [x, k.half]),
    g.op(`${m}.gelu.one_plus`, 'Add', [tanh, k.oneF]),
  ]);
  return conv1d(g, w, `${m}.c_proj`, gelu); // (B,T,C)
}

/** logits (B,T,V) = lnf @ wteᵀ: the LM head tied to the token embedding (wte is stored once). */
function buildLmHead(g: GraphBuilder, lnf: string): string {
  const wteT = g.op('lm_head.weight', 'Transpose', ['transformer.wte.weight'], [ints('perm', [1, 0])]); // (C,V)
  return g.op(ONNX_LOGITS, 'MatMul', [lnf, wteT]);
}

/** values (B,T) = lnf · score.weight + score.bias at every position. */
function buildScalarHead(g: GraphBuilder, lnf: string, head: Weights): string {
  const weightT = g.op('score.weight_t', 'Transpose', [g.weight(head, 'score.weight')], [ints('perm', [1, 0])]); // (C,1)
  const scored = g.op('score', 'Add', [g.op('score.matmul', 'MatMul', [lnf, weightT]), g.weight(head, 'score.bias')]); // (B,T,1)
  return g.op(ONNX_VALUES, 'Squeeze', [scored, g.int64('const.last_axis', [-1])]);
}

function int(name: string, value: number): OnnxAttribute {
  return { name, kind: 'int', value };
}

function float(name: string, value: number): OnnxAttribute {
  return { name, kind: 'float', value };
}

function ints(name: string, value: number[]): OnnxAttribute {
  return { name, kind: 'ints', value };
}

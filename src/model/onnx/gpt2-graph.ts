// GPT-2 as an ONNX graph, built from a checkpoint: the same computation as reference.ts and the WGSL
// engine (pre-LayerNorm blocks, GELU tanh approximation, causal attention, LM head tied to wte),
// with the weights as float32 initializers under their Hugging Face names and layout.
//
// Interface (the names Hugging Face's exporters use):
//   input_ids  int64   [batch_size, sequence_length]             sequence_length ≤ n_positions
//   logits     float32 [batch_size, sequence_length, vocab_size] ('lm' head)
//   values     float32 [batch_size, sequence_length]             ('scalar' head: lnf · score.weight + score.bias)
//
// Opset 17 (IR version 8): the first opset with LayerNormalization, so each LayerNorm is one node
// that runtimes run fused, while GELU is written out from Mul/Add/Tanh (Gelu with the tanh
// approximation only arrived in opset 20); every op used has kept its semantics since opset 13, and
// runtimes from onnxruntime 1.12 and ONNX 1.12 (2022) on load the file.
import type { Checkpoint } from '../checkpoint.ts';
import { findTensor, parameterLayout, scalarHeadLayout, type GptConfig, type ParameterLayout } from '../config.ts';
import { LAYERNORM_EPS } from '../reference.ts';
import { DataType, encodeModel, float32Bytes, int64Bytes, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx-proto.ts';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'input_ids';
export const ONNX_LOGITS = 'logits';
export const ONNX_VALUES = 'values';
export const ONNX_BATCH_DIM = 'batch_size';
export const ONNX_SEQUENCE_DIM = 'sequence_length';

/** 'lm': the language model's logits; 'scalar': the reward / value head's value at every position. */
export type OnnxHead = 'lm' | 'scalar';

export interface OnnxExportOptions {
  /** Default 'lm'. 'scalar' needs a checkpoint with a scalar head. */
  head?: OnnxHead;
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
  const { config, tokenizer } = checkpoint;
  const graph = new GraphBuilder();
  const lnf = buildTrunk(graph, config, new Weights(parameterLayout(config), checkpoint.params, 'params'));
  const output = head === 'lm' ? buildLmHead(graph, lnf) : buildScalarHead(graph, lnf, scalarHeadWeights(checkpoint));
  const batch = ONNX_BATCH_DIM;
  const sequence = ONNX_SEQUENCE_DIM;
  return {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'rlhf-lab',
    producerVersion: '0.1.0',
    docString: `GPT-2 (${config.nLayer} layers, ${config.nEmbd} channels, ${config.nHead} heads, context ${config.nCtx}, vocabulary ${config.vocabSize}) exported by RLHF Lab`,
    graph: {
      name: head === 'lm' ? 'gpt2_lm' : 'gpt2_scalar',
      nodes: graph.nodes,
      initializers: graph.initializers,
      inputs: [{ name: ONNX_INPUT, elemType: DataType.INT64, shape: [batch, sequence] }],
      outputs: [
        head === 'lm'
          ? { name: output, elemType: DataType.FLOAT, shape: [batch, sequence, config.vocabSize] }
          : { name: output, elemType: DataType.FLOAT, shape: [batch, sequence] },
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
    if (flat.length !== layout.totalFloats) throw new Error(`ONNX export: ${what} have ${flat.length} floats, expected ${layout.totalFloats}`);
  }

  tensor(name: string): OnnxTensor {
    const { shape, offset, size } = findTensor(this.layout, name);
    return { name, dataType: DataType.FLOAT, dims: shape, raw: float32Bytes(this.flat.subarray(offset, offset + size)) };
  }
}

function scalarHeadWeights(checkpoint: Checkpoint): Weights {
  if (checkpoint.scalarHead === undefined) throw new Error('ONNX export: the scalar head was asked for but the checkpoint has none');
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
    this.initializers.push({ name, dataType: DataType.INT64, dims: scalar ? [] : [values.length], raw: int64Bytes(values) });
    return name;
  }
}

/** Embeddings, the L blocks and ln_f; returns the final hidden state's name (B,T,C). */
function buildTrunk(g: GraphBuilder, config: GptConfig, w: Weights): string {
  const tokens = g.op('embed.tokens', 'Gather', [g.weight(w, 'transformer.wte.weight'), ONNX_INPUT], [int('axis', 0)]); // (B,T,C)
  const shape = g.op('embed.shape', 'Shape', [ONNX_INPUT]); // (2) = [B, T]
  const T = g.op('embed.T', 'Gather', [shape, g.int64('const.one', [1], true)], [int('axis', 0)]); // ()
  const positions = g.op('embed.positions', 'Range', [g.int64('const.zero', [0], true), T, 'const.one']); // (T) 0..T-1
  const position = g.op('embed.position', 'Gather', [g.weight(w, 'transformer.wpe.weight'), positions], [int('axis', 0)]); // (T,C)
  let x = g.op('embed', 'Add', [tokens, position]); // (B,T,C)
  // visible[t, t2] = t2 ≤ t: a query at t sees keys at positions up to its own
  const column = g.op('mask.rows', 'Unsqueeze', [positions, g.int64('const.axis1', [1])]); // (T,1)
  const visible = g.op('mask.visible', 'LessOrEqual', [positions, column]); // (T,T) bool
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
  for (let layer = 0; layer < config.nLayer; layer++) x = buildBlock(g, w, `transformer.h.${layer}`, x, constants);
  return layerNorm(g, w, 'transformer.ln_f', x);
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
function buildBlock(g: GraphBuilder, w: Weights, h: string, x: string, k: BlockConstants): string {
  const attention = buildAttention(g, w, h, layerNorm(g, w, `${h}.ln_1`, x), k); // (B,T,C)
  const residual = g.op(`${h}.residual_attn`, 'Add', [x, attention]);
  const mlp = buildMlp(g, w, h, layerNorm(g, w, `${h}.ln_2`, residual), k);
  return g.op(`${h}.residual_mlp`, 'Add', [residual, mlp]);
}

function layerNorm(g: GraphBuilder, w: Weights, prefix: string, x: string): string {
  return g.op(prefix, 'LayerNormalization', [x, g.weight(w, `${prefix}.weight`), g.weight(w, `${prefix}.bias`)], [int('axis', -1), float('epsilon', LAYERNORM_EPS)]);
}

/** y = x @ W + b with Hugging Face's Conv1D weight layout (in, out). */
function conv1d(g: GraphBuilder, w: Weights, prefix: string, x: string): string {
  const product = g.op(`${prefix}.matmul`, 'MatMul', [x, g.weight(w, `${prefix}.weight`)]);
  return g.op(prefix, 'Add', [product, g.weight(w, `${prefix}.bias`)]);
}

/** Causal multi-head self-attention of ln (B,T,C): softmax(q·kᵀ/√HS, future masked)·v, heads merged, projected. */
function buildAttention(g: GraphBuilder, w: Weights, h: string, ln: string, k: BlockConstants): string {
  const a = `${h}.attn`;
  const qkv = conv1d(g, w, `${a}.c_attn`, ln); // (B,T,3C) = [q | k | v]
  const [q, key, v] = g.multi(`${a}.split`, 'Split', [qkv, k.qkvSplit], [`${a}.q`, `${a}.k`, `${a}.v`], [int('axis', 2)]); // 3 × (B,T,C)
  const heads = (name: string, input: string, perm: number[]) =>
    g.op(`${a}.${name}_heads`, 'Transpose', [g.op(`${a}.${name}_split_heads`, 'Reshape', [input, k.headsShape])], [ints('perm', perm)]);
  const qh = heads('q', q, [0, 2, 1, 3]); // (B,NH,T,HS)
  const kt = heads('k', key, [0, 2, 3, 1]); // (B,NH,HS,T)
  const vh = heads('v', v, [0, 2, 1, 3]); // (B,NH,T,HS)
  const scores = g.op(`${a}.scores`, 'Mul', [g.op(`${a}.qk`, 'MatMul', [qh, kt]), k.scale]); // (B,NH,T,T)
  const causal = g.op(`${a}.causal_scores`, 'Where', [k.visible, scores, k.masked]);
  const weights = g.op(`${a}.weights`, 'Softmax', [causal], [int('axis', -1)]); // (B,NH,T,T)
  const context = g.op(`${a}.context`, 'MatMul', [weights, vh]); // (B,NH,T,HS)
  const merged = g.op(`${a}.merge_heads`, 'Reshape', [g.op(`${a}.context_t`, 'Transpose', [context], [ints('perm', [0, 2, 1, 3])]), k.mergedShape]); // (B,T,C)
  return conv1d(g, w, `${a}.c_proj`, merged);
}

/** gelu(ln @ Wfc + bfc) @ Wproj + bproj, GELU as 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function buildMlp(g: GraphBuilder, w: Weights, h: string, ln: string, k: BlockConstants): string {
  const m = `${h}.mlp`;
  const x = conv1d(g, w, `${m}.c_fc`, ln); // (B,T,4C)
  const cube = g.op(`${m}.gelu.cube`, 'Mul', [g.op(`${m}.gelu.square`, 'Mul', [x, x]), x]);
  const inner = g.op(`${m}.gelu.inner`, 'Add', [x, g.op(`${m}.gelu.cubic`, 'Mul', [cube, k.geluCubic])]);
  const tanh = g.op(`${m}.gelu.tanh`, 'Tanh', [g.op(`${m}.gelu.scaled`, 'Mul', [inner, k.geluScale])]);
  const gelu = g.op(`${m}.gelu`, 'Mul', [g.op(`${m}.gelu.half_x`, 'Mul', [x, k.half]), g.op(`${m}.gelu.one_plus`, 'Add', [tanh, k.oneF])]);
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

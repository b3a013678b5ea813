// Checkpoints as Hugging Face model folders, on plain bytes and strings (browser, worker and Node):
//   model.safetensors      the trunk in HF GPT-2 tensor names and layout (float32), plus the scalar
//                          head as score.weight (1,C) and score.bias (1) when the model has one
//   config.json            GPT2Config keys, and an "rlhf_lab" object with the checkpoint's lineage
//   tokenizer.json         the byte-level BPE tokenizer (HF tokenizers format)
//   tokenizer_config.json  so AutoTokenizer builds a PreTrainedTokenizerFast with the special tokens
// GPT2LMHeadModel.from_pretrained(dir) loads a checkpoint without a head (the LM head is tied to wte,
// so no lm_head.weight is stored, as HF itself saves GPT-2). GPT2ForSequenceClassification
// (num_labels 1) loads one with a head: its score layer has no bias, so from_pretrained leaves
// score.bias out with its usual warning ("Some weights of the model checkpoint at … were not used
// when initializing …: ['score.bias']"); a constant bias does not change a ranking. HF reads the
// score at the last token that is not pad_token_id (here the end-of-text id), so a sequence ending in
// <|endoftext|> is scored at the token before it.

import {
  assertValidConfig,
  parameterLayout,
  scalarHeadLayout,
  type GptConfig,
  type ParameterLayout,
} from './config.ts';
import { LAYERNORM_EPS } from './reference.ts';
import { readSafetensors, writeSafetensors, type LoadedTensor, type NamedTensor } from './safetensors.ts';
import { Tokenizer } from './tokenizer.ts';

/** A model with everything needed to run it again, here or in Hugging Face transformers. */
export interface Checkpoint {
  config: GptConfig;
  /** Trunk parameters, flat, laid out by parameterLayout(config); padding is zero. */
  params: Float32Array;
  /** Scalar head (reward model / value function), laid out by scalarHeadLayout(config). */
  scalarHead?: Float32Array;
  tokenizer: Tokenizer;
  /** Lineage strings, e.g. kind ('base' | 'sft' | 'reward_model' | 'policy' | 'dpo'), parent, steps. */
  meta?: Record<string, string>;
}

/** The files of a checkpoint folder, by file name. */
export interface CheckpointFiles {
  'model.safetensors': Uint8Array;
  'config.json': string;
  'tokenizer.json': string;
  'tokenizer_config.json': string;
}

/** The files loadCheckpoint reads (tokenizer_config.json is for Hugging Face only). */
export type CheckpointInput = Pick<CheckpointFiles, 'model.safetensors' | 'config.json' | 'tokenizer.json'>;

/** Every file checkpointFiles writes, in a fixed order. */
export const CHECKPOINT_FILE_NAMES = [
  'model.safetensors',
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;

/** The key of the lineage object in config.json. */
const META_KEY = 'rlhf_lab';
/** transformers refuses safetensors files whose metadata has no known "format". */
const SAFETENSORS_METADATA = { format: 'pt' };
const GELU_NEW = 'gelu_new';
const SCORE_WEIGHT = 'score.weight';
const SCORE_BIAS = 'score.bias';

// ---------------------------------------------------------------------------------------------
// Writing

/** The folder's files for a checkpoint: safetensors bytes and JSON texts. */
export function checkpointFiles(ckpt: Checkpoint): CheckpointFiles {
  const { config, tokenizer } = ckpt;
  checkCheckpoint(ckpt);
  const tensors = layoutTensors(parameterLayout(config), ckpt.params);
  if (ckpt.scalarHead !== undefined) tensors.push(...layoutTensors(scalarHeadLayout(config), ckpt.scalarHead));
  return {
    'model.safetensors': writeSafetensors(tensors, SAFETENSORS_METADATA),
    'config.json': `${JSON.stringify(hfConfig(ckpt), null, 2)}\n`,
    'tokenizer.json': tokenizer.toJSON(),
    'tokenizer_config.json': `${JSON.stringify(hfTokenizerConfig(tokenizer, config), null, 2)}\n`,
  };
}

function checkCheckpoint({ config, params, scalarHead, tokenizer }: Checkpoint): void {
  assertValidConfig(config);
  const expectedParams = parameterLayout(config).totalFloats;
  if (params.length !== expectedParams)
    throw new Error(`checkpoint params have ${params.length} floats, expected ${expectedParams} (parameterLayout)`);
  const expectedHead = scalarHeadLayout(config).totalFloats;
  if (scalarHead !== undefined && scalarHead.length !== expectedHead) {
    throw new Error(
      `checkpoint scalarHead has ${scalarHead.length} floats, expected ${expectedHead} (scalarHeadLayout)`,
    );
  }
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new Error(
      `checkpoint config has vocabSize ${config.vocabSize} but its tokenizer has ${tokenizer.vocabSize} tokens`,
    );
  }
  assertFinite(parameterLayout(config), params, 'checkpoint', 'the model diverged; it is not saved');
  if (scalarHead !== undefined)
    assertFinite(scalarHeadLayout(config), scalarHead, 'checkpoint', 'the model diverged; it is not saved');
}

/** Throws "WHERE: TENSOR holds NaN at index I: ADVICE" for the first non-finite float of a layout's tensors. */
function assertFinite(layout: ParameterLayout, flat: Float32Array, where: string, advice: string): void {
  for (const { name, offset, size } of layout.tensors) {
    for (let i = 0; i < size; i++) {
      const value = flat[offset + i];
      if (!Number.isFinite(value)) throw new Error(`${where}: ${name} holds ${value} at index ${i}: ${advice}`);
    }
  }
}

/** Views (no copies) of each tensor of a layout in a flat buffer. */
function layoutTensors(layout: ParameterLayout, flat: Float32Array): NamedTensor[] {
  return layout.tensors.map(({ name, shape, offset, size }) => ({
    name,
    shape,
    data: flat.subarray(offset, offset + size),
  }));
}

/** config.json: GPT2Config keys (the rest take HF's defaults, which match this model) and the lineage. */
function hfConfig({ config, scalarHead, tokenizer, meta }: Checkpoint): Record<string, unknown> {
  const head =
    scalarHead === undefined
      ? { architectures: ['GPT2LMHeadModel'] }
      : { architectures: ['GPT2ForSequenceClassification'], num_labels: 1 };
  return {
    model_type: 'gpt2',
    ...head,
    n_layer: config.nLayer,
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_positions: config.nCtx,
    n_ctx: config.nCtx,
    vocab_size: config.vocabSize,
    layer_norm_epsilon: LAYERNORM_EPS,
    activation_function: GELU_NEW,
    bos_token_id: tokenizer.eosId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.eosId,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    tie_word_embeddings: true,
    [META_KEY]: { ...meta },
  };
}

/** tokenizer_config.json: AutoTokenizer builds a PreTrainedTokenizerFast from tokenizer.json. */
function hfTokenizerConfig(tokenizer: Tokenizer, config: GptConfig): Record<string, unknown> {
  const eos = tokenizer.idToToken(tokenizer.eosId);
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    eos_token: eos,
    bos_token: eos,
    pad_token: eos,
    model_max_length: config.nCtx,
    clean_up_tokenization_spaces: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Loads and validates a checkpoint; errors name the file and the key or tensor at fault. */
export function loadCheckpoint(files: CheckpointInput): Checkpoint {
  const { config, eosTokenId, meta } = parseConfigJson(files['config.json']);
  const tokenizer = Tokenizer.fromJSON(files['tokenizer.json']);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new Error(
      `config.json: vocab_size is ${config.vocabSize} but tokenizer.json has ${tokenizer.vocabSize} tokens`,
    );
  }
  if (eosTokenId !== undefined && eosTokenId !== tokenizer.eosId) {
    throw new Error(
      `config.json: eos_token_id is ${eosTokenId} but tokenizer.json's end-of-text token has id ${tokenizer.eosId}`,
    );
  }
  const tensors = readModelTensors(files['model.safetensors']);
  checkConfigAgainstTensors(config, tensors);
  const params = takeLayout(parameterLayout(config), tensors);
  const scalarHead = takeScalarHead(config, tensors);
  const unexpected = [...tensors.keys()];
  if (unexpected.length > 0)
    throw new Error(`model.safetensors: unexpected tensor${unexpected.length > 1 ? 's' : ''} ${unexpected.join(', ')}`);
  return { config, params, ...(scalarHead && { scalarHead }), tokenizer, ...(meta && { meta }) };
}

function readModelTensors(bytes: Uint8Array): Map<string, LoadedTensor> {
  try {
    return readSafetensors(bytes).tensors;
  } catch (error) {
    throw new Error(`model.safetensors: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Checks config.json's sizes against the file's tensors before anything of the config's size is
 * allocated: wte is (vocab_size, n_embd), wpe is (n_positions, n_embd), and the blocks are
 * transformer.h.0 … h.(n_layer − 1).
 */
function checkConfigAgainstTensors(config: GptConfig, tensors: Map<string, LoadedTensor>): void {
  const rows = (name: string, key: string, expected: number) => {
    const tensor = tensors.get(name);
    if (tensor === undefined) throw new Error(`model.safetensors: tensor ${name} is missing`);
    const [first, second] = tensor.shape;
    if (tensor.shape.length === 2 && first !== expected) {
      throw new Error(
        `config.json: ${key} is ${expected} but model.safetensors' ${name} has ${first} rows: the two files do not belong together`,
      );
    }
    if (tensor.shape.length === 2 && second !== config.nEmbd) {
      throw new Error(
        `config.json: n_embd is ${config.nEmbd} but model.safetensors' ${name} has ${second} columns: the two files do not belong together`,
      );
    }
  };
  rows('transformer.wte.weight', 'vocab_size', config.vocabSize);
  rows('transformer.wpe.weight', 'n_positions', config.nCtx);
  const blocks = new Set([...tensors.keys()].flatMap((name) => /^transformer\.h\.(\d+)\./.exec(name)?.[1] ?? []));
  if (blocks.size !== config.nLayer) {
    throw new Error(
      `config.json: n_layer is ${config.nLayer} but model.safetensors holds ${blocks.size} blocks (transformer.h.N): the two files do not belong together`,
    );
  }
}

/** A flat buffer for the layout, filled from the tensors it names (F16 and BF16 widened), which are removed from the map. */
function takeLayout(layout: ParameterLayout, tensors: Map<string, LoadedTensor>): Float32Array {
  const flat = new Float32Array(layout.totalFloats);
  for (const { name, shape, offset } of layout.tensors) {
    const tensor = tensors.get(name);
    if (tensor === undefined) throw new Error(`model.safetensors: tensor ${name} is missing`);
    if (!sameShape(tensor.shape, shape)) {
      throw new Error(`model.safetensors: ${name} has shape ${shapeText(tensor.shape)}, expected ${shapeText(shape)}`);
    }
    flat.set(tensor.data, offset);
    tensors.delete(name);
  }
  assertFinite(
    layout,
    flat,
    'model.safetensors',
    'the weights are damaged (a diverged run?); use an earlier checkpoint',
  );
  return flat;
}

/** The scalar head when score.weight is present; score.bias is optional (HF saves none) and then 0. */
function takeScalarHead(config: GptConfig, tensors: Map<string, LoadedTensor>): Float32Array | undefined {
  if (!tensors.has(SCORE_WEIGHT)) {
    if (tensors.has(SCORE_BIAS)) throw new Error(`model.safetensors: ${SCORE_BIAS} is present without ${SCORE_WEIGHT}`);
    return undefined;
  }
  const layout = scalarHeadLayout(config);
  const present = {
    ...layout,
    tensors: layout.tensors.filter((t) => t.name !== SCORE_BIAS || tensors.has(SCORE_BIAS)),
  };
  return takeLayout(present, tensors);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

interface ParsedConfig {
  config: GptConfig;
  eosTokenId?: number;
  meta?: Record<string, string>;
}

/** GPT2Config keys this model cannot vary: when present they must hold these values. */
const FIXED_CONFIG_VALUES: Record<string, unknown> = {
  model_type: 'gpt2',
  activation_function: GELU_NEW,
  layer_norm_epsilon: LAYERNORM_EPS,
  tie_word_embeddings: true,
};

function parseConfigJson(text: string): ParsedConfig {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new Error(`config.json is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw new Error('config.json must hold a JSON object');
  const json = root as Record<string, unknown>;
  for (const [key, value] of Object.entries(FIXED_CONFIG_VALUES)) {
    if (key in json && json[key] !== value) {
      throw new Error(
        `config.json: ${key} is ${JSON.stringify(json[key])}; only ${JSON.stringify(value)} is supported`,
      );
    }
  }
  const config: GptConfig = {
    nLayer: size(json, 'n_layer'),
    nEmbd: size(json, 'n_embd'),
    nHead: size(json, 'n_head'),
    nCtx: size(json, 'n_positions'),
    vocabSize: size(json, 'vocab_size'),
  };
  if (config.nEmbd % config.nHead !== 0) {
    throw new Error(`config.json: n_embd (${config.nEmbd}) must be divisible by n_head (${config.nHead})`);
  }
  if ('n_ctx' in json && json.n_ctx !== config.nCtx) {
    throw new Error(
      `config.json: n_ctx is ${JSON.stringify(json.n_ctx)} but n_positions is ${config.nCtx}; they must agree`,
    );
  }
  const eosTokenId =
    json.eos_token_id === undefined || json.eos_token_id === null
      ? undefined
      : nonNegativeInteger(json, 'eos_token_id');
  const meta = parseMeta(json[META_KEY]);
  return { config, ...(eosTokenId !== undefined && { eosTokenId }), ...(meta && { meta }) };
}

/**
 * The largest size config.json may give, checked before anything is allocated: far above any model
 * this lab can train or run (GPT-2 XL has 48 layers, 1600 channels, 25 heads, 1024 positions and
 * 50257 tokens), low enough that a layout of them is computed at once; the file's tensors must then
 * match the config exactly (checkConfigAgainstTensors).
 */
const MAX_SIZES: Record<string, number> = {
  n_layer: 256,
  n_embd: 16384,
  n_head: 256,
  n_positions: 65536,
  vocab_size: 1_048_576,
};

/** A size of the model: a positive integer no larger than MAX_SIZES. */
function size(json: Record<string, unknown>, key: string): number {
  const value = json[key];
  if (value === undefined) throw new Error(`config.json: ${key} is missing`);
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new Error(`config.json: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  if ((value as number) > MAX_SIZES[key]) {
    throw new Error(`config.json: ${key} is ${value}, above the ${MAX_SIZES[key]} this lab can hold: check the file`);
  }
  return value as number;
}

function nonNegativeInteger(json: Record<string, unknown>, key: string): number {
  const value = json[key];
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new Error(`config.json: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value as number;
}

/** Lineage fields that hold a whole number ≥ 0 written as a string (seed: the TinyWorld seed commands default to). */
const WHOLE_NUMBER_LINEAGE = ['seed', 'training_seed', 'steps', 'created_at'];

/** The lineage object: absent or empty gives undefined; every value must be a string, the numeric ones whole numbers. */
function parseMeta(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`config.json: ${META_KEY} must be an object of strings`);
  }
  const entries = Object.entries(value);
  for (const [key, item] of entries) {
    if (typeof item !== 'string')
      throw new Error(`config.json: ${META_KEY}.${key} must be a string, got ${JSON.stringify(item)}`);
    if (WHOLE_NUMBER_LINEAGE.includes(key) && !/^\d{1,15}$/.test(item)) {
      throw new Error(
        `config.json: ${META_KEY}.${key} must be a whole number such as "1", got ${JSON.stringify(item)}: correct it or remove the field`,
      );
    }
  }
  return entries.length === 0 ? undefined : { ...(value as Record<string, string>) };
}

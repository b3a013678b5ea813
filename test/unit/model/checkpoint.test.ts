// Tests for checkpoint folders: the Hugging Face files checkpointFiles writes, bit-exact save → load
// round trips with and without a scalar head, and one clear error for each kind of broken folder.
import { describe, expect, it } from 'vitest';
import {
  checkpointFiles,
  loadCheckpoint,
  type Checkpoint,
  type CheckpointInput,
} from '../../../src/model/checkpoint.ts';
import {
  findTensor,
  initParameters,
  initScalarHead,
  makeConfig,
  parameterLayout,
  scalarHeadLayout,
} from '../../../src/model/config.ts';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../../../src/model/safetensors.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';

const TEXT = 'The cat sat on the mat. The dog ate the bone. A bird sang in the tree by the river.';
const tokenizer = trainBpe([TEXT], 280);
const config = makeConfig('micro', tokenizer.vocabSize);

function baseCheckpoint(): Checkpoint {
  return { config, params: initParameters(config, 7), tokenizer, meta: { kind: 'base', steps: '1200' } };
}

function rewardCheckpoint(): Checkpoint {
  const scalarHead = initScalarHead(config, 8);
  scalarHead[findTensor(scalarHeadLayout(config), 'score.bias').offset] = 0.25;
  return { ...baseCheckpoint(), scalarHead, meta: { kind: 'reward_model', parent: 'sft', steps: '40' } };
}

/** Index of the first float whose bits differ, or -1 when the arrays are bit-identical. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const aBits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const bBits = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return aBits.findIndex((word, i) => word !== bBits[i]);
}

/** The checkpoint's files with model.safetensors rewritten by `edit` from its tensors. */
function withTensors(ckpt: Checkpoint, edit: (tensors: NamedTensor[]) => NamedTensor[]): CheckpointInput {
  const files = checkpointFiles(ckpt);
  const file = readSafetensors(files['model.safetensors']);
  const tensors = [...file.tensors].map(([name, { shape, data }]) => ({ name, shape, data }));
  return { ...files, 'model.safetensors': writeSafetensors(edit(tensors), file.metadata) };
}

/** The checkpoint's files with config.json edited as an object. */
function withConfig(ckpt: Checkpoint, edit: (json: Record<string, unknown>) => void): CheckpointInput {
  const files = checkpointFiles(ckpt);
  const json = JSON.parse(files['config.json']) as Record<string, unknown>;
  edit(json);
  return { ...files, 'config.json': JSON.stringify(json) };
}

/** A file header written by hand: u64 length, JSON padded with spaces, data. */
function handMadeSafetensors(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const length = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + length + data.length).fill(0x20, 8, 8 + length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(json, 8);
  out.set(data, 8 + length);
  return out;
}

describe('checkpointFiles', () => {
  it('writes the trunk in Hugging Face GPT-2 names, shapes and float32', () => {
    const files = checkpointFiles(baseCheckpoint());
    const file = readSafetensors(files['model.safetensors']);
    expect(file.metadata).toEqual({ format: 'pt' });
    const layout = parameterLayout(config);
    expect([...file.tensors.keys()].sort()).toEqual(layout.tensors.map((t) => t.name).sort());
    expect(file.tensors.get('transformer.wte.weight')?.shape).toEqual([tokenizer.vocabSize, 32]);
    expect(file.tensors.get('transformer.h.1.attn.c_attn.weight')?.shape).toEqual([32, 96]);
    expect(file.tensors.get('transformer.h.0.mlp.c_proj.weight')?.shape).toEqual([128, 32]);
    for (const tensor of file.tensors.values()) expect(tensor.dtype).toBe('F32');
  });

  it('writes a GPT2Config for GPT2LMHeadModel with the lineage under rlhf_lab', () => {
    const files = checkpointFiles(baseCheckpoint());
    expect(JSON.parse(files['config.json'])).toEqual({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_layer: 2,
      n_embd: 32,
      n_head: 2,
      n_positions: 32,
      n_ctx: 32,
      vocab_size: tokenizer.vocabSize,
      layer_norm_epsilon: 1e-5,
      activation_function: 'gelu_new',
      bos_token_id: tokenizer.eosId,
      eos_token_id: tokenizer.eosId,
      pad_token_id: tokenizer.eosId,
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
      tie_word_embeddings: true,
      rlhf_lab: { kind: 'base', steps: '1200' },
    });
    expect(JSON.parse(files['tokenizer_config.json'])).toEqual({
      tokenizer_class: 'PreTrainedTokenizerFast',
      eos_token: '<|endoftext|>',
      bos_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      model_max_length: 32,
      clean_up_tokenization_spaces: false,
    });
    expect(files['tokenizer.json']).toBe(tokenizer.toJSON());
  });

  it('writes a scalar head as score.weight (1,C) and score.bias (1) for GPT2ForSequenceClassification', () => {
    const files = checkpointFiles(rewardCheckpoint());
    const json = JSON.parse(files['config.json']) as Record<string, unknown>;
    expect(json.architectures).toEqual(['GPT2ForSequenceClassification']);
    expect(json.num_labels).toBe(1);
    const tensors = readSafetensors(files['model.safetensors']).tensors;
    expect(tensors.get('score.weight')?.shape).toEqual([1, 32]);
    expect(tensors.get('score.bias')?.shape).toEqual([1]);
    expect(tensors.get('score.bias')?.data[0]).toBe(0.25);
  });

  it('refuses buffers that do not fit the config', () => {
    expect(() => checkpointFiles({ ...baseCheckpoint(), params: new Float32Array(10) })).toThrow(
      /params have 10 floats, expected \d+/,
    );
    expect(() => checkpointFiles({ ...baseCheckpoint(), scalarHead: new Float32Array(3) })).toThrow(
      /scalarHead has 3 floats/,
    );
    const wrongVocab = makeConfig('micro', tokenizer.vocabSize + 1);
    expect(() =>
      checkpointFiles({ ...baseCheckpoint(), config: wrongVocab, params: initParameters(wrongVocab, 1) }),
    ).toThrow(
      `checkpoint config has vocabSize ${tokenizer.vocabSize + 1} but its tokenizer has ${tokenizer.vocabSize} tokens`,
    );
  });
});

describe('loadCheckpoint', () => {
  it('round-trips a base model bit for bit', () => {
    const ckpt = baseCheckpoint();
    const loaded = loadCheckpoint(checkpointFiles(ckpt));
    expect(loaded.config).toEqual(config);
    expect(firstBitDifference(loaded.params, ckpt.params)).toBe(-1);
    expect(loaded.scalarHead).toBeUndefined();
    expect(loaded.meta).toEqual(ckpt.meta);
    expect(loaded.tokenizer.toJSON()).toBe(tokenizer.toJSON());
    expect(loaded.tokenizer.encode(TEXT)).toEqual(tokenizer.encode(TEXT));
  });

  it('round-trips a reward model, head included, bit for bit; save → load → save is byte-identical', () => {
    const ckpt = rewardCheckpoint();
    ckpt.params[5] = -0; // sign of zero and subnormals survive too (NaN is refused: see below)
    ckpt.params[7] = 1e-42;
    const files = checkpointFiles(ckpt);
    const loaded = loadCheckpoint(files);
    expect(firstBitDifference(loaded.params, ckpt.params)).toBe(-1);
    expect(firstBitDifference(loaded.scalarHead!, ckpt.scalarHead!)).toBe(-1);
    expect(loaded.meta).toEqual({ kind: 'reward_model', parent: 'sft', steps: '40' });
    const again = checkpointFiles(loaded);
    expect(Buffer.from(again['model.safetensors']).equals(files['model.safetensors'])).toBe(true);
    expect({ ...again, 'model.safetensors': null }).toEqual({ ...files, 'model.safetensors': null });
  });

  it('loads a head saved by Hugging Face (score.weight only, no bias) with bias 0', () => {
    const ckpt = rewardCheckpoint();
    const files = withTensors(ckpt, (tensors) => tensors.filter((t) => t.name !== 'score.bias'));
    const loaded = loadCheckpoint(files);
    expect(Array.from(loaded.scalarHead!.subarray(0, 32))).toEqual(Array.from(ckpt.scalarHead!.subarray(0, 32)));
    expect(loaded.scalarHead![findTensor(scalarHeadLayout(config), 'score.bias').offset]).toBe(0);
  });

  it('loads a config without lineage and without the optional keys', () => {
    const files = withConfig(baseCheckpoint(), (json) => {
      for (const key of ['rlhf_lab', 'n_ctx', 'eos_token_id', 'layer_norm_epsilon', 'activation_function'])
        delete json[key];
    });
    const loaded = loadCheckpoint(files);
    expect(loaded.meta).toBeUndefined();
    expect(loaded.config).toEqual(config);
  });

  it('names a missing tensor', () => {
    const files = withTensors(baseCheckpoint(), (tensors) =>
      tensors.filter((t) => t.name !== 'transformer.h.1.ln_2.bias'),
    );
    expect(() => loadCheckpoint(files)).toThrow('model.safetensors: tensor transformer.h.1.ln_2.bias is missing');
  });

  it('names a tensor with the wrong shape, with both shapes', () => {
    const files = withTensors(baseCheckpoint(), (tensors) =>
      tensors.map((t) => (t.name === 'transformer.h.1.mlp.c_fc.weight' ? { ...t, shape: [64, 64] } : t)),
    );
    expect(() => loadCheckpoint(files)).toThrow(
      'model.safetensors: transformer.h.1.mlp.c_fc.weight has shape [64,64], expected [32,128]',
    );
    const head = withTensors(rewardCheckpoint(), (tensors) =>
      tensors.map((t) => (t.name === 'score.weight' ? { ...t, shape: [32, 1] } : t)),
    );
    expect(() => loadCheckpoint(head)).toThrow('model.safetensors: score.weight has shape [32,1], expected [1,32]');
  });

  it('loads F16 and BF16 tensors widened to float32 (issue 17)', () => {
    const ckpt = baseCheckpoint();
    const layout = parameterLayout(config);
    ckpt.params.forEach((_, i) => (ckpt.params[i] = Math.round(ckpt.params[i] * 1024) / 1024)); // exact in F16 (|x| < 1, 10 fraction bits)
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (const [index, { name, shape, offset: at, size }] of layout.tensors.entries()) {
      const values = ckpt.params.subarray(at, at + size);
      const dtype = index % 2 === 0 ? 'F16' : 'BF16';
      const halves = Uint16Array.from(values, (x) => (dtype === 'F16' ? halfBits(x) : bfloat16Bits(x)));
      if (dtype === 'BF16')
        values.set(Array.from(halves, (bits) => new Float32Array(Uint32Array.of(bits << 16).buffer)[0]));
      header[name] = { dtype, shape, data_offsets: [offset, offset + size * 2] };
      chunks.push(new Uint8Array(halves.buffer));
      offset += size * 2;
    }
    const data = new Uint8Array(offset);
    chunks.reduce((at, chunk) => (data.set(chunk, at), at + chunk.length), 0);
    const loaded = loadCheckpoint({ ...checkpointFiles(ckpt), 'model.safetensors': handMadeSafetensors(header, data) });
    expect(firstBitDifference(loaded.params, ckpt.params)).toBe(-1);
  });

  it('refuses a NaN or infinite weight, naming the tensor (issue 17)', () => {
    const nan = withTensors(baseCheckpoint(), (tensors) =>
      tensors.map((t) =>
        t.name === 'transformer.h.1.attn.c_proj.weight' ? { ...t, data: t.data.map((x, i) => (i === 5 ? NaN : x)) } : t,
      ),
    );
    expect(() => loadCheckpoint(nan)).toThrow(
      'model.safetensors: transformer.h.1.attn.c_proj.weight holds NaN at index 5: the weights are damaged (a diverged run?); use an earlier checkpoint',
    );
    const head = withTensors(rewardCheckpoint(), (tensors) =>
      tensors.map((t) =>
        t.name === 'score.weight' ? { ...t, data: t.data.map((x, i) => (i === 0 ? -Infinity : x)) } : t,
      ),
    );
    expect(() => loadCheckpoint(head)).toThrow('model.safetensors: score.weight holds -Infinity at index 0');
    const diverged = baseCheckpoint();
    diverged.params[findTensor(parameterLayout(config), 'transformer.ln_f.bias').offset + 2] = Infinity;
    expect(() => checkpointFiles(diverged)).toThrow(
      'checkpoint: transformer.ln_f.bias holds Infinity at index 2: the model diverged; it is not saved',
    );
  });

  it('bounds every size before allocating, and checks it against the tensors (issue 17)', () => {
    const ckpt = baseCheckpoint();
    const started = performance.now();
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_layer = 3e6)))).toThrow(
      'config.json: n_layer is 3000000, above the 256 this lab can hold: check the file',
    );
    expect(() =>
      loadCheckpoint(withConfig(ckpt, (json) => Object.assign(json, { n_positions: 1e9, n_ctx: 1e9 }))),
    ).toThrow('config.json: n_positions is 1000000000, above the 65536 this lab can hold');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(() =>
      loadCheckpoint(withConfig(ckpt, (json) => Object.assign(json, { n_positions: 64, n_ctx: 64 }))),
    ).toThrow(
      "config.json: n_positions is 64 but model.safetensors' transformer.wpe.weight has 32 rows: the two files do not belong together",
    );
  });

  it('refuses lineage numbers that are not whole numbers (issue 17)', () => {
    const ckpt = baseCheckpoint();
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.rlhf_lab = { kind: 'base', seed: 'abc' })))).toThrow(
      'config.json: rlhf_lab.seed must be a whole number such as "1", got "abc": correct it or remove the field',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.rlhf_lab = { steps: '1e3' })))).toThrow(
      'config.json: rlhf_lab.steps must be a whole number',
    );
    expect(
      loadCheckpoint(
        withConfig(ckpt, (json) => (json.rlhf_lab = { seed: '7', training_seed: '0', created_at: '1765000000000' })),
      ).meta?.seed,
    ).toBe('7');
  });

  it('refuses unexpected tensors, but not a bias-only mismatch of the head', () => {
    const extra = withTensors(baseCheckpoint(), (tensors) => [
      ...tensors,
      { name: 'lm_head.weight', shape: [1], data: Float32Array.of(1) },
    ]);
    expect(() => loadCheckpoint(extra)).toThrow('model.safetensors: unexpected tensor lm_head.weight');
    const two = withTensors(baseCheckpoint(), (tensors) => [
      ...tensors,
      { name: 'score.extra', shape: [1], data: Float32Array.of(1) },
      { name: 'transformer.h.1.ln_3.weight', shape: [32], data: new Float32Array(32) },
    ]);
    expect(() => loadCheckpoint(two)).toThrow(
      'model.safetensors: unexpected tensors score.extra, transformer.h.1.ln_3.weight',
    );
    const biasOnly = withTensors(rewardCheckpoint(), (tensors) => tensors.filter((t) => t.name !== 'score.weight'));
    expect(() => loadCheckpoint(biasOnly)).toThrow('model.safetensors: score.bias is present without score.weight');
  });

  it('reports a truncated or empty safetensors file', () => {
    const files = checkpointFiles(baseCheckpoint());
    const bytes = files['model.safetensors'];
    expect(() => loadCheckpoint({ ...files, 'model.safetensors': bytes.subarray(0, bytes.length - 100) })).toThrow(
      /^model\.safetensors: safetensors tensor "[^"]+": data_offsets \[\d+, \d+\] are out of range/,
    );
    expect(() => loadCheckpoint({ ...files, 'model.safetensors': bytes.subarray(0, 50) })).toThrow(
      /^model\.safetensors: safetensors header length \d+ goes beyond the end of the file \(50 bytes\)/,
    );
    expect(() => loadCheckpoint({ ...files, 'model.safetensors': new Uint8Array(0) })).toThrow(
      'model.safetensors: safetensors file too short: 0 bytes',
    );
  });

  it('reports garbage JSON in config.json and tokenizer.json', () => {
    const files = checkpointFiles(baseCheckpoint());
    expect(() => loadCheckpoint({ ...files, 'config.json': '{"n_layer": 2,' })).toThrow(
      /^config\.json is not valid JSON: /,
    );
    expect(() => loadCheckpoint({ ...files, 'config.json': '[1, 2]' })).toThrow('config.json must hold a JSON object');
    expect(() => loadCheckpoint({ ...files, 'tokenizer.json': 'not json' })).toThrow(
      /^tokenizer\.json is not valid JSON: /,
    );
    expect(() => loadCheckpoint({ ...files, 'tokenizer.json': '{}' })).toThrow('tokenizer.json has no "model" object');
  });

  it('names each bad config key', () => {
    const ckpt = baseCheckpoint();
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => delete json.n_head))).toThrow(
      'config.json: n_head is missing',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_layer = 0)))).toThrow(
      'config.json: n_layer must be a positive integer, got 0',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_embd = 32.5)))).toThrow(
      'config.json: n_embd must be a positive integer, got 32.5',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_positions = '32')))).toThrow(
      'config.json: n_positions must be a positive integer, got "32"',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_head = 3)))).toThrow(
      'config.json: n_embd (32) must be divisible by n_head (3)',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_ctx = 64)))).toThrow(
      'config.json: n_ctx is 64 but n_positions is 32; they must agree',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.activation_function = 'relu')))).toThrow(
      'config.json: activation_function is "relu"; only "gelu_new" is supported',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.layer_norm_epsilon = 1e-6)))).toThrow(
      'config.json: layer_norm_epsilon is 0.000001; only 0.00001 is supported',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.model_type = 'llama')))).toThrow(
      'config.json: model_type is "llama"; only "gpt2" is supported',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.rlhf_lab = { steps: 3 })))).toThrow(
      'config.json: rlhf_lab.steps must be a string, got 3',
    );
  });

  it('reports a config that does not match the tokenizer or the tensors', () => {
    const ckpt = baseCheckpoint();
    const V = tokenizer.vocabSize;
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.vocab_size = V + 3)))).toThrow(
      `config.json: vocab_size is ${V + 3} but tokenizer.json has ${V} tokens`,
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.eos_token_id = 3)))).toThrow(
      `config.json: eos_token_id is 3 but tokenizer.json's end-of-text token has id ${tokenizer.eosId}`,
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_embd = 64)))).toThrow(
      "config.json: n_embd is 64 but model.safetensors' transformer.wte.weight has 32 columns: the two files do not belong together",
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_layer = 3)))).toThrow(
      'config.json: n_layer is 3 but model.safetensors holds 2 blocks (transformer.h.N): the two files do not belong together',
    );
    expect(() => loadCheckpoint(withConfig(ckpt, (json) => (json.n_layer = 1)))).toThrow(
      'config.json: n_layer is 1 but model.safetensors holds 2 blocks',
    );
    const extraBlock = withTensors(ckpt, (tensors) => [
      ...tensors,
      { name: 'transformer.h.2.ln_1.weight', shape: [32], data: new Float32Array(32) },
    ]);
    expect(() => loadCheckpoint(extraBlock)).toThrow('config.json: n_layer is 2 but model.safetensors holds 3 blocks');
  });
});

/** IEEE binary16 bits of a value that F16 holds exactly (normal or zero). */
function halfBits(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const sign = x < 0 ? 0x8000 : 0;
  const exponent = Math.floor(Math.log2(Math.abs(x)));
  const fraction = Math.abs(x) / 2 ** exponent - 1;
  if (exponent < -14) return sign | Math.round(Math.abs(x) / 2 ** -24); // subnormal
  return sign | ((exponent + 15) << 10) | Math.round(fraction * 1024);
}

/** bfloat16 bits of a float32: its top half (truncated). */
function bfloat16Bits(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0] >>> 16;
}

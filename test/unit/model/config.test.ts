// Tests for the GPT-2 config: presets, the aligned Hugging Face parameter layout, parameter counts,
// the scalar head layout, GPT-2 style initialization and the seeded random numbers behind it.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VOCAB_SIZE,
  INIT_STD,
  PARAM_ALIGNMENT_FLOATS,
  PRESETS,
  findTensor,
  initParameters,
  initScalarHead,
  makeConfig,
  parameterCount,
  parameterLayout,
  scalarHeadLayout,
  type GptConfig,
  type PresetName,
} from '../../../src/model/config.ts';
import { Rng } from '../../../src/model/random.ts';

const GPT2_SMALL: GptConfig = { nLayer: 12, nEmbd: 768, nHead: 12, nCtx: 1024, vocabSize: 50257 };

function stats(values: Float32Array): { mean: number; std: number } {
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

function tensorValues(config: GptConfig, params: Float32Array, name: string): Float32Array {
  const t = findTensor(parameterLayout(config), name);
  return params.subarray(t.offset, t.offset + t.size);
}

describe('presets and makeConfig', () => {
  it('builds each preset with the default or a given vocabulary size', () => {
    expect(makeConfig('micro')).toEqual({ ...PRESETS.micro, vocabSize: DEFAULT_VOCAB_SIZE });
    expect(makeConfig('small', 300)).toEqual({ nLayer: 4, nEmbd: 128, nHead: 4, nCtx: 128, vocabSize: 300 });
    expect(makeConfig('medium').nEmbd).toBe(256);
  });

  it('sizes the presets for their purpose', () => {
    const counts = Object.fromEntries(
      (Object.keys(PRESETS) as PresetName[]).map((name) => [name, parameterCount(makeConfig(name))]),
    );
    console.log('parameter counts with V=512:', counts);
    expect(counts.micro).toBeLessThan(100_000);
    expect(counts.small).toBeGreaterThan(800_000);
    expect(counts.small).toBeLessThan(1_200_000);
    expect(counts.medium).toBeGreaterThan(4_500_000);
    expect(counts.medium).toBeLessThan(10_000_000);
  });

  it('rejects unknown presets and invalid sizes', () => {
    expect(() => makeConfig('huge' as PresetName)).toThrow(/unknown model preset/);
    expect(() => makeConfig('micro', 0)).toThrow(/vocabSize/);
    expect(() => makeConfig('micro', 10.5)).toThrow(/vocabSize/);
    expect(() => parameterLayout({ ...makeConfig('micro'), nHead: 3 })).toThrow(/divisible/);
  });
});

describe('parameterLayout', () => {
  const config: GptConfig = { nLayer: 2, nEmbd: 8, nHead: 2, nCtx: 5, vocabSize: 11 };
  const layout = parameterLayout(config);

  it('lists the Hugging Face GPT-2 tensors in order with their shapes', () => {
    const block = (i: number, C: number): Array<[string, number[]]> => [
      [`transformer.h.${i}.ln_1.weight`, [C]],
      [`transformer.h.${i}.ln_1.bias`, [C]],
      [`transformer.h.${i}.attn.c_attn.weight`, [C, 3 * C]],
      [`transformer.h.${i}.attn.c_attn.bias`, [3 * C]],
      [`transformer.h.${i}.attn.c_proj.weight`, [C, C]],
      [`transformer.h.${i}.attn.c_proj.bias`, [C]],
      [`transformer.h.${i}.ln_2.weight`, [C]],
      [`transformer.h.${i}.ln_2.bias`, [C]],
      [`transformer.h.${i}.mlp.c_fc.weight`, [C, 4 * C]],
      [`transformer.h.${i}.mlp.c_fc.bias`, [4 * C]],
      [`transformer.h.${i}.mlp.c_proj.weight`, [4 * C, C]],
      [`transformer.h.${i}.mlp.c_proj.bias`, [C]],
    ];
    expect(layout.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['transformer.wte.weight', [11, 8]],
      ['transformer.wpe.weight', [5, 8]],
      ...block(0, 8),
      ...block(1, 8),
      ['transformer.ln_f.weight', [8]],
      ['transformer.ln_f.bias', [8]],
    ]);
  });

  it('aligns every tensor to 256 bytes without overlap', () => {
    let end = 0;
    for (const t of layout.tensors) {
      expect(t.offset % PARAM_ALIGNMENT_FLOATS).toBe(0);
      expect(t.offset).toBeGreaterThanOrEqual(end);
      expect(t.size).toBe(t.shape.reduce((p, n) => p * n, 1));
      end = t.offset + t.size;
    }
    expect(layout.totalFloats % PARAM_ALIGNMENT_FLOATS).toBe(0);
    expect(layout.totalFloats).toBeGreaterThanOrEqual(end);
    expect(layout.totalFloats - end).toBeLessThan(PARAM_ALIGNMENT_FLOATS);
  });

  it('counts parameters without padding, matching GPT-2 small (124M, tied LM head)', () => {
    expect(parameterCount(GPT2_SMALL)).toBe(124_439_808);
    const { nLayer: L, nEmbd: C, nCtx, vocabSize: V } = config;
    expect(parameterCount(config)).toBe(V * C + nCtx * C + L * (12 * C * C + 13 * C) + 2 * C);
    expect(parameterCount(config)).toBe(layout.tensors.reduce((s, t) => s + t.size, 0));
  });

  it('finds tensors by name and rejects unknown names', () => {
    expect(findTensor(layout, 'transformer.h.1.mlp.c_fc.weight').shape).toEqual([8, 32]);
    expect(() => findTensor(layout, 'lm_head.weight')).toThrow(/no parameter tensor/);
  });
});

describe('scalarHeadLayout', () => {
  it('holds score.weight (1,C) and score.bias (1), aligned', () => {
    const layout = scalarHeadLayout(makeConfig('small'));
    expect(layout.tensors).toEqual([
      { name: 'score.weight', shape: [1, 128], offset: 0, size: 128 },
      { name: 'score.bias', shape: [1], offset: 128, size: 1 },
    ]);
    expect(layout.totalFloats).toBe(192);
  });
});

describe('initParameters', () => {
  const config = makeConfig('small');
  const params = initParameters(config, 1234);

  it('is deterministic for a seed and differs between seeds', () => {
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => x === b[i]);
    expect(same(initParameters(config, 1234), params)).toBe(true);
    expect(same(initParameters(config, 1235), params)).toBe(false);
    expect(params.length).toBe(parameterLayout(config).totalFloats);
  });

  it('draws weights and embeddings from normal(0, 0.02), residual projections 0.02/sqrt(2L)', () => {
    const residualStd = INIT_STD / Math.sqrt(2 * config.nLayer);
    const expectations: Array<[string, number]> = [
      ['transformer.wte.weight', INIT_STD],
      ['transformer.wpe.weight', INIT_STD],
      ['transformer.h.0.attn.c_attn.weight', INIT_STD],
      ['transformer.h.3.mlp.c_fc.weight', INIT_STD],
      ['transformer.h.0.attn.c_proj.weight', residualStd],
      ['transformer.h.2.mlp.c_proj.weight', residualStd],
    ];
    for (const [name, std] of expectations) {
      const s = stats(tensorValues(config, params, name));
      expect(Math.abs(s.mean)).toBeLessThan(0.05 * std);
      expect(s.std / std).toBeGreaterThan(0.95);
      expect(s.std / std).toBeLessThan(1.05);
    }
  });

  it('sets LayerNorm weights to 1, every bias to 0 and the padding to 0', () => {
    const layout = parameterLayout(config);
    let end = 0;
    for (const t of layout.tensors) {
      expect(params.subarray(end, t.offset).every((x) => x === 0)).toBe(true);
      const values = params.subarray(t.offset, t.offset + t.size);
      if (/ln_(\d|f)\.weight$/.test(t.name)) expect(values.every((x) => x === 1)).toBe(true);
      if (t.name.endsWith('.bias')) expect(values.every((x) => x === 0)).toBe(true);
      end = t.offset + t.size;
    }
    expect(params.subarray(end).every((x) => x === 0)).toBe(true);
  });

  it('initializes the scalar head with a small normal weight and a zero bias', () => {
    const head = initScalarHead(config, 7);
    expect(head.length).toBe(192);
    expect(stats(head.subarray(0, 128)).std).toBeGreaterThan(0.01);
    expect(stats(head.subarray(0, 128)).std).toBeLessThan(0.03);
    expect(head.subarray(128).every((x) => x === 0)).toBe(true);
    expect(initScalarHead(config, 7)).toEqual(head);
  });
});

describe('Rng', () => {
  it('repeats its sequence for a seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 10; i++) expect(a.normal()).toBe(b.normal());
    expect(new Rng(1).uniform()).not.toBe(new Rng(2).uniform());
  });

  it('gives uniforms in [0,1), integers in [0,n) and standard normals', () => {
    const rng = new Rng(9);
    const n = 20_000;
    const uniforms = Float32Array.from({ length: n }, () => rng.uniform());
    expect(uniforms.every((u) => u >= 0 && u < 1)).toBe(true);
    expect(Math.abs(stats(uniforms).mean - 0.5)).toBeLessThan(0.01);
    const ints = Array.from({ length: 1000 }, () => rng.int(7));
    expect(ints.every((k) => Number.isInteger(k) && k >= 0 && k < 7)).toBe(true);
    expect(new Set(ints).size).toBe(7);
    const normals = stats(Float32Array.from({ length: n }, () => rng.normal()));
    expect(Math.abs(normals.mean)).toBeLessThan(0.03);
    expect(Math.abs(normals.std - 1)).toBeLessThan(0.03);
  });
});

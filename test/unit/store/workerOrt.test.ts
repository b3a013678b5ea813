// The worker without WebGPU: the checkpoint registry's onnxruntime-web (wasm) samplers on the ONNX
// export, and the held-out labeler's table and blind pairs computed with them — the same table as
// on the GPU (Dawn) for greedy answers, the pretraining loss within float32 rounding.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initParameters, PRESETS, type GptConfig } from '../../../src/model/config.ts';
import { Tokenizer } from '../../../src/model/tokenizer.ts';
import { CheckpointRegistry } from '../../../workers/checkpoints.ts';
import { blindPairs, evaluateCheckpoints } from '../../../workers/evaluation.ts';
import { testGpu } from '../engine/gpu-device.ts';

const tokenizer = Tokenizer.fromJSON(readFileSync('public/models/base/tokenizer.json', 'utf8'));
const config: GptConfig = { ...PRESETS.micro, nCtx: 48, vocabSize: tokenizer.vocabSize };
const evaluation = { worldSeed: 1, prompts: 3, maxNewTokens: 4, temperature: 0, seed: 1 };

describe('the worker without WebGPU (onnxruntime-web)', { timeout: 300_000 }, () => {
  const registry = new CheckpointRegistry();
  registry.put('base', { config, tokenizer, params: initParameters(config, 1), meta: { kind: 'base' } });
  registry.put('sft', { config, tokenizer, params: initParameters(config, 2), meta: { kind: 'sft', parent: 'base' } });

  it('samples from a checkpoint with no device, and a replaced checkpoint gets a new sampler', async () => {
    const generator = await registry.generator('base', undefined);
    const generation = await generator.generate([tokenizer.encode('Human: hi\n\nAssistant:')], {
      maxNewTokens: 3,
      temperature: 1,
      topK: 0,
      topP: 1,
      seed: 1,
    });
    expect(generation.tokens[0].length).toBeGreaterThan(0);
    const before = registry.ortSampler('sft');
    registry.put('sft', {
      config,
      tokenizer,
      params: initParameters(config, 3),
      meta: { kind: 'sft', parent: 'base' },
    });
    expect(registry.ortSampler('sft')).not.toBe(before);
    expect(registry.onnx('base')[0]).toBe(0x08); // ModelProto field 1 (ir_version)
  });

  it("gives the GPU's labeler table and blind pairs", async () => {
    const { device } = await testGpu();
    const onGpu = await evaluateCheckpoints(device, registry, ['base', 'sft'], evaluation);
    const onCpu = await evaluateCheckpoints(undefined, registry, ['base', 'sft'], evaluation);
    expect(onCpu.map((r) => r.name)).toEqual(['base', 'sft']);
    onCpu.forEach((row, i) => {
      expect(row.prompts).toBe(3);
      expect(Math.abs(row.pretrain_loss - onGpu[i].pretrain_loss)).toBeLessThan(1e-3 * onGpu[i].pretrain_loss);
    });
    const pairs = await blindPairs(undefined, registry, 'base', 'sft', 2, evaluation);
    expect(pairs).toHaveLength(2);
    expect(pairs.every((p) => typeof p.a === 'string' && typeof p.b === 'string')).toBe(true);
  });
});

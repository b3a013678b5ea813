// onnxruntime-web's side of the sampling benchmark: the lab's own KV-cache ONNX export of the same
// parameters, sampled by OrtSampler (same options, same draws as GptSampler: a prefill, then one
// token a call with the cache) on ort's WebGPU execution provider, which keeps the cache (present)
// in GPU buffers between calls and hands back only the logits. Where that provider cannot start on
// the adapter, the wasm provider is the peer instead, and the report says so.
import * as ort from 'onnxruntime-web';
import type { Checkpoint } from '../../src/model/checkpoint.ts';
import { exportOnnx, onnxPresentName } from '../../src/model/onnx/gpt2-graph.ts';
import { OrtSampler, ortSamplerModel } from '../../src/model/ort-sampler.ts';
import type { Generation, SamplingOptions } from '../../src/model/sampler.ts';
import type { Contender } from './measure.ts';

export interface OrtSampling {
  contender: Contender;
  /** 'ort-webgpu' or 'ort-wasm'. */
  name: string;
  /** The export sampled has a KV cache (always, since issue 19; reported with the figures). */
  kvCache: true;
  /** Why the WebGPU provider is not the peer, when it is not. */
  fallbackReason?: string;
  generate(): Promise<Generation>;
  dispose(): Promise<void>;
}

async function openSampler(
  onnx: Uint8Array,
  checkpoint: Checkpoint,
  maxT: number,
  provider: 'webgpu' | 'wasm',
): Promise<OrtSampler> {
  const presentNames = Array.from({ length: checkpoint.config.nLayer }, (_, layer) => [
    onnxPresentName(layer, 'key'),
    onnxPresentName(layer, 'value'),
  ]).flat();
  const preferredOutputLocation =
    provider === 'webgpu' ? Object.fromEntries(presentNames.map((name) => [name, 'gpu-buffer' as const])) : undefined;
  const sampler = new OrtSampler(ort, onnx, ortSamplerModel(checkpoint, maxT), {
    executionProviders: [provider],
    logSeverityLevel: 3,
    ...(preferredOutputLocation && { preferredOutputLocation }),
  });
  await sampler.ready();
  return sampler;
}

/** An OrtSampler on the WebGPU provider (wasm if that fails) for these prompts and `newTokens`. */
export async function ortSampling(
  checkpoint: Checkpoint,
  prompts: number[][],
  newTokens: number,
  options: SamplingOptions,
): Promise<OrtSampling> {
  const onnx = exportOnnx(checkpoint, { kvCache: true });
  const maxT = Math.max(...prompts.map((p) => p.length)) + newTokens;
  let sampler: OrtSampler;
  let name = 'ort-webgpu';
  let fallbackReason: string | undefined;
  try {
    sampler = await openSampler(onnx, checkpoint, maxT, 'webgpu');
  } catch (error) {
    fallbackReason = `onnxruntime-web's WebGPU execution provider did not start on this adapter (${(error as Error).message}); the peer is its wasm provider`;
    name = 'ort-wasm';
    sampler = await openSampler(onnx, checkpoint, maxT, 'wasm');
  }
  const generate = () => sampler.generate(prompts, { ...options, maxNewTokens: newTokens });
  return {
    name,
    kvCache: true,
    fallbackReason,
    generate,
    contender: {
      name,
      async run() {
        const { tokens } = await generate();
        return tokens.reduce((sum, row) => sum + row.length, 0);
      },
    },
    dispose: () => sampler.release(),
  };
}

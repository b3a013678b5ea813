// onnxruntime-web in the lab worker, for browsers without WebGPU: samplers over a checkpoint's
// KV-cache ONNX export on the wasm execution provider. The runtime is onnxruntime-web/wasm, the build
// without WebGPU (a 14 MB wasm binary instead of the 28 MB jsep one), loaded on first use (a dynamic
// import), so a browser with WebGPU never fetches it. Its wasm binary is the asset the build emits
// beside the worker (resolved from the module's own URL): nothing is downloaded from elsewhere.
// Threads need SharedArrayBuffer, i.e. a cross-origin-isolated page; otherwise ort runs on one.
import type { InferenceSession } from 'onnxruntime-web';
import type { Checkpoint } from '../src/model/checkpoint.ts';
import type { OrtRuntime, OrtSampler } from '../src/model/ort-sampler.ts';

const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
};

let runtime: Promise<{ ort: OrtRuntime; Sampler: typeof OrtSampler }> | undefined;

/** Imports onnxruntime-web/wasm once and sets it up for this worker. */
function ortRuntime(): Promise<{ ort: OrtRuntime; Sampler: typeof OrtSampler }> {
  runtime ??= Promise.all([import('onnxruntime-web/wasm'), import('../src/model/ort-sampler.ts')]).then(
    ([ort, { OrtSampler }]) => {
      ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
      ort.env.wasm.proxy = false; // already off the page's thread
      return { ort, Sampler: OrtSampler };
    },
  );
  return runtime;
}

/** A wasm-backed sampler over the checkpoint's KV-cache ONNX export, its session loaded. */
export async function openOrtSampler(checkpoint: Checkpoint): Promise<OrtSampler> {
  const { ort, Sampler } = await ortRuntime();
  const sampler = Sampler.fromCheckpoint(ort, checkpoint, { sessionOptions: SESSION_OPTIONS });
  await sampler.ready();
  return sampler;
}

// onnxruntime-web in the lab worker, for browsers without WebGPU: samplers over a checkpoint's ONNX
// export on the wasm execution provider. The runtime is loaded on first use (a dynamic import), so
// a browser with WebGPU never fetches it. Its wasm binary is the asset the build emits beside the
// worker (onnxruntime-web resolves it from its own module URL): nothing is downloaded from elsewhere.
// Threads need SharedArrayBuffer, i.e. a cross-origin-isolated page; otherwise ort runs on one.
import type { InferenceSession } from 'onnxruntime-web';
import type { Checkpoint } from '../src/model/checkpoint.ts';
import type { OrtSampler } from '../src/model/ort-sampler.ts';

const SESSION_OPTIONS: InferenceSession.SessionOptions = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

let runtime: Promise<typeof OrtSampler> | undefined;

/** Imports onnxruntime-web once and sets its wasm backend up for this worker. */
function ortRuntime(): Promise<typeof OrtSampler> {
  runtime ??= Promise.all([import('onnxruntime-web'), import('../src/model/ort-sampler.ts')]).then(([ort, { OrtSampler }]) => {
    ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    ort.env.wasm.proxy = false; // already off the page's thread
    return OrtSampler;
  });
  return runtime;
}

/** A wasm-backed sampler over the checkpoint's ONNX export, its session loaded. */
export async function openOrtSampler(checkpoint: Checkpoint): Promise<OrtSampler> {
  const Sampler = await ortRuntime();
  const sampler = Sampler.fromCheckpoint(checkpoint, { sessionOptions: SESSION_OPTIONS });
  await sampler.ready();
  return sampler;
}

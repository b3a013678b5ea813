// KV-cache decoding on the GPU: the pieces of sampling that differ from training. Per layer a key
// and a value cache, each (B, NH, maxT, HS): kvAppendDispatch writes this step's k and v rows,
// decodeAttentionDispatches attends one query per sequence to its cache (reference.ts attentionForward
// at the last position), and sampleDispatch turns logits into the next token per sequence.
import decodeWgsl from '../kernels/decode.wgsl?raw';
import sampleWgsl from '../kernels/sample.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingResource,
  type Dispatch,
  type KernelLayout,
} from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';

/** Longest cache (maxT) and largest head size decode.wgsl's attention accepts. */
export const DECODE_MAX_T = 1024;
const DECODE_MAX_HS = 256;
const MAX_WORKGROUPS = 65535;
/** Invocations per workgroup of attention_registers, one per (head, sequence). */
const REGISTER_INVOCATIONS = 16;

function checkPositive(label: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`${label}: ${name} must be a positive integer, got ${value}`);
  }
}

function checkAttentionSizes(label: string, B: number, C: number, NH: number, maxT: number): void {
  checkPositive(label, { B, C, NH, maxT });
  if (C % NH !== 0) throw new Error(`${label}: C=${C} is not divisible by NH=${NH}`);
  if (C / NH > DECODE_MAX_HS) throw new Error(`${label}: head size ${C / NH} exceeds ${DECODE_MAX_HS}`);
  if (maxT > DECODE_MAX_T) throw new Error(`${label}: maxT=${maxT} exceeds ${DECODE_MAX_T}`);
  if (B > MAX_WORKGROUPS || NH > MAX_WORKGROUPS) throw new Error(`${label}: B=${B} or NH=${NH} exceeds one dispatch`);
}

/** kCache[b,h,positions[b],:] and vCache[b,h,positions[b],:] = this step's k and v of qkv (B,3C). */
export function kvAppendDispatch(
  device: GPUDevice,
  label: string,
  b: { kCache: BindingResource; vCache: BindingResource; qkv: BindingResource; positions: BindingResource },
  B: number,
  C: number,
  NH: number,
  maxT: number,
): Dispatch {
  checkAttentionSizes(label, B, C, NH, maxT);
  const kernel = getKernel(device, {
    label: 'decode_kv_append',
    code: decodeWgsl,
    entryPoint: 'kv_append',
    bindings: ['storage', 'storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, C, NH, maxT]));
  const workgroups = Math.ceil((B * C) / 256);
  if (workgroups > MAX_WORKGROUPS) throw new Error(`${label}: B·C=${B * C} exceeds one dispatch`);
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [b.kCache, b.vCache, b.qkv, b.positions, dims], label),
    workgroups: [workgroups],
  };
}

/**
 * out (B,C): for each sequence b and head h, the query of qkv (B,3C) attends to cached keys and
 * values 0..positions[b] inclusive: softmax(q·k/√HS) weighted sum of v. One dispatch; an array for
 * symmetry with the other multi-pass ops. `layout` (kernel.ts) picks the entry point:
 * 'tiled' runs a 128-invocation workgroup per (head, sequence), 'registers' one invocation.
 */
export function decodeAttentionDispatches(
  device: GPUDevice,
  label: string,
  b: {
    out: BindingResource;
    qkv: BindingResource;
    kCache: BindingResource;
    vCache: BindingResource;
    positions: BindingResource;
  },
  B: number,
  C: number,
  NH: number,
  maxT: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  checkAttentionSizes(label, B, C, NH, maxT);
  const registers = layout === 'registers';
  const kernel = getKernel(device, {
    label: registers ? 'decode_attention_registers' : 'decode_attention',
    code: decodeWgsl,
    entryPoint: registers ? 'attention_registers' : 'attention',
    bindings: [
      'storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'uniform',
    ],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, C, NH, maxT]));
  return [
    {
      kernel,
      bindGroup: bindKernel(device, kernel, [b.out, b.qkv, b.kCache, b.vCache, b.positions, dims], label),
      workgroups: registers ? [Math.ceil((B * NH) / REGISTER_INVOCATIONS)] : [NH, B],
    },
  ];
}

export interface SampleParams {
  /** 0 = greedy argmax (ties → lowest id); otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Keep only the topK most likely tokens; 0 = off. */
  topK: number;
  /** Keep the smallest most-likely set whose (top-k renormalised) mass reaches topP; 1 = off. */
  topP: number;
  /** RNG seed: the same seed, step and sequence index give the same draw. */
  seed: number;
  /** Decode step, mixed into the RNG so each step draws afresh. */
  step: number;
}

const SAMPLE_PARAMS_BYTES = 32;
/** Largest vocabulary sample.wgsl's fixed-point mass sums hold. */
const SAMPLE_MAX_V = 65536;

/** Invocations per sampling workgroup: about 16 tokens each, a power of two from 16 to 256. */
function sampleThreads(V: number): number {
  const wanted = 2 ** Math.ceil(Math.log2(Math.max(1, V / 16)));
  return Math.min(256, Math.max(16, wanted));
}
/** Positive temperatures below this would overflow 1/temperature in float32; they are treated as 0. */
const MIN_TEMPERATURE = 1e-30;

/** The uniform buffer writeSampleParams fills. */
export function createSampleParamsBuffer(device: GPUDevice, label: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: SAMPLE_PARAMS_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
}

export function writeSampleParams(queue: GPUQueue, buffer: GPUBuffer, p: SampleParams): void {
  if (!(p.temperature >= 0) || !Number.isFinite(p.temperature))
    throw new Error(`temperature must be ≥ 0, got ${p.temperature}`);
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new Error(`topK must be a non-negative integer, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${p.topP}`);
  const data = new ArrayBuffer(SAMPLE_PARAMS_BYTES);
  const words = new Uint32Array(data);
  const floats = new Float32Array(data);
  floats[0] = p.temperature < MIN_TEMPERATURE ? 0 : p.temperature;
  words[1] = Math.min(p.topK, 0xffffffff);
  floats[2] = p.topP;
  words[3] = p.seed >>> 0;
  words[4] = p.step >>> 0;
  queue.writeBuffer(buffer, 0, data);
}

/**
 * ids (B) = the next token of each sequence from logits (B,V), per params (createSampleParamsBuffer).
 * A sequence with done[b] = 1 gets eosId; one that draws eosId gets done[b] = 1.
 */
export function sampleDispatch(
  device: GPUDevice,
  label: string,
  b: { ids: BindingResource; logits: BindingResource; params: BindingResource; done: BindingResource },
  B: number,
  V: number,
  eosId: number,
): Dispatch {
  checkPositive(label, { B, V });
  if (B > MAX_WORKGROUPS) throw new Error(`${label}: B=${B} exceeds one dispatch`);
  if (V > SAMPLE_MAX_V) throw new Error(`${label}: V=${V} exceeds ${SAMPLE_MAX_V}`);
  if (!Number.isInteger(eosId) || eosId < 0 || eosId >= V)
    throw new Error(`${label}: eosId ${eosId} is outside [0, ${V})`);
  const threads = sampleThreads(V);
  const kernel = getKernel(device, {
    label: 'sample',
    code: sampleWgsl,
    constants: { THREADS: threads, WX: Math.min(threads, 64), WY: threads / Math.min(threads, 64) },
    bindings: ['storage', 'storage', 'read-only-storage', 'uniform', 'uniform'],
  });
  const idBits = V <= 1 ? 0 : 32 - Math.clz32(V - 1);
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, V, eosId, Math.ceil(idBits / 4)]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [b.ids, b.done, b.logits, b.params, dims], label),
    workgroups: [B],
  };
}

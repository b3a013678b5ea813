// AdamW on the GPU over one flat parameter buffer: global gradient-norm clipping, bias correction and
// decoupled weight decay on the 64-float blocks a mask selects — the same step as reference.ts
// adamwStep, in three dispatches (partial sums of squares, the norm, the update) with no readback;
// on CPU adapters the two reductions run without barriers, bit-identically.
import adamwWgsl from '../kernels/adamw.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingKind,
  type BindingResource,
  type Dispatch,
  type KernelLayout,
} from '../kernel.ts';
import { createStorageBuffer, createUniformBuffer, FLOAT_BYTES } from '../buffers.ts';

/** Floats per decay-mask entry: the parameter layout aligns every tensor to this. */
const MASK_BLOCK_FLOATS = 64;
const THREADS = 256;
/** Floats one norm_partials workgroup reads per round (256 invocations × 1 vec4). */
const PARTIAL_STRETCH_FLOATS = THREADS * 4;
/**
 * At most this many norm_partials workgroups, each walking the buffer with a grid stride: a fixed
 * count keeps the number of tree reductions (8 barriers each) independent of the model size.
 */
const MAX_PARTIALS = 64;
/** Invocations per norm_partials_registers workgroup (one per norm_partials workgroup). */
const REGISTER_INVOCATIONS = 32;
const MAX_WORKGROUPS = 65535;

const BINDINGS: BindingKind[] = [
  'storage', // params
  'read-only-storage', // grads
  'storage', // m
  'storage', // v
  'read-only-storage', // decayMask
  'storage', // gradNorm
  'storage', // partials (scratch)
  'uniform', // hyper
  'uniform', // dims
];

/** AdamW's settings (the step count is the caller's, see writeAdamwHyper). */
export interface AdamwHyperparams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay, applied where the decay mask is 1. */
  weightDecay: number;
  /** Largest global gradient L2 norm (Infinity: no clipping). */
  gradClip: number;
}

export interface AdamwBuffers {
  params: BindingResource; // (totalFloats)
  grads: BindingResource; // (totalFloats)
  m: BindingResource; // (totalFloats) first moment
  v: BindingResource; // (totalFloats) second moment
  decayMask: BindingResource; // (totalFloats/64) u32, from decayMaskFor
  hyper: BindingResource; // uniform, from createAdamwHyperBuffer / writeAdamwHyper
  gradNorm: BindingResource; // (1) f32 out: ‖grads‖ before clipping
}

/** Size in bytes of the hyperparameter uniform (9 words, padded to 16 bytes). */
const HYPER_BYTES = 48;

/**
 * The dispatches of one AdamW step; record them after the gradients and before reading params.
 * `layout` (kernel.ts) picks the norm's reductions: workgroup trees ('tiled') or the same trees
 * formed by one invocation each ('registers', bit-identical, no barriers).
 */
export function adamwDispatches(
  device: GPUDevice,
  label: string,
  b: AdamwBuffers,
  totalFloats: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  if (!Number.isInteger(totalFloats) || totalFloats <= 0 || totalFloats % MASK_BLOCK_FLOATS !== 0) {
    throw new Error(`${label}: totalFloats must be a positive multiple of ${MASK_BLOCK_FLOATS}, got ${totalFloats}`);
  }
  const totalVec4 = totalFloats / 4;
  const updateGroups = Math.ceil(totalVec4 / THREADS);
  if (updateGroups > MAX_WORKGROUPS) throw new Error(`${label}: ${totalFloats} floats exceed one dispatch`);
  const numPartials = Math.min(MAX_PARTIALS, Math.ceil(totalFloats / PARTIAL_STRETCH_FLOATS));
  const partials = createStorageBuffer(device, `${label}.partials`, numPartials * FLOAT_BYTES);
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([totalVec4, numPartials, 0, 0]));
  const resources = [b.params, b.grads, b.m, b.v, b.decayMask, b.gradNorm, partials, b.hyper, dims];
  const pass = (entryPoint: string, workgroups: number): Dispatch => {
    const kernel = getKernel(device, { label: `adamw_${entryPoint}`, code: adamwWgsl, entryPoint, bindings: BINDINGS });
    return {
      kernel,
      bindGroup: bindKernel(device, kernel, resources, `${label}.${entryPoint}`),
      workgroups: [workgroups],
    };
  };
  if (layout === 'registers') {
    return [
      pass('norm_partials_registers', Math.ceil(numPartials / REGISTER_INVOCATIONS)),
      pass('norm_reduce_registers', 1),
      pass('update', updateGroups),
    ];
  }
  return [pass('norm_partials', numPartials), pass('norm_reduce', 1), pass('update', updateGroups)];
}

/** The uniform buffer writeAdamwHyper fills before each step. */
export function createAdamwHyperBuffer(device: GPUDevice, label: string): GPUBuffer {
  return device.createBuffer({ label, size: HYPER_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
}

/**
 * Writes one step's hyperparameters; `step` counts from 1 and sets the bias corrections 1 − β^step,
 * computed here in float64.
 */
export function writeAdamwHyper(queue: GPUQueue, buffer: GPUBuffer, h: AdamwHyperparams, step: number): void {
  if (!Number.isInteger(step) || step < 1) throw new Error(`AdamW step counts from 1, got ${step}`);
  const data = new ArrayBuffer(HYPER_BYTES);
  const floats = new Float32Array(data);
  const clipEnabled = Number.isFinite(h.gradClip);
  floats.set([
    h.lr,
    h.beta1,
    h.beta2,
    h.eps,
    h.weightDecay,
    clipEnabled ? h.gradClip : 0,
    1 - h.beta1 ** step,
    1 - h.beta2 ** step,
  ]);
  new Uint32Array(data)[8] = clipEnabled ? 1 : 0;
  queue.writeBuffer(buffer, 0, data);
}

/** One u32 per 64-float block: 1 where the block belongs to a tensor with 2+ dimensions (it decays). */
export function decayMaskFor(layout: {
  tensors: { shape: number[]; offset: number; size: number }[];
  totalFloats: number;
}): Uint32Array {
  const mask = new Uint32Array(Math.ceil(layout.totalFloats / MASK_BLOCK_FLOATS));
  for (const tensor of layout.tensors) {
    if (tensor.offset % MASK_BLOCK_FLOATS !== 0)
      throw new Error(`tensor at offset ${tensor.offset} is not 64-float aligned`);
    if (tensor.shape.length < 2 || tensor.size === 0) continue;
    mask.fill(1, tensor.offset / MASK_BLOCK_FLOATS, Math.ceil((tensor.offset + tensor.size) / MASK_BLOCK_FLOATS));
  }
  return mask;
}

// Causal multi-head self-attention on the GPU: the dispatches for the forward pass (one fused pass:
// scores, stable softmax, weighted sum of the values) and the backward pass (queries, then keys),
// with the math of reference.ts attentionForward / attentionBackward. Kernels in attention.wgsl:
// one entry point per pass in the tiled layout (GPUs) and one in the registers layout (CPU
// adapters; kernel.ts KernelLayout).
import attentionWgsl from '../kernels/attention.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingResource,
  type Dispatch,
  type Kernel,
  type KernelLayout,
} from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';

/**
 * Positions per workgroup (queries in the forward / backward_query pass, keys in backward_key): one
 * 16×16 workgroup per 16 positions in the tiled layout, 16 invocations of one position each in the
 * registers layout.
 */
const BLOCK = 16;
/** Limits of the kernels: score rows live in registers, 16 tiles of 16 keys; 4 channels per lane. */
export const ATTENTION_MAX_T = 256;
export const ATTENTION_MAX_HEAD_SIZE = 64;

function headSize(T: number, C: number, NH: number): number {
  const HS = C / NH;
  if (!Number.isInteger(HS)) throw new Error(`attention: C=${C} is not a multiple of NH=${NH}`);
  if (HS < 1 || HS > ATTENTION_MAX_HEAD_SIZE)
    throw new Error(`attention: head size ${HS} is outside 1..${ATTENTION_MAX_HEAD_SIZE}`);
  if (T < 1 || T > ATTENTION_MAX_T) throw new Error(`attention: T=${T} is outside 1..${ATTENTION_MAX_T}`);
  return HS;
}

type AttentionEntryPoint = 'forward' | 'backward_query' | 'backward_key';

function attentionKernel(device: GPUDevice, entryPoint: AttentionEntryPoint, HS: number, layout: KernelLayout): Kernel {
  const forward = entryPoint === 'forward';
  const name = layout === 'registers' ? `${entryPoint}_registers` : entryPoint;
  return getKernel(device, {
    label: `attention_${name}`,
    code: attentionWgsl,
    entryPoint: name,
    constants: { HS },
    // forward: dims, out, preatt, att, qkv; backward: dims, dqkv, dpreatt, datt, qkv, att, dout
    bindings: forward
      ? ['uniform', 'storage', 'storage', 'storage', 'read-only-storage']
      : ['uniform', 'storage', 'storage', 'storage', 'read-only-storage', 'read-only-storage', 'read-only-storage'],
  });
}

function workgroups(B: number, T: number, NH: number): [number, number, number] {
  return [Math.ceil(T / BLOCK), NH, B];
}

/**
 * out (B,T,C) = causal attention over qkv (B,T,3C); also writes the scores preatt (B,NH,T,T) =
 * q·k/√HS and the probabilities att (B,NH,T,T) (softmax with the row max subtracted), masked
 * entries (key after query) stored as 0. One dispatch. Requires T <= 256 and C/NH <= 64. `layout`
 * (kernel.ts) picks the entry point.
 */
export function attentionForwardDispatches(
  device: GPUDevice,
  label: string,
  b: { out: BindingResource; preatt: BindingResource; att: BindingResource; qkv: BindingResource },
  B: number,
  T: number,
  C: number,
  NH: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  const kernel = attentionKernel(device, 'forward', headSize(T, C, NH), layout);
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, T, C, NH]));
  return [
    {
      kernel,
      bindGroup: bindKernel(device, kernel, [dims, b.out, b.preatt, b.att, b.qkv], label),
      workgroups: workgroups(B, T, NH),
    },
  ];
}

/**
 * dqkv (B,T,3C) = d loss / d qkv given dout (B,T,C), the forward's qkv and att. dqkv is overwritten
 * (every element written once, no zeroing needed); datt and dpreatt (B,NH,T,T) are scratch, left
 * holding d loss / d att and d loss / d preatt (masked entries 0). Two dispatches, in order.
 * `layout` (kernel.ts) picks the entry points.
 */
export function attentionBackwardDispatches(
  device: GPUDevice,
  label: string,
  b: {
    dqkv: BindingResource;
    dpreatt: BindingResource;
    datt: BindingResource;
    dout: BindingResource;
    qkv: BindingResource;
    att: BindingResource;
  },
  B: number,
  T: number,
  C: number,
  NH: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  const HS = headSize(T, C, NH);
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, T, C, NH]));
  const resources = [dims, b.dqkv, b.dpreatt, b.datt, b.qkv, b.att, b.dout];
  return (['backward_query', 'backward_key'] as const).map((entryPoint) => {
    const kernel = attentionKernel(device, entryPoint, HS, layout);
    return {
      kernel,
      bindGroup: bindKernel(device, kernel, resources, `${label}.${entryPoint}`),
      workgroups: workgroups(B, T, NH),
    };
  });
}

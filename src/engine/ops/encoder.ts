// Token + position embeddings (GPT-2's encoder), forward and backward. The backward needs, per token
// id, the positions where it occurs: bucketTokens builds that CSR on the CPU when a batch is
// uploaded, so each dwte row is a plain gather-sum with no atomics and a fixed summation order.
import encoderWgsl from '../kernels/encoder.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingResource,
  type Dispatch,
  type KernelLayout,
} from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';
import { workgroupGrid } from './columnsum.ts';

const FORWARD_WORKGROUP = 256;
const BACKWARD_COLUMNS = 32;
/** Channels per backward_registers workgroup (one invocation each). */
const REGISTER_COLUMNS = 64;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/** out (B,T,C): out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]; tokens (B,T) u32, wte (V,C), wpe (nCtx,C). */
export function encoderForwardDispatch(
  device: GPUDevice,
  label: string,
  b: { out: BindingResource; tokens: BindingResource; wte: BindingResource; wpe: BindingResource },
  B: number,
  T: number,
  C: number,
): Dispatch {
  const vec4 = C % 4 === 0;
  const width = vec4 ? C / 4 : C;
  const kernel = getKernel(device, {
    label: 'encoder_forward',
    code: encoderWgsl,
    entryPoint: vec4 ? 'forward_vec4' : 'forward',
    bindings: ['storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const n = B * T * width;
  const grid = workgroupGrid(Math.ceil(n / FORWARD_WORKGROUP));
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([B, T, width, grid[0], n, 0, 0, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [b.out, b.tokens, b.wte, b.wpe, sizes], label),
    workgroups: grid,
  };
}

/**
 * Positions of each token id, as a CSR: the positions (indices into the (B,T) batch) of token v are
 * positions[offsets[v] .. offsets[v+1]), in increasing order.
 */
export function bucketTokens(tokens: ArrayLike<number>, V: number): { offsets: Uint32Array; positions: Uint32Array } {
  const offsets = new Uint32Array(V + 1); // (V+1)
  for (let p = 0; p < tokens.length; p++) {
    const token = tokens[p];
    if (!Number.isInteger(token) || token < 0 || token >= V)
      throw new Error(`token ${token} at position ${p} is outside the vocabulary [0, ${V})`);
    offsets[token + 1]++;
  }
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, V);
  const positions = new Uint32Array(tokens.length); // (B*T)
  for (let p = 0; p < tokens.length; p++) positions[next[tokens[p]]++] = p;
  return { offsets, positions };
}

/**
 * One gather-sum pass. `slots` workgroup rows of 32 channels each; with `slotByPosition` (dwte when
 * B·T < V) slot j is the j-th CSR entry and adds only when it is its token's first entry, so the grid
 * follows the batch (min(V, B·T) slots) rather than the vocabulary. 'registers' (CPU adapters): one
 * invocation per channel forms the 8 lane sums in private memory, no barrier (bit-identical).
 */
function gatherSumDispatch(
  device: GPUDevice,
  label: string,
  mode: { byToken: boolean; slotByPosition: boolean },
  resources: BindingResource[],
  slots: number,
  sizes: { B: number; T: number; C: number; V: number },
  layout: KernelLayout,
): Dispatch {
  if (slots > MAX_WORKGROUPS_PER_DIMENSION) throw new Error(`${label}: ${slots} rows is too many for encoder backward`);
  const registers = layout === 'registers';
  const kernel = getKernel(device, {
    label: `${mode.byToken ? 'encoder_backward_wte' : 'encoder_backward_wpe'}${registers ? '_registers' : ''}`,
    code: encoderWgsl,
    entryPoint: registers ? 'backward_registers' : 'backward',
    constants: { BY_TOKEN: mode.byToken, SLOT_BY_POSITION: mode.slotByPosition },
    bindings: ['storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const { B, T, C, V } = sizes;
  const uniforms = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([B, T, C, 0, 0, V, 0, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [...resources, uniforms], label),
    workgroups: [Math.ceil(C / (registers ? REGISTER_COLUMNS : BACKWARD_COLUMNS)), Math.max(1, slots)],
  };
}

/**
 * Embedding backward: dwte (V,C) += Σ of dout (B,T,C) over the positions of each token (offsets
 * (V+1) and positions (B*T) from bucketTokens); dwpe (nCtx,C) row t += Σ_b dout[b,t,:]. The dwte pass
 * launches min(V, B·T) workgroup rows: only the batch's tokens get work, whatever the vocabulary.
 * Both layouts give the same bits.
 */
export function encoderBackwardDispatches(
  device: GPUDevice,
  label: string,
  b: {
    dwte: BindingResource;
    dwpe: BindingResource;
    dout: BindingResource;
    offsets: BindingResource;
    positions: BindingResource;
  },
  B: number,
  T: number,
  C: number,
  V: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  const sizes = { B, T, C, V };
  const slotByPosition = B * T < V;
  const tokenSlots = slotByPosition ? B * T : V;
  return [
    gatherSumDispatch(
      device,
      `${label}.dwte`,
      { byToken: true, slotByPosition },
      [b.dwte, b.dout, b.offsets, b.positions],
      tokenSlots,
      sizes,
      layout,
    ),
    gatherSumDispatch(
      device,
      `${label}.dwpe`,
      { byToken: false, slotByPosition: false },
      [b.dwpe, b.dout, b.offsets, b.positions],
      T,
      sizes,
      layout,
    ),
  ];
}

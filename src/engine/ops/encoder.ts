// Token + position embeddings (GPT-2's encoder), forward and backward. The backward needs, per token
// id, the positions where it occurs: bucketTokens builds that CSR on the CPU when a batch is
// uploaded, so each dwte row is a plain gather-sum with no atomics and a fixed summation order.
import encoderWgsl from '../kernels/encoder.wgsl?raw';
import { bindKernel, getKernel, type BindingResource, type Dispatch } from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';
import { workgroupGrid } from './pointwise.ts';

const FORWARD_WORKGROUP = 256;
const BACKWARD_COLUMNS = 32;
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
  return { kernel, bindGroup: bindKernel(device, kernel, [b.out, b.tokens, b.wte, b.wpe, sizes], label), workgroups: grid };
}

/**
 * Positions of each token id, as a CSR: the positions (indices into the (B,T) batch) of token v are
 * positions[offsets[v] .. offsets[v+1]), in increasing order.
 */
export function bucketTokens(tokens: ArrayLike<number>, V: number): { offsets: Uint32Array; positions: Uint32Array } {
  const offsets = new Uint32Array(V + 1); // (V+1)
  for (let p = 0; p < tokens.length; p++) {
    const token = tokens[p];
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`token ${token} at position ${p} is outside the vocabulary [0, ${V})`);
    offsets[token + 1]++;
  }
  for (let v = 0; v < V; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, V);
  const positions = new Uint32Array(tokens.length); // (B*T)
  for (let p = 0; p < tokens.length; p++) positions[next[tokens[p]]++] = p;
  return { offsets, positions };
}

function gatherSumDispatch(
  device: GPUDevice,
  label: string,
  byToken: boolean,
  resources: BindingResource[],
  targetRows: number,
  B: number,
  T: number,
  C: number,
): Dispatch {
  if (targetRows > MAX_WORKGROUPS_PER_DIMENSION) throw new Error(`${label}: ${targetRows} rows is too many for encoder backward`);
  const kernel = getKernel(device, {
    label: byToken ? 'encoder_backward_wte' : 'encoder_backward_wpe',
    code: encoderWgsl,
    entryPoint: 'backward',
    constants: { BY_TOKEN: byToken },
    bindings: ['storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([B, T, C, 0, 0, 0, 0, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [...resources, sizes], label),
    workgroups: [Math.ceil(C / BACKWARD_COLUMNS), Math.max(1, targetRows)],
  };
}

/**
 * Embedding backward: dwte (V,C) += Σ of dout (B,T,C) over the positions of each token (offsets
 * (V+1) and positions (B*T) from bucketTokens); dwpe (nCtx,C) row t += Σ_b dout[b,t,:].
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
): Dispatch[] {
  return [
    gatherSumDispatch(device, `${label}.dwte`, true, [b.dwte, b.dout, b.offsets, b.positions], V, B, T, C),
    gatherSumDispatch(device, `${label}.dwpe`, false, [b.dwpe, b.dout, b.offsets, b.positions], T, B, T, C),
  ];
}

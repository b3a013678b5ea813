// LayerNorm forward and backward over N rows of C channels (C ≤ 1024), eps 1e-5, as reference.ts.
// The backward writes dinp and per-row-group partial sums for dweight and dbias in one pass, then
// sums the partials into dweight and dbias with the deterministic column sum of columnsum.ts.
import layernormWgsl from '../kernels/layernorm.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingResource,
  type Dispatch,
  type KernelLayout,
} from '../kernel.ts';
import { createStorageBuffer, createUniformBuffer, FLOAT_BYTES } from '../buffers.ts';
import { biasBackwardDispatches, workgroupGrid } from './columnsum.ts';

const LANES = 64;
const MAX_C = LANES * 16;
const ROWS_AT_ONCE = 4;
/** Invocations per registers workgroup: one per row (forward) or per partial row (backward). */
const REGISTER_ROWS = 32;
const BACKWARD_ROWS_PER_GROUP = ROWS_AT_ONCE * 4;

function checkChannels(label: string, C: number): void {
  if (!(C >= 1 && C <= MAX_C)) throw new Error(`${label}: LayerNorm supports 1 ≤ C ≤ ${MAX_C}, got C=${C}`);
}

/**
 * out (N,C) = (inp − mean)·rstd·weight + bias; saves mean (N) and rstd (N). `layout` (kernel.ts)
 * picks the entry point: 'tiled' reduces each row across 64 invocations through workgroup memory,
 * 'registers' gives each row one invocation and the same tree in private memory (bit-identical).
 */
export function layernormForwardDispatch(
  device: GPUDevice,
  label: string,
  b: {
    out: BindingResource;
    mean: BindingResource;
    rstd: BindingResource;
    inp: BindingResource;
    weight: BindingResource;
    bias: BindingResource;
  },
  N: number,
  C: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch {
  checkChannels(label, C);
  const registers = layout === 'registers';
  const kernel = getKernel(device, {
    label: registers ? 'layernorm_forward_registers' : 'layernorm_forward',
    code: layernormWgsl,
    entryPoint: registers ? 'forward_registers' : 'forward',
    constants: { PER_THREAD: Math.ceil(C / LANES) },
    bindings: [
      'storage',
      'storage',
      'storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'uniform',
    ],
  });
  const groups = Math.ceil(N / (registers ? REGISTER_ROWS : ROWS_AT_ONCE));
  const grid = workgroupGrid(groups);
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([N, C, grid[0], groups]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [b.out, b.mean, b.rstd, b.inp, b.weight, b.bias, sizes], label),
    workgroups: grid,
  };
}

/**
 * LayerNorm backward: dinp (N,C) = (or += with accumulateInput) the input gradient; dweight (C) and
 * dbias (C) += the sums over the N rows. Allocates two scratch buffers for the partial sums. `layout`
 * (kernel.ts) picks the first pass's entry point, bit-identical in both (see layernormForwardDispatch).
 */
export function layernormBackwardDispatches(
  device: GPUDevice,
  label: string,
  b: {
    dinp: BindingResource;
    dweight: BindingResource;
    dbias: BindingResource;
    dout: BindingResource;
    inp: BindingResource;
    weight: BindingResource;
    mean: BindingResource;
    rstd: BindingResource;
  },
  N: number,
  C: number,
  options: { accumulateInput: boolean },
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  checkChannels(label, C);
  const registers = layout === 'registers';
  const kernel = getKernel(device, {
    label: registers ? 'layernorm_backward_registers' : 'layernorm_backward',
    code: layernormWgsl,
    entryPoint: registers ? 'backward_registers' : 'backward',
    constants: { PER_THREAD: Math.ceil(C / LANES), ACCUMULATE_INPUT: options.accumulateInput },
    bindings: [
      'storage',
      'storage',
      'storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'uniform',
    ],
  });
  const groups = Math.ceil(N / BACKWARD_ROWS_PER_GROUP);
  const partialRows = Math.max(1, groups) * ROWS_AT_ONCE;
  const dweightPartial = createStorageBuffer(device, `${label}.dweight-partial`, partialRows * C * FLOAT_BYTES); // (partialRows, C)
  const dbiasPartial = createStorageBuffer(device, `${label}.dbias-partial`, partialRows * C * FLOAT_BYTES); // (partialRows, C)
  const grid = workgroupGrid(registers ? Math.ceil(partialRows / REGISTER_ROWS) : groups);
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([N, C, grid[0], groups]));
  const rows: Dispatch = {
    kernel,
    bindGroup: bindKernel(
      device,
      kernel,
      [b.dinp, dweightPartial, dbiasPartial, b.inp, b.weight, b.dout, b.mean, b.rstd, sizes],
      label,
    ),
    workgroups: grid,
  };
  return [
    rows,
    ...biasBackwardDispatches(device, `${label}.dweight`, { dbias: b.dweight, dout: dweightPartial }, partialRows, C),
    ...biasBackwardDispatches(device, `${label}.dbias`, { dbias: b.dbias, dout: dbiasPartial }, partialRows, C),
  ];
}

// The bias gradient as a deterministic two-pass column sum (kernels/columnsum.wgsl), and the grid
// helper of the row kernels. (GELU and the residual add are matmul epilogues: ops/matmul.ts.)
import columnSumWgsl from '../kernels/columnsum.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type Dispatch,
  type BindingResource,
  type KernelLayout,
} from '../kernel.ts';
import { createStorageBuffer, createUniformBuffer, FLOAT_BYTES } from '../buffers.ts';

const MAX_WORKGROUPS_PER_DIMENSION = 65535;
/** Columns per column_sum workgroup and rows per first-pass chunk. */
const SUM_COLUMNS = 64;
const SUM_CHUNK_ROWS = 64;

/** Workgroup counts for `groups` workgroups, folded into y when x would pass the per-dimension limit. */
export function workgroupGrid(groups: number): [number, number] {
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [Math.max(1, groups), 1];
  return [MAX_WORKGROUPS_PER_DIMENSION, Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION)];
}

function columnSumDispatch(
  device: GPUDevice,
  label: string,
  dst: BindingResource,
  src: BindingResource,
  rows: number,
  cols: number,
  chunkRows: number,
  accumulate: boolean,
  layout: KernelLayout,
): Dispatch {
  const chunks = Math.ceil(rows / chunkRows);
  if (chunks > MAX_WORKGROUPS_PER_DIMENSION) throw new Error(`${label}: ${rows} rows is too many for column_sum`);
  const registers = layout === 'registers';
  const kernel = getKernel(device, {
    label: registers ? 'column_sum_registers' : 'column_sum',
    code: columnSumWgsl,
    entryPoint: registers ? 'column_sum_registers' : 'column_sum',
    constants: { ACCUMULATE: accumulate },
    bindings: ['storage', 'read-only-storage', 'uniform'],
  });
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([rows, cols, chunkRows, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [dst, src, sizes], label),
    workgroups: [Math.ceil(cols / SUM_COLUMNS), Math.max(1, chunks)],
  };
}

/**
 * dbias (OC) += Σ_rows dout (N,OC). Up to 64 rows: one pass. Otherwise chunks of 64 rows are summed
 * into a scratch (ceil(N/64), OC) allocated here, then the scratch is summed into dbias. 'registers'
 * (CPU adapters): one invocation per column and chunk forms the 4 lane sums in private memory, no
 * barrier; the same bits as 'tiled'.
 */
export function biasBackwardDispatches(
  device: GPUDevice,
  label: string,
  b: { dbias: BindingResource; dout: BindingResource },
  N: number,
  OC: number,
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch[] {
  if (N <= SUM_CHUNK_ROWS)
    return [columnSumDispatch(device, label, b.dbias, b.dout, N, OC, Math.max(1, N), true, layout)];
  const chunks = Math.ceil(N / SUM_CHUNK_ROWS);
  const partials = createStorageBuffer(device, `${label}.partials`, chunks * OC * FLOAT_BYTES); // (chunks, OC)
  return [
    columnSumDispatch(device, `${label}.chunks`, partials, b.dout, N, OC, SUM_CHUNK_ROWS, false, layout),
    columnSumDispatch(device, `${label}.total`, b.dbias, partials, chunks, OC, chunks, true, layout),
  ];
}

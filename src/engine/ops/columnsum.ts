// The bias gradient as a deterministic two-pass column sum (kernels/columnsum.wgsl), and the grid
// helper of the row kernels. (GELU and the residual add are matmul epilogues: ops/matmul.ts.)
import columnSumWgsl from '../kernels/columnsum.wgsl?raw';
import { bindKernel, getKernel, type Dispatch, type BindingResource } from '../kernel.ts';
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
): Dispatch {
  const chunks = Math.ceil(rows / chunkRows);
  if (chunks > MAX_WORKGROUPS_PER_DIMENSION) throw new Error(`${label}: ${rows} rows is too many for column_sum`);
  const kernel = getKernel(device, {
    label: 'column_sum',
    code: columnSumWgsl,
    entryPoint: 'column_sum',
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
 * into a scratch (ceil(N/64), OC) allocated here, then the scratch is summed into dbias.
 */
export function biasBackwardDispatches(
  device: GPUDevice,
  label: string,
  b: { dbias: BindingResource; dout: BindingResource },
  N: number,
  OC: number,
): Dispatch[] {
  if (N <= SUM_CHUNK_ROWS) return [columnSumDispatch(device, label, b.dbias, b.dout, N, OC, Math.max(1, N), true)];
  const chunks = Math.ceil(N / SUM_CHUNK_ROWS);
  const partials = createStorageBuffer(device, `${label}.partials`, chunks * OC * FLOAT_BYTES); // (chunks, OC)
  return [
    columnSumDispatch(device, `${label}.chunks`, partials, b.dout, N, OC, SUM_CHUNK_ROWS, false),
    columnSumDispatch(device, `${label}.total`, b.dbias, partials, chunks, OC, chunks, true),
  ];
}

// Elementwise ops (GELU forward/backward, residual add, add-into) and the bias gradient (a
// deterministic two-pass column sum). Lengths that are a multiple of 4 use the vec4 entry point.
// Outputs must not alias inputs (WebGPU forbids a writable binding overlapping another binding);
// use addIntoDispatch for an in-place sum.
import pointwiseWgsl from '../kernels/pointwise.wgsl?raw';
import { bindKernel, getKernel, type BindingResource, type Dispatch } from '../kernel.ts';
import { createStorageBuffer, createUniformBuffer, FLOAT_BYTES } from '../buffers.ts';

const MAX_WORKGROUPS_PER_DIMENSION = 65535;
const ELEMENTWISE_WORKGROUP = 256;
/** Columns per column_sum workgroup and rows per first-pass chunk. */
const SUM_COLUMNS = 64;
const SUM_CHUNK_ROWS = 64;

const Op = { geluForward: 0, geluBackward: 1, add: 2, addInto: 3 } as const;
type Op = (typeof Op)[keyof typeof Op];

const BINDINGS = ['storage', 'read-only-storage', 'read-only-storage', 'uniform'] as const;

/** Workgroup counts for `groups` workgroups, folded into y when x would pass the per-dimension limit. */
export function workgroupGrid(groups: number): [number, number] {
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [Math.max(1, groups), 1];
  return [MAX_WORKGROUPS_PER_DIMENSION, Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION)];
}

function elementwiseDispatch(
  device: GPUDevice,
  label: string,
  op: Op,
  dst: BindingResource,
  a: BindingResource,
  b: BindingResource,
  n: number,
): Dispatch {
  const vec4 = n % 4 === 0;
  const count = vec4 ? n / 4 : n;
  const kernel = getKernel(device, {
    label: 'pointwise',
    code: pointwiseWgsl,
    entryPoint: vec4 ? 'elementwise_vec4' : 'elementwise',
    constants: { OP: op },
    bindings: [...BINDINGS],
  });
  const grid = workgroupGrid(Math.ceil(count / ELEMENTWISE_WORKGROUP));
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([count, grid[0], 0, 0, 0, 0, 0, 0]));
  return { kernel, bindGroup: bindKernel(device, kernel, [dst, a, b, sizes], label), workgroups: grid };
}

/** out (n) = gelu(inp), tanh approximation. */
export function geluForwardDispatch(device: GPUDevice, label: string, b: { out: BindingResource; inp: BindingResource }, n: number): Dispatch {
  return elementwiseDispatch(device, label, Op.geluForward, b.out, b.inp, b.inp, n);
}

/** dinp (n) = gelu'(inp) · dout (overwrites). */
export function geluBackwardDispatch(
  device: GPUDevice,
  label: string,
  b: { dinp: BindingResource; inp: BindingResource; dout: BindingResource },
  n: number,
): Dispatch {
  return elementwiseDispatch(device, label, Op.geluBackward, b.dinp, b.inp, b.dout, n);
}

/** out (n) = inp1 + inp2. */
export function residualForwardDispatch(
  device: GPUDevice,
  label: string,
  b: { out: BindingResource; inp1: BindingResource; inp2: BindingResource },
  n: number,
): Dispatch {
  return elementwiseDispatch(device, label, Op.add, b.out, b.inp1, b.inp2, n);
}

/** out (n) += inp. */
export function addIntoDispatch(device: GPUDevice, label: string, b: { out: BindingResource; inp: BindingResource }, n: number): Dispatch {
  return elementwiseDispatch(device, label, Op.addInto, b.out, b.inp, b.inp, n);
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
    code: pointwiseWgsl,
    entryPoint: 'column_sum',
    constants: { ACCUMULATE: accumulate },
    bindings: [...BINDINGS],
  });
  const sizes = createUniformBuffer(device, `${label}.sizes`, new Uint32Array([0, 0, rows, cols, chunkRows, 0, 0, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [dst, src, src, sizes], label),
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

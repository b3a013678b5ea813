// The scalar head (reward model, PPO value function) on the GPU over every position:
// values[n] = lnf[n,:]·weight + bias, and its backward with deterministic two-pass reductions for
// the parameter gradients. reference.ts scalarHeadForward/Backward read one position per sequence;
// these kernels compute all N = B·T rows and the caller picks the positions it needs.
import scalarheadWgsl from '../kernels/scalarhead.wgsl?raw';
import { bindKernel, getKernel, type BindingResource, type Dispatch } from '../kernel.ts';
import { createStorageBuffer, createUniformBuffer, FLOAT_BYTES } from '../buffers.ts';

const ROWS_PER_GROUP = 8; // forward
const COLS = 64; // backward channels per workgroup
const ROWS_PER_CHUNK = 64; // backward rows per partial sum
const MAX_WORKGROUPS = 65535;

function checkSizes(label: string, N: number, C: number): void {
  for (const [name, value] of Object.entries({ N, C })) {
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`${label}: ${name} must be a positive integer, got ${value}`);
  }
  if (Math.ceil(N / ROWS_PER_GROUP) > MAX_WORKGROUPS) throw new Error(`${label}: N=${N} rows exceed one dispatch`);
}

/** values (N) = lnf (N,C) @ weight (C) + bias (1). */
export function scalarHeadForwardDispatch(
  device: GPUDevice,
  label: string,
  b: { values: BindingResource; lnf: BindingResource; weight: BindingResource; bias: BindingResource },
  N: number,
  C: number,
): Dispatch {
  checkSizes(label, N, C);
  const kernel = getKernel(device, {
    label: 'scalarhead_forward',
    code: scalarheadWgsl,
    entryPoint: 'forward',
    bindings: ['storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([N, C, 0, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [b.values, b.lnf, b.weight, b.bias, dims], label),
    workgroups: [Math.ceil(N / ROWS_PER_GROUP)],
  };
}

/**
 * Backward: dlnf (N,C) = (or += with accumulateInput) dvalues ⊗ weight;  dweight (C) += lnf^T @ dvalues;
 * dbias (1) += Σ dvalues. Two dispatches: per-chunk partial sums (which also write dlnf), then their sum.
 */
export function scalarHeadBackwardDispatches(
  device: GPUDevice,
  label: string,
  b: {
    dlnf: BindingResource;
    dweight: BindingResource;
    dbias: BindingResource;
    dvalues: BindingResource;
    lnf: BindingResource;
    weight: BindingResource;
  },
  N: number,
  C: number,
  options: { accumulateInput: boolean },
): Dispatch[] {
  checkSizes(label, N, C);
  const numChunks = Math.ceil(N / ROWS_PER_CHUNK);
  const partials = createStorageBuffer(device, `${label}.partials`, numChunks * (C + 1) * FLOAT_BYTES); // (numChunks, C+1)
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([N, C, numChunks, 0]));
  const partialsKernel = getKernel(device, {
    label: 'scalarhead_backward_partials',
    code: scalarheadWgsl,
    entryPoint: 'backward_partials',
    constants: { ACCUMULATE_INPUT: options.accumulateInput },
    bindings: ['storage', 'storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const finishKernel = getKernel(device, {
    label: 'scalarhead_backward_finish',
    code: scalarheadWgsl,
    entryPoint: 'backward_finish',
    bindings: ['storage', 'storage', 'read-only-storage', 'uniform'],
  });
  return [
    {
      kernel: partialsKernel,
      bindGroup: bindKernel(
        device,
        partialsKernel,
        [b.dlnf, partials, b.dvalues, b.lnf, b.weight, dims],
        `${label}.partials`,
      ),
      workgroups: [Math.ceil((C + 1) / COLS), numChunks],
    },
    {
      kernel: finishKernel,
      bindGroup: bindKernel(device, finishKernel, [b.dweight, b.dbias, partials, dims], `${label}.finish`),
      workgroups: [Math.ceil((C + 1) / COLS)],
    },
  ];
}

// Per-row reductions over the vocabulary on the GPU: fused softmax cross-entropy with per-token
// weights (loss and, in place, d loss / d logits), per-token log-probabilities and entropies, and
// greedy argmax — the math of reference.ts crossEntropyLoss / tokenLogprobs / tokenEntropy.
// One 256-invocation workgroup per row, or in the registers layout (cross-entropy and token
// statistics) one invocation per row with the same sums; kernels in crossentropy.wgsl.
import crossEntropyWgsl from '../kernels/crossentropy.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingResource,
  type BindingKind,
  type Dispatch,
  type KernelLayout,
} from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';

const MAX_WORKGROUPS_PER_DIMENSION = 65535;
/** Rows per workgroup of the registers entry points (one invocation per row). */
const REGISTER_ROWS = 32;

/**
 * Uniform (N, V, grid_x, temperature) and the workgroup grid: one workgroup per `rowsPerGroup` rows
 * (1 for the 256-invocation kernels), folded into y.
 */
function rowGrid(
  device: GPUDevice,
  label: string,
  N: number,
  V: number,
  temperature = 1,
  rowsPerGroup = 1,
): { dims: GPUBuffer; workgroups: [number, number] } {
  if (N < 1 || V < 1) throw new Error(`${label}: need N >= 1 and V >= 1, got N=${N} V=${V}`);
  const groups = Math.ceil(N / rowsPerGroup);
  const gridX = Math.min(groups, MAX_WORKGROUPS_PER_DIMENSION);
  const values = new Uint32Array(4);
  values.set([N, V, gridX]);
  new Float32Array(values.buffer)[3] = temperature;
  return { dims: createUniformBuffer(device, `${label}.dims`, values), workgroups: [gridX, Math.ceil(groups / gridX)] };
}

function rowDispatch(
  device: GPUDevice,
  label: string,
  entryPoint: 'cross_entropy' | 'cross_entropy_registers' | 'token_stats' | 'token_stats_registers' | 'argmax',
  bindings: BindingKind[],
  resources: BindingResource[],
  grid: { dims: GPUBuffer; workgroups: [number, number] },
  constants?: Record<string, boolean>,
): Dispatch {
  const kernel = getKernel(device, {
    label: `crossentropy_${entryPoint}`,
    code: crossEntropyWgsl,
    entryPoint,
    constants,
    bindings,
  });
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [grid.dims, ...resources], label),
    workgroups: grid.workgroups,
  };
}

/**
 * losses[n] = −log softmax(logits[n])[targets[n]] (unweighted; 0 for a target >= V, e.g. padding
 * −1). With options.writeGradient, logits (N,V) is overwritten in place with
 * dlogits[n,:] = (softmax(logits[n]) − onehot(targets[n])) · weights[n] · scale[0]; rows with weight 0
 * get exactly 0; weights may be negative. The loss of reference.ts crossEntropyLoss is
 * Σ losses[n]·weights[n]·scale[0] with scale[0] = 1 / Σ weights. `layout` (kernel.ts) picks the
 * entry point; both give bit-identical results.
 */
export function crossEntropyDispatch(
  device: GPUDevice,
  label: string,
  b: {
    losses: BindingResource;
    logits: BindingResource;
    targets: BindingResource;
    weights: BindingResource;
    scale: BindingResource;
  },
  N: number,
  V: number,
  options: { writeGradient: boolean },
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch {
  const registers = layout === 'registers';
  return rowDispatch(
    device,
    label,
    registers ? 'cross_entropy_registers' : 'cross_entropy',
    ['uniform', 'storage', 'read-only-storage', 'storage', 'read-only-storage', 'read-only-storage'],
    [b.logits, b.targets, b.losses, b.weights, b.scale],
    rowGrid(device, label, N, V, 1, registers ? REGISTER_ROWS : 1),
    { WRITE_GRADIENT: options.writeGradient },
  );
}

/**
 * Per row n of logits (N,V), with x = logits[n] / temperature: logprobs[n] = log softmax(x)[targets[n]]
 * (0 for a target >= V) and entropy[n] = −Σ p log p of p = softmax(x). Temperature defaults to 1.
 * `layout` as in crossEntropyDispatch.
 */
export function tokenStatsDispatch(
  device: GPUDevice,
  label: string,
  b: { logprobs: BindingResource; entropy: BindingResource; logits: BindingResource; targets: BindingResource },
  N: number,
  V: number,
  options: { temperature?: number } = {},
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch {
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`${label}: temperature must be > 0, got ${temperature}`);
  const registers = layout === 'registers';
  return rowDispatch(
    device,
    label,
    registers ? 'token_stats_registers' : 'token_stats',
    ['uniform', 'read-only-storage', 'read-only-storage', 'storage', 'storage'],
    [b.logits, b.targets, b.logprobs, b.entropy],
    rowGrid(device, label, N, V, temperature, registers ? REGISTER_ROWS : 1),
  );
}

/** ids[n] (u32) = index of the largest logit of row n of logits (N,V); ties go to the lowest index. */
export function argmaxDispatch(
  device: GPUDevice,
  label: string,
  b: { ids: BindingResource; logits: BindingResource },
  N: number,
  V: number,
): Dispatch {
  return rowDispatch(
    device,
    label,
    'argmax',
    ['uniform', 'read-only-storage', 'storage'],
    [b.logits, b.ids],
    rowGrid(device, label, N, V),
  );
}

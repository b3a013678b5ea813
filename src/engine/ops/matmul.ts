// The matmul kernel's TypeScript side: specialisations (layout, transposes, epilogue), dispatch
// geometry, and a CPU reference used by tests and by the GPU self-check that the app and the CLI run.
import geluWgsl from '../kernels/gelu.wgsl?raw';
import matmulWgsl from '../kernels/matmul.wgsl?raw';
import {
  bindKernel,
  getKernel,
  kernelLayoutFor,
  type BindingResource,
  type Dispatch,
  type KernelLayout,
} from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';

export interface MatmulOptions {
  /** a is stored (K,M) instead of (M,K). */
  transA?: boolean;
  /** b is stored (N,K) instead of (K,N). */
  transB?: boolean;
  /** Add into out instead of overwriting it (parameter gradients). */
  accumulate?: boolean;
}

/**
 * The operands of a product and its optional epilogue (matmul.wgsl), each fused into the store of
 * out instead of a separate elementwise pass:
 *   bias      — added to every row;
 *   residual  — added after the bias: out = residual + (a @ b + bias), a residual connection;
 *   geluInput — out = gelu'(geluInput) · (a @ b), the GELU's backward (not with residual);
 *   geluOut   — also written: geluOut = gelu(out), the MLP's activation beside its input.
 */
export interface MatmulBuffers {
  out: BindingResource; // (M,N)
  a: BindingResource; // (M,K), or (K,M) when transA
  b: BindingResource; // (K,N), or (N,K) when transB
  bias?: BindingResource; // (N)
  residual?: BindingResource; // (M,N)
  geluInput?: BindingResource; // (M,N)
  geluOut?: BindingResource; // (M,N)
}

/** Bound in the out_gelu slot of products without geluOut (the layout has the slot; never written). */
const unusedGeluOut = new WeakMap<GPUDevice, GPUBuffer>();

function unusedGeluOutBuffer(device: GPUDevice): GPUBuffer {
  let buffer = unusedGeluOut.get(device);
  if (!buffer) {
    buffer = device.createBuffer({ label: 'matmul.unused-gelu-out', size: 16, usage: GPUBufferUsage.STORAGE });
    unusedGeluOut.set(device, buffer);
  }
  return buffer;
}

const TILE = 64;
/** Outputs with at most this many rows use the skinny entry point (4 rows × 64 columns per workgroup). */
export const SKINNY_MAX_M = 16;
const SKINNY_ROWS = 4;
const SKINNY_COLUMNS = 64;
/** The registers entry point: 8 rows × 128 columns per 32-invocation workgroup. */
const REGISTER_ROWS = 8;
const REGISTER_COLUMNS = 128;

/** Entry point and grid for one product. */
function matmulShape(layout: KernelLayout, M: number, N: number): { entryPoint: string; workgroups: [number, number] } {
  if (layout === 'registers')
    return { entryPoint: 'registers', workgroups: [Math.ceil(N / REGISTER_COLUMNS), Math.ceil(M / REGISTER_ROWS)] };
  if (M <= SKINNY_MAX_M)
    return { entryPoint: 'skinny', workgroups: [Math.ceil(N / SKINNY_COLUMNS), Math.ceil(M / SKINNY_ROWS)] };
  return { entryPoint: 'main', workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE)] };
}

/**
 * A matmul dispatch out (M,N) = opA(a) @ opB(b) [+ bias] [+ out]. `layout` (kernel.ts) picks the
 * entry points: 'tiled' — 64×64 tiles staged through workgroup memory, and the skinny entry point
 * for outputs of at most SKINNY_MAX_M rows; 'registers' — each invocation keeps an 8×4 block in
 * registers, nothing staged. Both round identically.
 */
export function matmulDispatch(
  device: GPUDevice,
  label: string,
  buffers: MatmulBuffers,
  M: number,
  N: number,
  K: number,
  options: MatmulOptions = {},
  layout: KernelLayout = kernelLayoutFor(device),
): Dispatch {
  if (buffers.residual && buffers.geluInput)
    throw new Error(`${label}: a product takes a residual or a GELU input, not both`);
  const { entryPoint, workgroups } = matmulShape(layout, M, N);
  const kernel = getKernel(device, {
    label: 'matmul',
    code: geluWgsl + matmulWgsl,
    entryPoint,
    constants: {
      TRANS_A: options.transA ?? false,
      TRANS_B: options.transB ?? false,
      HAS_BIAS: buffers.bias !== undefined,
      ADD_RESIDUAL: buffers.residual !== undefined,
      GELU_GRAD: buffers.geluInput !== undefined,
      GELU_OUT: buffers.geluOut !== undefined,
      ACCUMULATE: options.accumulate ?? false,
    },
    bindings: [
      'storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'uniform',
      'read-only-storage',
      'storage',
    ],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([M, N, K, 0]));
  // The layout always has every slot; an unused read slot holds b, which the kernel never reads there.
  const bias = buffers.bias ?? buffers.b;
  const aux = buffers.residual ?? buffers.geluInput ?? buffers.b;
  const geluOut = buffers.geluOut ?? unusedGeluOutBuffer(device);
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [buffers.out, buffers.a, buffers.b, bias, dims, aux, geluOut], label),
    workgroups,
  };
}

/** CPU reference in float64 of the product with bias and accumulation; `biasValues` (N) when there is a bias. */
export function matmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  options: MatmulOptions & { biasValues?: ArrayLike<number>; initial?: ArrayLike<number> } = {},
): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const av = options.transA ? a[k * M + m] : a[m * K + k];
        const bv = options.transB ? b[n * K + k] : b[k * N + n];
        sum += av * bv;
      }
      if (options.biasValues) sum += options.biasValues[n];
      if (options.accumulate && options.initial) sum += options.initial[m * N + n];
      out[m * N + n] = sum;
    }
  }
  return out;
}

// The matmul kernel's TypeScript side: specialisations, dispatch geometry, and a CPU reference used
// by tests and by the GPU self-check that the app and the CLI run.
import matmulWgsl from '../kernels/matmul.wgsl?raw';
import { bindKernel, getKernel, kernelLayoutFor, type BindingResource, type Dispatch, type KernelLayout } from '../kernel.ts';
import { createUniformBuffer } from '../buffers.ts';

export interface MatmulOptions {
  /** a is stored (K,M) instead of (M,K). */
  transA?: boolean;
  /** b is stored (N,K) instead of (K,N). */
  transB?: boolean;
  /** Add into out instead of overwriting it (parameter gradients). */
  accumulate?: boolean;
}

/** The operands of a product; without `bias` nothing is added to the rows. */
export interface MatmulBuffers {
  out: BindingResource; // (M,N)
  a: BindingResource; // (M,K), or (K,M) when transA
  b: BindingResource; // (K,N), or (N,K) when transB
  bias?: BindingResource; // (N)
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
  if (layout === 'registers') return { entryPoint: 'registers', workgroups: [Math.ceil(N / REGISTER_COLUMNS), Math.ceil(M / REGISTER_ROWS)] };
  if (M <= SKINNY_MAX_M) return { entryPoint: 'skinny', workgroups: [Math.ceil(N / SKINNY_COLUMNS), Math.ceil(M / SKINNY_ROWS)] };
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
  const { entryPoint, workgroups } = matmulShape(layout, M, N);
  const kernel = getKernel(device, {
    label: 'matmul',
    code: matmulWgsl,
    entryPoint,
    constants: {
      TRANS_A: options.transA ?? false,
      TRANS_B: options.transB ?? false,
      HAS_BIAS: buffers.bias !== undefined,
      ACCUMULATE: options.accumulate ?? false,
    },
    bindings: ['storage', 'read-only-storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([M, N, K, 0]));
  // The layout always has the bias slot; without a bias it holds b, which the kernel never reads there.
  const bias = buffers.bias ?? buffers.b;
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [buffers.out, buffers.a, buffers.b, bias, dims], label),
    workgroups,
  };
}

/** CPU reference in float64 with the same conventions as the kernel; `biasValues` (N) when there is a bias. */
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

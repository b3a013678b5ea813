// The matmul kernel's entry points — tiled layout (main for M > SKINNY_MAX_M, skinny below) and
// registers layout — on a real WebGPU device (Dawn + SwiftShader in CI) against float64 CPU results,
// and against each other (they must agree bit for bit); and its epilogue (GELU forward and backward,
// residual add) against the float64 layer functions of reference.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import { kernelLayoutFor, type KernelLayout } from '../../../src/engine/kernel.ts';
import { matmulDispatch, SKINNY_MAX_M, type MatmulOptions } from '../../../src/engine/ops/matmul.ts';
import { runMatmulCheck, uniformValues } from '../../../src/engine/selfcheck.ts';
import { testGpu } from './gpu-device.ts';
import { geluBackward, geluForward, residualForward } from '../../../src/model/reference.ts';
import { check, download, run, upload } from './gpu-run.ts';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [64, 64, 16],
  [70, 33, 45], // ragged edges in every dimension
  [128, 96, 200],
  // M ≤ SKINNY_MAX_M: the skinny entry point (decode steps), ragged in rows, columns and K.
  [1, 1000, 128], // batch-1 LM head shape
  [1, 33, 45],
  [3, 70, 129],
  [5, 64, 512],
  [16, 130, 64],
  [17, 65, 33], // just above the threshold: tiled
];

const LAYOUTS: KernelLayout[] = ['tiled', 'registers'];

/** Runs one product with the given options on fixed inputs, the output starting at `initial`. */
async function product(
  device: GPUDevice,
  M: number,
  N: number,
  K: number,
  options: MatmulOptions,
  layout: KernelLayout,
): Promise<Float32Array> {
  const buffers = {
    out: upload(device, 'out', uniformValues(M * N, 7)),
    a: upload(device, 'a', uniformValues(M * K, 8)),
    b: upload(device, 'b', uniformValues(K * N, 9)),
    bias: upload(device, 'bias', uniformValues(N, 10)),
  };
  await run(device, [matmulDispatch(device, 'test.matmul', buffers, M, N, K, options, layout)]);
  const result = await download(device, buffers.out, M * N);
  Object.values(buffers).forEach((buffer) => buffer.destroy());
  return result;
}

describe('matmul kernel', () => {
  for (const layout of LAYOUTS) {
    for (const [M, N, K] of SHAPES) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`${layout}: M=${M} N=${N} K=${K} transA=${transA} transB=${transB} with bias`, async () => {
            const { device } = await testGpu();
            const result = await runMatmulCheck(device, M, N, K, { transA, transB, bias: true }, layout);
            console.log(
              `matmul ${layout} ${M}x${N}x${K} tA=${transA} tB=${transB}: max|Δ|=${result.maxAbsDiff.toExponential(2)} tol=${result.tolerance.toExponential(2)}`,
            );
            expect(result.maxAbsDiff).toBeLessThanOrEqual(result.tolerance);
          });
        }
      }
    }
  }

  it('accumulates into the output when asked', async () => {
    const { device } = await testGpu();
    for (const layout of LAYOUTS) {
      // The self-check's output buffer starts zeroed, so accumulate + bias must equal the plain product + bias.
      const result = await runMatmulCheck(device, 40, 24, 30, { accumulate: true, bias: true }, layout);
      expect(result.ok).toBe(true);
      const short = await runMatmulCheck(device, 6, 70, 30, { accumulate: true, bias: true }, layout);
      expect(short.ok).toBe(true);
    }
  });

  it('adds nothing when no bias buffer is given', async () => {
    const { device } = await testGpu();
    for (const layout of LAYOUTS) {
      for (const [M, N, K] of [
        [70, 33, 45],
        [5, 130, 64],
      ] as const) {
        const result = await runMatmulCheck(device, M, N, K, { transB: true }, layout);
        expect(result.maxAbsDiff).toBeLessThanOrEqual(result.tolerance);
      }
    }
  });

  it('gives bit-identical results in both layouts (same k order, same fma, then bias, then accumulation)', async () => {
    const { device } = await testGpu();
    for (const [M, N, K] of [
      [70, 33, 45],
      [5, 130, 64],
      [128, 200, 96],
    ] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const options = { transA, transB, accumulate: true };
          const tiled = await product(device, M, N, K, options, 'tiled');
          const registers = await product(device, M, N, K, options, 'registers');
          expect(Array.from(registers)).toEqual(Array.from(tiled));
        }
      }
    }
  });

  it('uses the registers layout on CPU adapters and the tiled one on GPUs', () => {
    const withInfo = (info: Partial<GPUAdapterInfo>) =>
      ({
        adapterInfo: { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false, ...info },
      }) as unknown as GPUDevice;
    expect(kernelLayoutFor(withInfo({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }))).toBe(
      'registers',
    );
    expect(
      kernelLayoutFor(withInfo({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa 22.3.6' })),
    ).toBe('registers');
    expect(kernelLayoutFor(withInfo({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }))).toBe(
      'registers',
    );
    expect(
      kernelLayoutFor(withInfo({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' })),
    ).toBe('tiled');
    expect(kernelLayoutFor({} as GPUDevice)).toBe('tiled');
  });

  it('sizes the grid for each entry point', () => {
    const { device } = gpu;
    const buffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    const buffers = { out: buffer, a: buffer, b: buffer, bias: buffer };
    expect(matmulDispatch(device, 'skinny', buffers, SKINNY_MAX_M, 130, 64, {}, 'tiled').workgroups).toEqual([3, 4]);
    expect(matmulDispatch(device, 'skinny', buffers, 1, 1024, 128, {}, 'tiled').workgroups).toEqual([16, 1]);
    expect(matmulDispatch(device, 'tiled', buffers, SKINNY_MAX_M + 1, 130, 64, {}, 'tiled').workgroups).toEqual([3, 1]);
    expect(matmulDispatch(device, 'registers', buffers, 17, 129, 64, {}, 'registers').workgroups).toEqual([2, 3]);
    buffer.destroy();
  });
});

const U = 2 ** -24; // float32 unit roundoff

// Epilogue shapes (M,N): 1 to 4096 elements, through the skinny (M ≤ 16), tiled and registers entry points.
const EPILOGUE_SHAPES: [number, number][] = [
  [1, 1],
  [7, 1],
  [40, 25],
  [17, 59],
  [64, 64],
];
// Arguments where tanh(u) saturates or a naive exp-based tanh overflows; x³ overflows float32 at ±1e13.
const EXTREMES = [0, 1e-8, -1e-8, 5, -5, 9, -9, 12, -12, 50, -50, 1e4, -1e4, 1e13, -1e13, 3e38, -3e38];

function geluInputs(n: number, seed: number): Float32Array {
  const x = uniformValues(n, seed).map((v) => 6 * v);
  x.set(EXTREMES.slice(0, n));
  return x;
}

/** The (N,N) identity: x @ I = x exactly (one fma by 1, the others add ±0), so the epilogue sees x. */
function identity(N: number): Float32Array {
  const eye = new Float32Array(N * N);
  for (let i = 0; i < N; i++) eye[i * N + i] = 1;
  return eye;
}

describe('matmul epilogue', () => {
  for (const layout of LAYOUTS) {
    for (const [M, N] of EPILOGUE_SHAPES) {
      const n = M * N;
      it(`${layout}: GELU forward and backward, M=${M} N=${N}`, async () => {
        const { device } = gpu;
        const x = geluInputs(n, n);
        const dy = uniformValues(n, n + 1);
        const eye = upload(device, 'identity', identity(N));
        const fch = upload(device, 'fch', new Float32Array(n));
        const out = upload(device, 'out', new Float32Array(n));
        const dinp = upload(device, 'dinp', uniformValues(n, 99)); // overwritten, not accumulated
        const inp = upload(device, 'inp', x);
        const dout = upload(device, 'dout', dy);
        await run(device, [
          matmulDispatch(device, 'gelu.forward', { out: fch, a: inp, b: eye, geluOut: out }, M, N, N, {}, layout),
          matmulDispatch(device, 'gelu.backward', { out: dinp, a: dout, b: eye, geluInput: inp }, M, N, N, {}, layout),
        ]);
        expect(Array.from(await download(device, fch, n))).toEqual(Array.from(x)); // the GELU's input is kept
        const expectedOut = new Float64Array(n);
        geluForward(expectedOut, Float64Array.from(x), n);
        const expectedDinp = new Float64Array(n);
        geluBackward(expectedDinp, Float64Array.from(x), Float64Array.from(dy), n);
        const gotOut = await download(device, out, n);
        const gotDinp = await download(device, dinp, n);
        // Beyond |x| = 9, tanh(u) is ±1 in float32 and float64 alike: gelu is x or 0 and gelu' is 1 or 0, exactly.
        const saturated = [...x.keys()].filter((i) => Math.abs(x[i]) >= 9);
        const pick = (values: ArrayLike<number>) => saturated.map((i) => values[i]);
        check(`gelu forward n=${n}, ${saturated.length} with |x| ≥ 9`, pick(gotOut), pick(expectedOut), 0);
        check(`gelu backward n=${n}, ${saturated.length} with |x| ≥ 9`, pick(gotDinp), pick(expectedDinp), 0);
        // Elsewhere the error is dominated by tanh's (a few ulp of 1, absolute): the forward multiplies it
        // by 0.5·|x|, the backward's 1 − tanh² by 0.5·|x|·du/dx, then by |dout|. 16·u per unit of those
        // factors leaves room for a tanh several ulp worse than SwiftShader's.
        const dudx = (v: number) => Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * v * v);
        check(
          `gelu forward n=${n}`,
          gotOut,
          expectedOut,
          Array.from(x, (v) => 16 * U * (1 + Math.abs(v))),
        );
        check(
          `gelu backward n=${n}`,
          gotDinp,
          expectedDinp,
          Array.from(x, (v, i) => 16 * U * (1 + Math.abs(v) * dudx(v)) * Math.abs(dy[i])),
        );
        for (const buffer of [eye, fch, out, dinp, inp, dout]) buffer.destroy();
      });

      it(`${layout}: residual add, M=${M} N=${N}`, async () => {
        const { device } = gpu;
        const a = uniformValues(n, 2 * n);
        const b = uniformValues(n, 2 * n + 1);
        const eye = upload(device, 'identity', identity(N));
        const out = upload(device, 'out', new Float32Array(n));
        const inp1 = upload(device, 'inp1', a);
        const inp2 = upload(device, 'inp2', b);
        await run(device, [
          matmulDispatch(device, 'residual', { out, a: inp2, b: eye, residual: inp1 }, M, N, N, {}, layout),
        ]);
        const expected = new Float64Array(n);
        residualForward(expected, Float64Array.from(a), Float64Array.from(b), n);
        // One correctly rounded float32 add of values in [-2, 2): error ≤ half an ulp of 2, i.e. 2^-23.
        check(`residual n=${n}`, await download(device, out, n), expected, 2 ** -23);
        for (const buffer of [eye, out, inp1, inp2]) buffer.destroy();
      });
    }
  }

  it('rejects a residual and a GELU input together (they share a binding)', () => {
    const { device } = gpu;
    const buffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    expect(() =>
      matmulDispatch(
        device,
        'both',
        { out: buffer, a: buffer, b: buffer, residual: buffer, geluInput: buffer },
        4,
        4,
        4,
      ),
    ).toThrow(/not both/);
    buffer.destroy();
  });
});

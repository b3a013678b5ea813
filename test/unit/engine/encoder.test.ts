// The embedding kernels (token + position embeddings, forward and backward) and the token CSR on a
// real WebGPU device against the float64 layer functions of reference.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/engine/gpu.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';
import { bucketTokens, encoderBackwardDispatches, encoderForwardDispatch } from '../../../src/engine/ops/encoder.ts';
import { uniformValues } from '../../../src/engine/selfcheck.ts';
import { encoderBackward, encoderForward } from '../../../src/model/reference.ts';
import { check, download, run, upload } from './gpu-run.ts';
import { testGpu } from './gpu-device.ts';

const U = 2 ** -24; // float32 unit roundoff

let gpu: Gpu;
const errors: string[] = [];
beforeAll(async () => {
  gpu = await testGpu();
  gpu.onError((error) => errors.push(error.message));
});
afterAll(() => expect(errors).toEqual([]));

/** Token ids with a skewed distribution: about a third of the positions hold token 0 (long CSR rows). */
function skewedTokens(count: number, V: number, seed: number): Int32Array {
  return Int32Array.from(uniformValues(count, seed), (u) => (u < -0.33 ? 0 : Math.floor(((u + 1) / 2) * V) % V));
}

interface Shape {
  B: number;
  T: number;
  C: number;
  V: number;
  nCtx: number;
  /** Every position holds the same token (one CSR row of B·T entries). */
  oneToken?: boolean;
}

const SHAPES: Shape[] = [
  { B: 1, T: 1, C: 1, V: 1, nCtx: 1 },
  { B: 2, T: 5, C: 7, V: 11, nCtx: 8 }, // ragged C: scalar forward
  { B: 3, T: 16, C: 64, V: 50, nCtx: 32 },
  { B: 4, T: 33, C: 100, V: 300, nCtx: 40 },
  { B: 16, T: 256, C: 256, V: 1000, nCtx: 256 }, // B·T = 4096
  // B·T < V: the dwte grid has one slot per batch position, owned by each token's first entry.
  { B: 2, T: 8, C: 40, V: 5000, nCtx: 8 },
  { B: 3, T: 7, C: 32, V: 64, nCtx: 7, oneToken: true },
];

describe('bucketTokens', () => {
  it('lists the positions of every token in increasing order', () => {
    const tokens = [3, 0, 3, 1, 3, 0];
    const { offsets, positions } = bucketTokens(tokens, 5);
    expect(Array.from(offsets)).toEqual([0, 2, 3, 3, 6, 6]);
    expect(Array.from(positions)).toEqual([1, 5, 3, 0, 2, 4]);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => bucketTokens([0, 5], 5)).toThrow(/outside the vocabulary/);
    expect(() => bucketTokens([-1], 5)).toThrow(/outside the vocabulary/);
  });
});

describe('encoder', () => {
  it('sizes the dwte grid by the batch, min(V, B·T) rows of workgroups', () => {
    const { device } = gpu;
    const buffer = upload(device, 'any', new Float32Array(64));
    const b = { dwte: buffer, dwpe: buffer, dout: buffer, offsets: buffer, positions: buffer };
    expect(encoderBackwardDispatches(device, 'grid', b, 2, 16, 128, 1024, 'tiled')[0].workgroups).toEqual([4, 32]);
    expect(encoderBackwardDispatches(device, 'grid', b, 16, 256, 128, 1024, 'tiled')[0].workgroups).toEqual([4, 1024]);
    expect(encoderBackwardDispatches(device, 'grid', b, 2, 16, 128, 1024, 'registers')[0].workgroups).toEqual([2, 32]);
  });

  for (const { B, T, C, V, nCtx, oneToken } of SHAPES) {
    it(`forward and backward B=${B} T=${T} C=${C} V=${V}${oneToken ? ' (one token)' : ''}`, async () => {
      const { device } = gpu;
      const tokens = oneToken ? new Int32Array(B * T).fill(V - 1) : skewedTokens(B * T, V, B * T + C);
      const wte = uniformValues(V * C, 1);
      const wpe = uniformValues(nCtx * C, 2);
      const dy = uniformValues(B * T * C, 3);
      const dwteInitial = uniformValues(V * C, 4);
      const dwpeInitial = uniformValues(nCtx * C, 5);
      const { offsets, positions } = bucketTokens(tokens, V);

      const out = upload(device, 'out', new Float32Array(B * T * C));
      const dwte = upload(device, 'dwte', dwteInitial);
      const dwpe = upload(device, 'dwpe', dwpeInitial);
      await run(device, [
        encoderForwardDispatch(
          device,
          'encoder.forward',
          {
            out,
            tokens: upload(device, 'tokens', tokens, 'u32'),
            wte: upload(device, 'wte', wte),
            wpe: upload(device, 'wpe', wpe),
          },
          B,
          T,
          C,
        ),
        ...encoderBackwardDispatches(
          device,
          'encoder.backward',
          {
            dwte,
            dwpe,
            dout: upload(device, 'dout', dy),
            offsets: upload(device, 'offsets', offsets, 'u32'),
            positions: upload(device, 'positions', positions, 'u32'),
          },
          B,
          T,
          C,
          V,
        ),
      ]);

      const expectedOut = new Float64Array(B * T * C);
      encoderForward(expectedOut, tokens, Float64Array.from(wte), Float64Array.from(wpe), B, T, C);
      const expectedDwte = Float64Array.from(dwteInitial);
      const expectedDwpe = Float64Array.from(dwpeInitial);
      encoderBackward(expectedDwte, expectedDwpe, Float64Array.from(dy), tokens, B, T, C);
      // Σ|terms| per gradient element: the same backward on absolute values.
      const absDwte = Float64Array.from(dwteInitial, Math.abs);
      const absDwpe = Float64Array.from(dwpeInitial, Math.abs);
      encoderBackward(absDwte, absDwpe, Float64Array.from(dy, Math.abs), tokens, B, T, C);

      // One correctly rounded float32 add of values in [-1, 1): error ≤ half an ulp of 2, i.e. 2^-23.
      check(`encoder forward ${B}x${T}x${C}`, await download(device, out, B * T * C), expectedOut, 2 ** -23);
      // Float32 summation: |error| ≤ d·u·Σ|terms|, d the most additions on one term's path: the kernel's
      // 8 lanes each add ≤ ceil(count/8) rows, then the 8 lane sums and the initial value are added.
      const maxCount = Math.max(...Array.from({ length: V }, (_, v) => offsets[v + 1] - offsets[v]));
      const depth = (rows: number) => Math.ceil(rows / 8) + 9;
      check(
        `encoder backward dwte ${B}x${T}x${C} (≤ ${maxCount} rows per token)`,
        await download(device, dwte, V * C),
        expectedDwte,
        absDwte.map((s) => depth(maxCount) * U * s),
      );
      check(
        `encoder backward dwpe ${B}x${T}x${C}`,
        await download(device, dwpe, nCtx * C),
        expectedDwpe,
        absDwpe.map((s) => depth(B) * U * s),
      );
    });
  }
});

describe('encoder backward layouts', () => {
  it('dwte and dwpe: bit-identical in the tiled and registers layouts (same lane sums, same order)', async () => {
    const { device } = gpu;
    for (const { B, T, C, V, nCtx, oneToken } of SHAPES) {
      const tokens = oneToken ? new Int32Array(B * T).fill(V - 1) : skewedTokens(B * T, V, B * T + C);
      const dy = uniformValues(B * T * C, 3);
      const dwteInitial = uniformValues(V * C, 4);
      const dwpeInitial = uniformValues(nCtx * C, 5);
      const { offsets, positions } = bucketTokens(tokens, V);
      const backward = async (layout: KernelLayout) => {
        const dwte = upload(device, 'dwte', dwteInitial);
        const dwpe = upload(device, 'dwpe', dwpeInitial);
        await run(
          device,
          encoderBackwardDispatches(
            device,
            `encoder.backward.${layout}`,
            {
              dwte,
              dwpe,
              dout: upload(device, 'dout', dy),
              offsets: upload(device, 'offsets', offsets, 'u32'),
              positions: upload(device, 'positions', positions, 'u32'),
            },
            B,
            T,
            C,
            V,
            layout,
          ),
        );
        return { dwte: await download(device, dwte, V * C), dwpe: await download(device, dwpe, nCtx * C) };
      };
      expect(await backward('registers'), `B=${B} T=${T} C=${C} V=${V}`).toEqual(await backward('tiled'));
    }
  });
});

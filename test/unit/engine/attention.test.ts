// The attention kernels in both layouts (tiled and registers entry points of attention.wgsl), on a
// real WebGPU device (Dawn + SwiftShader in CI) against the float64 twin reference.ts
// attentionForward / attentionBackward, on random inputs over several shapes.
import { describe, expect, it } from 'vitest';
import { createStorageBuffer, createStorageBufferFrom } from '../../../src/engine/buffers.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';
import { attentionBackwardDispatches, attentionForwardDispatches } from '../../../src/engine/ops/attention.ts';
import { uniformValues } from '../../../src/engine/selfcheck.ts';
import { attentionBackward, attentionForward } from '../../../src/model/reference.ts';
import { download, maxAbsDiff, run, upload } from './gpu-run.ts';
import { testGpu } from './gpu-device.ts';

// [B, T, C, NH]: T=1, ragged T (not a multiple of the 16-position tiles), head sizes 8, 16, 18
// (not a multiple of 4), 24 (not a power of two), 32 and 64, and the longest context (T=256: all
// 16 key tiles).
const SHAPES: [number, number, number, number][] = [
  [1, 1, 16, 1],
  [2, 5, 32, 2],
  [1, 20, 16, 2],
  [2, 9, 36, 2],
  [1, 17, 48, 2],
  [2, 33, 128, 4],
  [3, 16, 64, 1],
  [1, 70, 96, 3],
  [1, 256, 64, 1],
];

const U = 2 ** -24; // float32 unit roundoff

/**
 * Tolerance for a float32 result against float64. Each output comes from a chain of reductions, each
 * with error ≲ length·u·magnitude (Higham), plus a few ulp from exp: preatt from one dot of length
 * HS; att, out and dqkv from chains of dots of length HS and softmax / weighted / row sums of
 * length T. So |Δ| ≤ 4·length·u·(1 + max|ref|) with length = HS for preatt and HS + T otherwise;
 * the factor 4 covers the chained reductions and exp's rounding. A wrong index or mask gives
 * errors ~0.01–1.
 */
function tolerance(reference: Float64Array, length: number): number {
  let max = 0;
  for (const value of reference) max = Math.max(max, Math.abs(value));
  return 4 * length * U * (1 + max);
}

/** A buffer full of NaN, so an element the kernel fails to write shows up in the comparison. */
function garbage(device: GPUDevice, label: string, count: number): GPUBuffer {
  return createStorageBufferFrom(device, label, new Float32Array(count).fill(Number.NaN));
}

function scaled(values: Float32Array, factor: number): Float32Array {
  return values.map((value) => value * factor);
}

const LAYOUTS: KernelLayout[] = ['tiled', 'registers'];
const CASES = LAYOUTS.flatMap((layout) => SHAPES.map((shape) => [layout, ...shape] as const));

describe('attention kernels', () => {
  for (const [layout, B, T, C, NH] of CASES) {
    const HS = C / NH;
    const tag = `${layout} B=${B} T=${T} C=${C} NH=${NH}`;

    it(`forward ${tag}`, async () => {
      const { device } = await testGpu();
      // q and k scaled up so the softmax is far from uniform (scores of a few units)
      const qkv = scaled(uniformValues(B * T * 3 * C, 11 + T), 2);
      const out = createStorageBuffer(device, 'out', B * T * C * 4);
      const preatt = garbage(device, 'preatt', B * NH * T * T);
      const att = garbage(device, 'att', B * NH * T * T);
      await run(
        device,
        attentionForwardDispatches(
          device,
          'attn',
          { out, preatt, att, qkv: upload(device, 'qkv', qkv) },
          B,
          T,
          C,
          NH,
          layout,
        ),
      );

      const ref = {
        out: new Float64Array(B * T * C),
        preatt: new Float64Array(B * NH * T * T),
        att: new Float64Array(B * NH * T * T),
      };
      attentionForward(ref.out, ref.preatt, ref.att, Float64Array.from(qkv), B, T, C, NH);
      for (const [name, buffer] of [
        ['preatt', preatt],
        ['att', att],
        ['out', out],
      ] as const) {
        const got = await download(device, buffer, ref[name].length);
        const diff = maxAbsDiff(got, ref[name]);
        const tol = tolerance(ref[name], name === 'preatt' ? HS : HS + T);
        console.log(`attention forward ${tag} ${name}: max|Δ|=${diff.toExponential(2)} tol=${tol.toExponential(2)}`);
        expect(diff).toBeLessThanOrEqual(tol);
      }
    });

    it(`backward ${tag}`, async () => {
      const { device } = await testGpu();
      const qkv = scaled(uniformValues(B * T * 3 * C, 21 + T), 2);
      const dout = uniformValues(B * T * C, 31 + T);
      // att from the float64 forward (rounded to float32), so the backward is checked on its own
      const ref = {
        out: new Float64Array(B * T * C),
        preatt: new Float64Array(B * NH * T * T),
        att: new Float64Array(B * NH * T * T),
      };
      attentionForward(ref.out, ref.preatt, ref.att, Float64Array.from(qkv), B, T, C, NH);
      const att = Float32Array.from(ref.att);

      const dqkv = garbage(device, 'dqkv', B * T * 3 * C);
      const buffers = {
        dqkv,
        dpreatt: garbage(device, 'dpreatt', B * NH * T * T),
        datt: garbage(device, 'datt', B * NH * T * T),
        dout: upload(device, 'dout', dout),
        qkv: upload(device, 'qkv', qkv),
        att: upload(device, 'att', att),
      };
      await run(device, attentionBackwardDispatches(device, 'attn.bwd', buffers, B, T, C, NH, layout));

      const expected = new Float64Array(B * T * 3 * C);
      attentionBackward(expected, Float64Array.from(dout), Float64Array.from(qkv), Float64Array.from(att), B, T, C, NH);
      const got = await download(device, dqkv, expected.length);
      const diff = maxAbsDiff(got, expected);
      const tol = tolerance(expected, HS + T);
      console.log(`attention backward ${tag} dqkv: max|Δ|=${diff.toExponential(2)} tol=${tol.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(tol);
    });
  }

  it('rejects shapes outside the kernel limits', async () => {
    const { device } = await testGpu();
    const buffer = createStorageBuffer(device, 'x', 16);
    const b = { out: buffer, preatt: buffer, att: buffer, qkv: buffer };
    expect(() => attentionForwardDispatches(device, 'attn', b, 1, 257, 64, 1)).toThrow(/T=257/);
    expect(() => attentionForwardDispatches(device, 'attn', b, 1, 8, 128, 1)).toThrow(/head size 128/);
    expect(() => attentionForwardDispatches(device, 'attn', b, 1, 8, 30, 4)).toThrow(/multiple/);
  });
});

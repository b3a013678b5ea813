// The AdamW kernels (norm partials, norm, update) on a Dawn device against reference.ts adamwStep in
// float64, step by step: before each step the reference starts from the GPU's float32 state; and the
// two kernel layouts' reductions against each other (bit for bit).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adamwDispatches,
  createAdamwHyperBuffer,
  decayMaskFor,
  writeAdamwHyper,
  type AdamwHyperparams,
} from '../../../src/engine/ops/adamw.ts';
import { createStorageBuffer } from '../../../src/engine/buffers.ts';
import { initParameters, makeConfig, parameterLayout, type ParameterLayout } from '../../../src/model/config.ts';
import { Rng } from '../../../src/model/random.ts';
import { adamwStep } from '../../../src/model/reference.ts';
import { testGpu } from './gpu-device.ts';
import type { GpuError } from '../../../src/engine/gpu.ts';
import type { KernelLayout } from '../../../src/engine/kernel.ts';
import { download, maxAbsDiff, run, upload } from './gpu-run.ts';

/** Random values in [-scale, scale) on the layout's tensors, 0 in the padding between them. */
function randomOnTensors(layout: ParameterLayout, seed: number, scale: number): Float32Array<ArrayBuffer> {
  const rng = new Rng(seed);
  const out = new Float32Array(layout.totalFloats);
  for (const t of layout.tensors)
    for (let i = t.offset; i < t.offset + t.size; i++) out[i] = scale * (2 * rng.uniform() - 1);
  return out;
}

/** A hand-made layout: 1-D and 2/3-D tensors, sizes that end mid-block, one tensor of exactly 64. */
function raggedLayout(): ParameterLayout {
  const shapes = [[3], [5, 7], [64], [2, 2, 2], [130, 3], [1]];
  let offset = 0;
  const tensors = shapes.map((shape, i) => {
    const size = shape.reduce((p, n) => p * n, 1);
    const tensor = { name: `t${i}`, shape, offset, size };
    offset = Math.ceil((offset + size) / 64) * 64;
    return tensor;
  });
  return { tensors, totalFloats: offset };
}

async function checkSteps(
  layout: ParameterLayout,
  initial: Float32Array,
  steps: AdamwHyperparams[],
  seed: number,
): Promise<void> {
  const { device } = await testGpu();
  const n = layout.totalFloats;
  const params = upload(device, 'params', initial);
  const grads = createStorageBuffer(device, 'grads', n * 4);
  const m = upload(device, 'm', new Float32Array(n));
  const v = upload(device, 'v', new Float32Array(n));
  const gradNorm = createStorageBuffer(device, 'gradNorm', 4);
  const hyper = createAdamwHyperBuffer(device, 'hyper');
  const decayMask = upload(device, 'decayMask', decayMaskFor(layout), 'u32');
  const dispatches = adamwDispatches(device, 'adamw', { params, grads, m, v, decayMask, hyper, gradNorm }, n);
  for (const [index, hp] of steps.entries()) {
    const step = index + 1;
    const g = randomOnTensors(layout, seed + step, 0.5);
    device.queue.writeBuffer(grads, 0, g);
    // the reference starts from the GPU's current float32 state
    const refParams = Float64Array.from(await download(device, params, n));
    const refM = Float64Array.from(await download(device, m, n));
    const refV = Float64Array.from(await download(device, v, n));
    const refNorm = adamwStep(layout, refParams, Float64Array.from(g), refM, refV, step, hp);
    writeAdamwHyper(device.queue, hyper, hp, step);
    await run(device, dispatches);
    const [gpuParams, gpuM, gpuV, gpuNorm] = await Promise.all([
      download(device, params, n),
      download(device, m, n),
      download(device, v, n),
      download(device, gradNorm, 1),
    ]);
    // Tolerances. The norm sums n positive squares: each invocation of the ≤ 64 partial workgroups adds
    // ceil(n/65536) vec4 dots (≤ 13 for the small layout, 3 adds each within a dot), then two 8-level
    // trees and a 1-step strided loop: depth < 40, so its relative error is < 40·2^-24 ≈ 2.4e-6;
    // 1e-5 leaves 4× margin. m and v are a few float32 operations on values of their own size
    // (relative ~4 ulp ≈ 2.4e-7; 1e-6 of the largest). Each param moves by lr·(m̂/(√v̂+eps) + decay·p);
    // the Adam ratio carries the norm's relative error and a few ulp (|ratio| ≤ (1−β1)/√(1−β2)·√bc2/bc1),
    // so |Δparam| ≤ ulp-level of |p| + lr·1e-5·max(1,|ratio|).
    const ratioBound =
      ((1 - hp.beta1) / Math.sqrt(1 - hp.beta2)) * (Math.sqrt(1 - hp.beta2 ** step) / (1 - hp.beta1 ** step)) + 1;
    const maxParam = refParams.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    const tolParams = 4 * 2 ** -24 * maxParam + hp.lr * 1e-5 * ratioBound;
    const tolM = 1e-6 * refM.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    const tolV = 1e-6 * refV.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    const dParams = maxAbsDiff(gpuParams, refParams);
    const dM = maxAbsDiff(gpuM, refM);
    const dV = maxAbsDiff(gpuV, refV);
    const dNorm = Math.abs(gpuNorm[0] - refNorm) / refNorm;
    console.log(
      `adamw n=${n} step=${step} clip=${hp.gradClip}: norm=${refNorm.toFixed(4)} rel|Δnorm|=${dNorm.toExponential(2)} ` +
        `max|Δparams|=${dParams.toExponential(2)} (tol ${tolParams.toExponential(2)}) max|Δm|=${dM.toExponential(2)} max|Δv|=${dV.toExponential(2)}`,
    );
    expect(dNorm).toBeLessThanOrEqual(1e-5);
    expect(dParams).toBeLessThanOrEqual(tolParams);
    expect(dM).toBeLessThanOrEqual(tolM);
    expect(dV).toBeLessThanOrEqual(tolV);
  }
  for (const buffer of [params, grads, m, v, gradNorm, hyper, decayMask]) buffer.destroy();
}

const BASE: AdamwHyperparams = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 };

// Any device error (shader compilation, validation) fails the test that caused it.
const deviceErrors: GpuError[] = [];
beforeAll(async () => {
  (await testGpu()).onError((error) => deviceErrors.push(error));
});
afterEach(() => {
  expect(deviceErrors.splice(0)).toEqual([]);
});

describe('adamw kernels', () => {
  it('match adamwStep on the micro GPT layout over three steps (clipped, unclipped, clip off)', async () => {
    const layout = parameterLayout(makeConfig('micro', 37));
    const steps: AdamwHyperparams[] = [
      BASE, // ‖g‖ ≈ 50 ≫ 1: clipped
      { ...BASE, gradClip: Infinity, lr: 3e-3 },
      { ...BASE, gradClip: 1e6, weightDecay: 0.5, beta2: 0.999 },
    ];
    await checkSteps(layout, initParameters(makeConfig('micro', 37), 7), steps, 100);
  });

  it('match adamwStep on a ragged layout smaller than one norm chunk', async () => {
    const layout = raggedLayout();
    await checkSteps(layout, randomOnTensors(layout, 3, 1), [BASE, { ...BASE, lr: 1e-2, weightDecay: 1 }], 200);
  });

  it('match adamwStep on a layout spanning many norm chunks', async () => {
    const layout = parameterLayout(makeConfig('small', 101));
    await checkSteps(layout, initParameters(makeConfig('small', 101), 5), [{ ...BASE, gradClip: 5 }], 300);
  });

  it('give bit-identical steps in the tiled and registers layouts (the same reduction trees)', async () => {
    const { device } = await testGpu();
    for (const layout of [raggedLayout(), parameterLayout(makeConfig('small', 101))]) {
      const n = layout.totalFloats;
      const grads = upload(device, 'grads', randomOnTensors(layout, 11, 0.5));
      const decayMask = upload(device, 'decayMask', decayMaskFor(layout), 'u32');
      const steps = async (kernelLayout: KernelLayout) => {
        const params = upload(device, 'params', randomOnTensors(layout, 12, 1));
        const m = upload(device, 'm', new Float32Array(n));
        const v = upload(device, 'v', new Float32Array(n));
        const gradNorm = createStorageBuffer(device, 'gradNorm', 4);
        const hyper = createAdamwHyperBuffer(device, 'hyper');
        const dispatches = adamwDispatches(
          device,
          `adamw.${kernelLayout}`,
          { params, grads, m, v, decayMask, hyper, gradNorm },
          n,
          kernelLayout,
        );
        for (const step of [1, 2]) {
          writeAdamwHyper(device.queue, hyper, BASE, step);
          await run(device, dispatches);
        }
        const result = [
          ...(await download(device, params, n)),
          ...(await download(device, m, n)),
          ...(await download(device, v, n)),
          ...(await download(device, gradNorm, 1)),
        ];
        for (const buffer of [params, m, v, gradNorm, hyper]) buffer.destroy();
        return result;
      };
      expect(await steps('registers')).toEqual(await steps('tiled'));
      grads.destroy();
      decayMask.destroy();
    }
  });

  it('decayMaskFor marks exactly the blocks of tensors with 2+ dimensions', () => {
    const layout = raggedLayout();
    const mask = decayMaskFor(layout);
    expect(mask.length).toBe(layout.totalFloats / 64);
    for (let block = 0; block < mask.length; block++) {
      const owner = layout.tensors.find((t) => block * 64 >= t.offset && block * 64 < t.offset + t.size);
      expect(mask[block]).toBe(owner !== undefined && owner.shape.length >= 2 ? 1 : 0);
    }
  });

  it('writeAdamwHyper rejects a step that does not count from 1', async () => {
    const { device } = await testGpu();
    const hyper = createAdamwHyperBuffer(device, 'hyper');
    expect(() => writeAdamwHyper(device.queue, hyper, BASE, 0)).toThrow(/counts from 1/);
    hyper.destroy();
  });
});

// Where the lab's time goes: every dispatch of a GptModel training step, or of one GptSampler decode
// step, is submitted and waited for on its own (minus the cost of an empty submit), and the times
// are summed by kernel (the dispatch label with its layer index removed). Works on any device: the
// benchmark page or Dawn in Node. The dispatch lists are private to GptModel and GptSampler; this
// diagnostic reads them.
import { recordDispatches, type Dispatch } from '../../src/engine/kernel.ts';
import type { GptConfig } from '../../src/model/config.ts';
import { GptModel } from '../../src/model/gpt.ts';
import { GptSampler } from '../../src/model/sampler.ts';
import type { TokenBatch } from './lab-contenders.ts';

export interface DispatchProfile {
  /** Dispatch label without layer index, e.g. "h*.fc.backward". */
  kernel: string;
  dispatches: number;
  workgroups: number;
  milliseconds: number;
}

export interface StepProfile {
  dispatches: number;
  /** Sum over dispatches, each timed alone. */
  milliseconds: number;
  /** One empty submit + wait, subtracted from every dispatch. */
  submitMilliseconds: number;
  kernels: DispatchProfile[];
}

type StepPasses = Record<'forwardPass' | 'lossPass' | 'backwardPass' | 'optimizerPass', Dispatch[]>;

async function submitAndWait(device: GPUDevice, dispatches: Dispatch[]): Promise<number> {
  const started = performance.now();
  const encoder = device.createCommandEncoder({ label: 'bench.profile' });
  if (dispatches.length > 0) recordDispatches(encoder, dispatches, 'bench.profile');
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - started;
}

function kernelName(dispatch: Dispatch): string {
  const label = dispatch.bindGroup.label.replace(/\.bind-group$/, '').replace(/^bench\.profile\./, '');
  return label.replace(/(^|\.)h\d+\./, '$1h*.');
}

async function profileDispatches(device: GPUDevice, dispatches: Dispatch[], repeats: number): Promise<StepProfile> {
  let submitMilliseconds = Infinity;
  for (let i = 0; i < 5; i++) submitMilliseconds = Math.min(submitMilliseconds, await submitAndWait(device, []));
  const byKernel = new Map<string, DispatchProfile>();
  for (const dispatch of dispatches) {
    let best = Infinity;
    for (let i = 0; i < repeats; i++) best = Math.min(best, await submitAndWait(device, [dispatch]));
    const kernel = kernelName(dispatch);
    const entry = byKernel.get(kernel) ?? { kernel, dispatches: 0, workgroups: 0, milliseconds: 0 };
    entry.dispatches += 1;
    entry.workgroups += dispatch.workgroups[0] * (dispatch.workgroups[1] ?? 1) * (dispatch.workgroups[2] ?? 1);
    entry.milliseconds += Math.max(0, best - submitMilliseconds);
    byKernel.set(kernel, entry);
  }
  const kernels = [...byKernel.values()].sort((a, b) => b.milliseconds - a.milliseconds);
  return {
    dispatches: dispatches.length,
    milliseconds: kernels.reduce((sum, k) => sum + k.milliseconds, 0),
    submitMilliseconds,
    kernels,
  };
}

/** Times each dispatch of one training step (fastest of `repeats` timings per dispatch). */
export async function profileTrainingStep(
  device: GPUDevice,
  config: GptConfig,
  params: Float32Array,
  batch: TokenBatch,
  B: number,
  T: number,
  repeats = 2,
): Promise<StepProfile> {
  const model = new GptModel(device, config, 'lm', B, T, 'bench.profile');
  try {
    model.writeParams(params);
    model.setBatch(batch);
    await model.step({ optimizer: { lr: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, gradClip: 1 } }); // compiles every pipeline
    const passes = model as unknown as StepPasses;
    return await profileDispatches(
      device,
      [...passes.forwardPass, ...passes.lossPass, ...passes.backwardPass, ...passes.optimizerPass],
      repeats,
    );
  } finally {
    model.destroy();
  }
}

type SamplerInternals = {
  stepPass: Dispatch[];
  commitPass: Dispatch;
  sampleStep(step: number): { dispatch: Dispatch };
};

/** Times each dispatch of one decode step of B sequences (after a short generation has compiled the pipelines). */
export async function profileDecodeStep(
  device: GPUDevice,
  config: GptConfig,
  params: GPUBuffer,
  B: number,
  maxT: number,
  repeats = 2,
): Promise<StepProfile> {
  const sampler = new GptSampler(device, config, params, 'lm', B, maxT, config.vocabSize - 1, 'bench.profile');
  try {
    await sampler.generate([[1, 2]], { maxNewTokens: 1, temperature: 1, topK: 40, topP: 1, seed: 1 });
    const internals = sampler as unknown as SamplerInternals;
    return await profileDispatches(
      device,
      [...internals.stepPass, internals.sampleStep(0).dispatch, internals.commitPass],
      repeats,
    );
  } finally {
    sampler.destroy();
  }
}

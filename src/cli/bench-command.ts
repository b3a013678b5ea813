// `rlhf-lab bench [--presets micro,small] [--batch B] [--seq T] [--steps N] [--json]`: prints
// (never judges) the engine's speed on whatever adapter Dawn gives: training tokens/s (forward,
// backward, AdamW) and KV-cache sampling tokens/s per preset, and matmul GFLOP/s for a few shapes.
// Each figure is the median of repeated runs, with the spread (min–max).
import { createStorageBuffer, createStorageBufferFrom } from '../engine/buffers.ts';
import { recordDispatches } from '../engine/kernel.ts';
import { matmulDispatch } from '../engine/matmul.ts';
import { uniformValues } from '../engine/selfcheck.ts';
import { initParameters, makeConfig, PRESETS, type PresetName } from '../model/config.ts';
import { GptModel, DEFAULT_ADAMW } from '../model/gpt.ts';
import { GptSampler, DEFAULT_SAMPLING } from '../model/sampler.ts';
import { numberOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
}

async function timeRuns(repeats: number, run: () => Promise<void>): Promise<number[]> {
  await run(); // warm-up: pipeline compilation, first allocation
  const seconds: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await run();
    seconds.push((performance.now() - started) / 1000);
  }
  return seconds;
}

async function benchTraining(device: GPUDevice, preset: PresetName, B: number, T: number, steps: number, repeats: number): Promise<Spread> {
  const config = makeConfig(preset, 1024);
  const seq = Math.min(T, config.nCtx);
  const model = new GptModel(device, config, 'lm', B, seq, `bench-${preset}`);
  model.writeParams(initParameters(config, 1));
  const ids = Array.from({ length: B * seq }, (_, i) => (i * 7919) % config.vocabSize);
  model.setBatch({ tokens: ids, targets: ids.map((id) => (id + 1) % config.vocabSize) });
  const seconds = await timeRuns(repeats, async () => {
    let last: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < steps; i++) last = model.step({ optimizer: DEFAULT_ADAMW });
    await last;
  });
  model.destroy();
  return spread(seconds.map((s) => (steps * B * seq) / s));
}

async function benchSampling(device: GPUDevice, preset: PresetName, B: number, newTokens: number, repeats: number): Promise<Spread> {
  const config = makeConfig(preset, 1024);
  const params = createStorageBufferFrom(device, 'bench.params', initParameters(config, 2));
  const maxT = Math.min(config.nCtx, 8 + newTokens);
  // Decoding runs every step for every row whether or not a row has ended, so EOS does not change the work.
  const sampler = new GptSampler(device, config, params, 'lm', B, maxT, config.vocabSize - 1);
  const prompts = Array.from({ length: B }, (_, b) => Array.from({ length: 8 }, (_, t) => (b * 31 + t * 17) % config.vocabSize));
  const seconds = await timeRuns(repeats, async () => {
    await sampler.generate(prompts, { ...DEFAULT_SAMPLING, maxNewTokens: newTokens, topK: 40 });
  });
  sampler.destroy();
  params.destroy();
  return spread(seconds.map((s) => (B * newTokens) / s));
}

async function benchMatmul(device: GPUDevice, n: number, repeats: number): Promise<Spread> {
  const out = createStorageBuffer(device, 'bench.out', n * n * 4);
  const a = createStorageBufferFrom(device, 'bench.a', uniformValues(n * n, 1));
  const b = createStorageBufferFrom(device, 'bench.b', uniformValues(n * n, 2));
  const dispatch = matmulDispatch(device, 'bench.matmul', { out, a, b, bias: b }, n, n, n);
  const perSubmit = 10;
  const seconds = await timeRuns(repeats, async () => {
    const encoder = device.createCommandEncoder();
    recordDispatches(encoder, Array(perSubmit).fill(dispatch), 'bench');
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  [out, a, b].forEach((buffer) => buffer.destroy());
  return spread(seconds.map((s) => (perSubmit * 2 * n ** 3) / s / 1e9));
}

export async function benchCommand(context: CommandContext): Promise<unknown> {
  const presets = (stringOption(context, 'presets') ?? 'micro,small').split(',') as PresetName[];
  for (const preset of presets) if (!(preset in PRESETS)) throw new Error(`unknown preset '${preset}' in --presets`);
  const B = numberOption(context, 'batch', 8, { integer: true, min: 1 });
  const T = numberOption(context, 'seq', 64, { integer: true, min: 2 });
  const steps = numberOption(context, 'steps', 5, { integer: true, min: 1 });
  const repeats = numberOption(context, 'repeats', 3, { integer: true, min: 1 });
  const matmulSizes = (stringOption(context, 'matmul') ?? '256,512').split(',').map(Number);
  return withGpu(async (gpu) => {
    const adapter = `${gpu.info.backend}: ${gpu.info.description || gpu.info.device}`;
    context.log(`adapter ${adapter}`);
    const fmt = (s: Spread, unit: string) => `${s.median.toFixed(1)} ${unit} (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`;
    const train: Record<string, Spread> = {};
    const sample: Record<string, Spread> = {};
    for (const preset of presets) {
      train[preset] = await benchTraining(gpu.device, preset, B, T, steps, repeats);
      context.log(`train  ${preset.padEnd(7)} B=${B} T=${Math.min(T, PRESETS[preset].nCtx)}: ${fmt(train[preset], 'tok/s')}`);
      sample[preset] = await benchSampling(gpu.device, preset, B, 32, repeats);
      context.log(`sample ${preset.padEnd(7)} B=${B}, 32 new tokens: ${fmt(sample[preset], 'tok/s')}`);
    }
    const matmul: Record<string, Spread> = {};
    for (const n of matmulSizes) {
      matmul[`${n}x${n}x${n}`] = await benchMatmul(gpu.device, n, repeats);
      context.log(`matmul ${n}x${n}x${n}: ${fmt(matmul[`${n}x${n}x${n}`], 'GFLOP/s')}`);
    }
    return { adapter, batch: B, seq: T, train_tok_s: train, sample_tok_s: sample, matmul_gflops: matmul };
  });
}

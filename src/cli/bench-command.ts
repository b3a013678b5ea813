// `rlhf-lab bench`: the lab against the tools users would otherwise pick, in ONE headless Chromium on
// one WebGPU adapter (Debian's Chromium with SwiftShader here, a real GPU where there is one):
//   train  — a full GPT-2 step (forward, backward, AdamW) of GptModel vs the same model in TF.js on
//            its WebGPU backend (test/bench/tfjs-gpt2.ts), same parameters and batch, losses compared;
//   sample — batched KV-cache sampling with GptSampler vs onnxruntime-web (WebGPU EP, or wasm where
//            the EP is unavailable) on the lab's own ONNX export;
//   matmul — GFLOP/s of the lab's matmul kernel vs tf.matMul;
//   ppo    — (when asked for) episodes per second of PPO iterations at a pipeline preset's shape,
//            with the time of each phase (test/bench/ppo.ts).
// The page lives in test/bench and is served by Vite; contenders run interleaved, each figure is the
// median with the spread (min–max) of repeated runs. Positional words pick sections (`bench train
// matmul`; `bench profile` adds per-kernel times of the lab's steps); `bench dawn` prints the
// engine-only figures through Dawn in Node instead (no browser). Flags and sizes: commands.ts.
// Printed, never judged: the goals (training ≥ 5× TF.js, sampling ≥ ort) are read off the table.
import { PRESETS, type PresetName } from '../model/config.ts';
import { BENCH_DEFAULTS } from './commands.ts';
import { optionalNumberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';
import { benchMatmul, benchSampling, benchTraining, browserBench, type Spread } from './bench.ts';

async function dawnBench(context: CommandContext): Promise<unknown> {
  const defaults = BENCH_DEFAULTS.dawn;
  const presets = (optionalStringOption(context, 'presets') ?? defaults.presets).split(',') as PresetName[];
  for (const preset of presets) if (!(preset in PRESETS)) throw new Error(`unknown preset '${preset}' in --presets`);
  const B = optionalNumberOption(context, 'batch') ?? defaults.batch;
  const T = optionalNumberOption(context, 'seq') ?? defaults.seq;
  const steps = optionalNumberOption(context, 'steps') ?? defaults.steps;
  const repeats = optionalNumberOption(context, 'repeats') ?? defaults.repeats;
  const matmulSizes = (optionalStringOption(context, 'matmul') ?? defaults.matmul).split(',').map(Number);
  return withGpu(async (gpu) => {
    const adapter = `${gpu.info.backend}: ${gpu.info.description || gpu.info.device}`;
    context.log(`adapter ${adapter}`);
    const fmt = (s: Spread, unit: string) =>
      `${s.median.toFixed(1)} ${unit} (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`;
    const train: Record<string, Spread> = {};
    const sample: Record<string, Spread> = {};
    /** The sequence length each preset trains at: --seq, clamped to the preset's context. */
    const seq = Object.fromEntries(presets.map((preset) => [preset, Math.min(T, PRESETS[preset].nCtx)]));
    for (const preset of presets) {
      train[preset] = await benchTraining(gpu.device, preset, B, T, steps, repeats);
      context.log(`train  ${preset.padEnd(7)} B=${B} T=${seq[preset]}: ${fmt(train[preset], 'tok/s')}`);
      sample[preset] = await benchSampling(gpu.device, preset, B, 32, repeats);
      context.log(`sample ${preset.padEnd(7)} B=${B}, 32 new tokens: ${fmt(sample[preset], 'tok/s')}`);
    }
    const matmul: Record<string, Spread> = {};
    for (const n of matmulSizes) {
      matmul[`${n}x${n}x${n}`] = await benchMatmul(gpu.device, n, repeats);
      context.log(`matmul ${n}x${n}x${n}: ${fmt(matmul[`${n}x${n}x${n}`], 'GFLOP/s')}`);
    }
    return { adapter, batch: B, seq, train_tok_s: train, sample_tok_s: sample, matmul_gflops: matmul };
  });
}

export async function benchCommand(context: CommandContext): Promise<unknown> {
  if (context.positionals[0] === 'dawn') return dawnBench(context);
  return browserBench(context);
}

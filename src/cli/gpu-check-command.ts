// `rlhf-lab gpu-check` (`npm run bench:gpu`): the figures a machine with a real GPU is lent for, in
// one run. On Dawn in Node (RLHF_LAB_WEBGPU picks the backend: `native` on a GPU machine):
//   adapter      what Dawn gave us;
//   peak         float32 GFLOP/s of the FMA probe (engine/fma-peak.ts), the adapter's measured peak;
//   matmul       the lab's matmul kernel at 1024³, 2048³, 4096³, in GFLOP/s and as a share of that peak;
//   memory       peak bytes of live GPU buffers while a preset builds its model and takes one
//                training step (B = 8, T = n_ctx) and while a B = 8 sampler generates;
// in headless Chromium (`bench`'s page; RLHF_LAB_CHROMIUM_WEBGPU_ADAPTER=default for the GPU):
//   ratios       training vs TF.js WebGPU and sampling vs onnxruntime-web on the KV-cache export;
// and with --pipeline, the wall time of the `small` pipeline (long: half an hour on a CPU adapter).
// --smoke shrinks every size to finish in a minute or two on SwiftShader (CI runs it): the numbers
// then say nothing about speed, only that every part still runs.
import { createStorageBufferFrom } from '../engine/buffers.ts';
import { measureFmaPeak, type FmaPeakShape } from '../engine/fma-peak.ts';
import { initParameters, makeConfig, PRESETS, type PresetName } from '../model/config.ts';
import { DEFAULT_ADAMW, GptModel } from '../model/gpt.ts';
import { DEFAULT_SAMPLING, GptSampler } from '../model/sampler.ts';
import { benchMatmul, browserBench } from './bench.ts';
import { COMMANDS } from './commands.ts';
import type { CommandContext } from './main.ts';
import { runPipelineCommand } from './pipeline-run.ts';
import { withGpu } from './with-gpu.ts';

interface CheckSizes {
  peak: FmaPeakShape & { perSubmit: number };
  matmul: number[];
  memoryPresets: PresetName[];
  memoryBatch: number;
  /** Longest sequence of the memory check (each preset's n_ctx at most). */
  memorySeq: number;
  repeats: number;
  /** `bench` flags and sections for the ratios. */
  bench: { positionals: string[]; values: Record<string, string> };
  pipelinePreset: string;
}

const SIZES: Record<'full' | 'smoke', CheckSizes> = {
  full: {
    peak: { workgroups: 4096, iterations: 4096, perSubmit: 4 },
    matmul: [1024, 2048, 4096],
    memoryPresets: ['micro', 'small', 'medium'],
    memoryBatch: 8,
    memorySeq: Infinity,
    repeats: 3,
    bench: { positionals: ['train', 'sample'], values: {} },
    pipelinePreset: 'small',
  },
  smoke: {
    peak: { workgroups: 8, iterations: 64, perSubmit: 1 },
    matmul: [64, 128],
    memoryPresets: ['micro'],
    memoryBatch: 2,
    memorySeq: 16,
    repeats: 1,
    bench: {
      positionals: ['train', 'sample'],
      values: {
        presets: 'micro',
        batch: '1',
        seq: '8',
        steps: '1',
        repeats: '1',
        'sample-preset': 'micro',
        'sample-batches': '1',
        'new-tokens': '2',
      },
    },
    pipelinePreset: 'micro',
  },
};

/** Counts the bytes of the device's live buffers from now on; `peak` since the last reset. */
function trackBufferBytes(device: GPUDevice): { reset(): void; readonly peak: number } {
  let live = 0;
  let peak = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    live += descriptor.size;
    peak = Math.max(peak, live);
    buffer.destroy = () => {
      if (!destroyed) live -= descriptor.size;
      destroyed = true;
      destroy();
    };
    return buffer;
  };
  return {
    reset: () => void (peak = live),
    get peak() {
      return peak;
    },
  };
}

/** Peak live buffer bytes of one training step and of one generation at a preset's size. */
async function presetMemory(
  device: GPUDevice,
  tracker: ReturnType<typeof trackBufferBytes>,
  preset: PresetName,
  B: number,
  maxSeq: number,
): Promise<{ train: number; sample: number; T: number }> {
  const config = makeConfig(preset, 1024);
  const T = Math.min(maxSeq, config.nCtx);
  tracker.reset();
  const model = new GptModel(device, config, 'lm', B, T, `gpu-check-${preset}`);
  model.writeParams(initParameters(config, 1));
  const ids = Array.from({ length: B * T }, (_, i) => (i * 7919) % config.vocabSize);
  model.setBatch({ tokens: ids, targets: ids.map((id) => (id + 1) % config.vocabSize) });
  await model.step({ optimizer: DEFAULT_ADAMW });
  const train = tracker.peak;
  model.destroy();
  tracker.reset();
  const params = createStorageBufferFrom(device, 'gpu-check.params', initParameters(config, 2));
  const sampler = new GptSampler(device, config, params, 'lm', B, T, config.vocabSize - 1);
  await sampler.generate(
    Array.from({ length: B }, () => [1, 2]),
    { ...DEFAULT_SAMPLING, maxNewTokens: T - 2 },
  );
  const sample = tracker.peak;
  sampler.destroy();
  params.destroy();
  return { train, sample, T };
}

const MIB = 2 ** 20;

export async function gpuCheckCommand(context: CommandContext): Promise<unknown> {
  const sizes = SIZES[context.values.smoke ? 'smoke' : 'full'];
  const engine = await withGpu(async (gpu) => {
    const adapter = `${gpu.info.backend}: ${[gpu.info.vendor, gpu.info.architecture, gpu.info.device, gpu.info.description].filter(Boolean).join(' · ')}`;
    context.log(`adapter (Dawn): ${adapter}`);
    if (gpu.info.backend !== 'native' && !context.values.smoke)
      context.log('note: not a native GPU backend; set RLHF_LAB_WEBGPU=native on a machine with a GPU');
    const peak = await measureFmaPeak(gpu.device, sizes.peak, sizes.peak.perSubmit, sizes.repeats);
    context.log(`float32 peak (FMA probe): ${peak.toFixed(1)} GFLOP/s`);
    const matmul: Record<string, { gflops: number; share_of_peak: number }> = {};
    for (const n of sizes.matmul) {
      const gflops = (await benchMatmul(gpu.device, n, sizes.repeats)).median;
      matmul[`${n}x${n}x${n}`] = { gflops, share_of_peak: gflops / peak };
      context.log(`matmul ${n}³: ${gflops.toFixed(1)} GFLOP/s, ${((100 * gflops) / peak).toFixed(0)}% of peak`);
    }
    const tracker = trackBufferBytes(gpu.device);
    const memory: Record<string, { B: number; T: number; train_step_mib: number; sampler_mib: number }> = {};
    for (const preset of sizes.memoryPresets) {
      const { train, sample, T } = await presetMemory(gpu.device, tracker, preset, sizes.memoryBatch, sizes.memorySeq);
      memory[preset] = { B: sizes.memoryBatch, T, train_step_mib: train / MIB, sampler_mib: sample / MIB };
      context.log(
        `peak GPU buffers ${preset} (${PRESETS[preset].nLayer} layers, C=${PRESETS[preset].nEmbd}) B=${sizes.memoryBatch} T=${T}: training step ${(train / MIB).toFixed(1)} MiB, sampler ${(sample / MIB).toFixed(1)} MiB`,
      );
    }
    return { adapter, fma_peak_gflops: peak, matmul, peak_gpu_memory: memory };
  });
  context.log('ratios in headless Chromium (rlhf-lab bench):');
  const ratios = (await browserBench({ ...context, ...sizes.bench, options: COMMANDS.bench.options })) as {
    adapter: string;
    train: unknown;
    sample: unknown;
  };
  let pipeline: { preset: string; seconds: number } | null = null;
  if (context.values.pipeline) {
    context.log(`pipeline ${sizes.pipelinePreset}:`);
    const started = performance.now();
    await runPipelineCommand({
      ...context,
      positionals: [],
      values: { preset: sizes.pipelinePreset },
      options: COMMANDS.pipeline.options,
    });
    pipeline = { preset: sizes.pipelinePreset, seconds: (performance.now() - started) / 1000 };
    context.log(`pipeline ${sizes.pipelinePreset}: ${(pipeline.seconds / 60).toFixed(1)} min`);
  }
  return { smoke: Boolean(context.values.smoke), ...engine, browser: ratios, pipeline };
}

// The browser benchmark page: `rlhf-lab bench` opens it in headless Chromium and calls
// window.runBench(options). Every comparison builds both contenders on the same adapter from the
// same parameters and inputs, checks they compute the same thing (training: the first step's loss;
// sampling: the tokens drawn), then times them interleaved. Progress goes to the console as
// "[bench] ..." lines, which the CLI prints.
import { createStorageBufferFrom } from '../../src/engine/buffers.ts';
import { acquireGpu, type GpuInfo } from '../../src/engine/gpu.ts';
import type {
  BenchPage,
  BrowserBenchOptions,
  BrowserBenchReport,
  MatmulRow,
  SampleRow,
  TrainRow,
} from '../../src/cli/bench.ts';
import type { Checkpoint } from '../../src/model/checkpoint.ts';
import { initParameters, makeConfig, type PresetName } from '../../src/model/config.ts';
import { DEFAULT_ADAMW } from '../../src/model/gpt.ts';
import type { Generation, SamplingOptions } from '../../src/model/sampler.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import tokenizerJson from '../../public/models/base/tokenizer.json?raw';
import {
  labMatmul,
  labSampling,
  labTraining,
  type MatmulContender,
  type MatmulShape,
  type TokenBatch,
} from './lab-contenders.ts';
import { interleave } from './measure.ts';
import { ortSampling } from './ort-contender.ts';
import { ppoRow } from './ppo.ts';
import { profileDecodeStep, profileTrainingStep, type StepProfile } from './profile.ts';
import { tfjsMatmul, tfjsTraining, useTfjsWebgpu } from './tfjs-contenders.ts';

/** Relative difference of the two first-step losses above which the report flags a mismatch. */
const LOSS_TOLERANCE = 1e-3;
/** Largest |lab − TF.js| matmul difference, relative to the largest |product|, taken as agreement. */
const MATMUL_TOLERANCE = 1e-4;
const SAMPLING: Omit<SamplingOptions, 'maxNewTokens'> = { temperature: 1, topK: 40, topP: 1, seed: 1 };

const log = (line: string) => console.log(`[bench] ${line}`);

function adapterName(info: GpuInfo): string {
  return (
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' · ') || 'unknown adapter'
  );
}

/** A deterministic (B,T) batch spread over the vocabulary. */
function trainingBatch(B: number, T: number, V: number): TokenBatch {
  return {
    tokens: Int32Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % V),
    targets: Int32Array.from({ length: B * T }, (_, i) => (i * 104729 + 7) % V),
  };
}

async function trainRow(
  device: GPUDevice,
  preset: PresetName,
  o: BrowserBenchOptions,
  notes: string[],
): Promise<TrainRow> {
  const config = makeConfig(preset, o.vocab);
  const T = Math.min(o.seq, config.nCtx);
  const B = o.batch;
  const params = initParameters(config, 1);
  const batch = trainingBatch(B, T, config.vocabSize);
  log(`training ${preset} (L=${config.nLayer}, C=${config.nEmbd}, V=${config.vocabSize}) B=${B} T=${T}`);
  const lab = labTraining(device, config, params, batch, B, T, o.steps);
  const tfjs = tfjsTraining(config, params, batch, B, T, o.steps, DEFAULT_ADAMW);
  try {
    // The first step of each is also its warm-up (pipeline and shader compilation).
    const labLoss = await lab.firstLoss();
    const tfjsLoss = await tfjs.firstLoss();
    log(`  first-step loss: lab ${labLoss.toFixed(6)}, TF.js ${tfjsLoss.toFixed(6)}`);
    if (!(Math.abs(labLoss - tfjsLoss) <= LOSS_TOLERANCE * Math.max(1, Math.abs(labLoss)))) {
      notes.push(
        `training ${preset}: first-step losses differ (lab ${labLoss}, TF.js ${tfjsLoss}): the comparison is not of the same model`,
      );
    }
    const [labRate, tfjsRate] = await interleave([lab.contender, tfjs.contender], o.repeats, 0, log);
    return { preset, B, T, steps: o.steps, lab: labRate, tfjs: tfjsRate, labLoss, tfjsLoss };
  } finally {
    lab.dispose();
    tfjs.dispose();
  }
}

function rowsIdentical(a: Generation, b: Generation): number {
  const same = a.tokens.filter(
    (row, i) => row.length === b.tokens[i].length && row.every((id, t) => id === b.tokens[i][t]),
  ).length;
  return same / a.tokens.length;
}

async function sampleRow(
  device: GPUDevice,
  B: number,
  o: BrowserBenchOptions,
  notes: string[],
): Promise<SampleRow | undefined> {
  const tokenizer = Tokenizer.fromJSON(tokenizerJson);
  const config = makeConfig(o.samplePreset, tokenizer.vocabSize);
  // Random initialisation: near-uniform next-token distributions, so rows rarely stop at EOS early.
  const checkpoint: Checkpoint = { config, params: initParameters(config, 2), tokenizer };
  const prompts = Array.from({ length: B }, (_, b) =>
    Array.from({ length: o.promptTokens }, (_, t) => (b * 31 + t * 17) % tokenizer.eosId),
  );
  log(`sampling ${o.samplePreset} B=${B}, ${o.promptTokens}-token prompts, ${o.newTokens} new tokens`);
  const lab = labSampling(device, config, checkpoint.params, tokenizer.eosId, prompts, o.newTokens, {
    ...SAMPLING,
    maxNewTokens: o.newTokens,
  });
  let ort;
  try {
    ort = await ortSampling(checkpoint, prompts, o.newTokens, { ...SAMPLING, maxNewTokens: o.newTokens });
  } catch (error) {
    lab.dispose();
    notes.push(`sampling B=${B}: onnxruntime-web could not open the lab's ONNX export (${(error as Error).message})`);
    return undefined;
  }
  try {
    if (ort.fallbackReason && !notes.includes(ort.fallbackReason)) notes.push(ort.fallbackReason);
    // Warm-up generations, also used to check both sides draw the same tokens.
    const agreement = rowsIdentical(await lab.generate(), await ort.generate());
    log(`  ${ort.name}: ${(100 * agreement).toFixed(0)}% of rows identical to the lab's`);
    const [labRate, peerRate] = await interleave([lab.contender, ort.contender], o.repeats, 0, log);
    return {
      preset: o.samplePreset,
      B,
      newTokens: o.newTokens,
      lab: labRate,
      peer: peerRate,
      peerName: ort.name,
      peerKvCache: ort.kvCache,
      agreement,
    };
  } finally {
    lab.dispose();
    await ort.dispose();
  }
}

/** Largest |lab − TF.js| over the products, relative to the largest |product|. */
async function matmulDisagreement(lab: MatmulContender, tfjs: MatmulContender): Promise<number> {
  const [a, b] = await Promise.all([lab.result(), tfjs.result()]);
  let diff = 0;
  let scale = 0;
  a.forEach((value, i) => {
    diff = Math.max(diff, Math.abs(value - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  });
  return diff / Math.max(scale, 1e-30);
}

async function matmulRow(
  device: GPUDevice,
  shape: MatmulShape,
  o: BrowserBenchOptions,
  notes: string[],
): Promise<MatmulRow> {
  const name = `${shape.M}x${shape.N}x${shape.K}`;
  log(`matmul ${name}`);
  const lab = await labMatmul(device, shape, o.matmulSeconds);
  const tfjs = await tfjsMatmul(shape, o.matmulSeconds);
  try {
    const [labRate, tfjsRate] = await interleave([lab.contender, tfjs.contender], o.repeats, 0, log);
    const disagreement = await matmulDisagreement(lab, tfjs);
    if (!(disagreement < MATMUL_TOLERANCE))
      notes.push(`matmul ${name}: lab and tf.matMul products differ (max relative difference ${disagreement})`);
    const gflops = (s: typeof labRate) => ({ ...s, median: s.median / 1e9, min: s.min / 1e9, max: s.max / 1e9 });
    return { shape: name, lab: gflops(labRate), tfjs: gflops(tfjsRate) };
  } finally {
    lab.dispose();
    tfjs.dispose();
  }
}

function logProfile(what: string, profile: StepProfile): void {
  log(
    `${what}: ${profile.dispatches} dispatches, ${profile.milliseconds.toFixed(0)} ms summed over dispatches timed one by one`,
  );
  for (const k of profile.kernels.slice(0, 12)) {
    const share = (100 * k.milliseconds) / profile.milliseconds;
    log(
      `  ${k.kernel.padEnd(36)} ${String(k.dispatches).padStart(3)} dispatches ${String(k.workgroups).padStart(6)} workgroups ${k.milliseconds.toFixed(1).padStart(9)} ms ${share.toFixed(0).padStart(3)}%`,
    );
  }
}

/** Per-kernel times of the lab's training step (each training preset) and decode step (largest sampling batch). */
async function profileLab(device: GPUDevice, o: BrowserBenchOptions): Promise<void> {
  for (const preset of o.trainPresets) {
    const config = makeConfig(preset, o.vocab);
    const T = Math.min(o.seq, config.nCtx);
    logProfile(
      `profile: training step ${preset} B=${o.batch} T=${T}`,
      await profileTrainingStep(
        device,
        config,
        initParameters(config, 1),
        trainingBatch(o.batch, T, config.vocabSize),
        o.batch,
        T,
      ),
    );
  }
  const config = makeConfig(o.samplePreset, o.vocab);
  const B = Math.max(...o.sampleBatches);
  const params = createStorageBufferFrom(device, 'bench.profile.params', initParameters(config, 2));
  logProfile(
    `profile: decode step ${o.samplePreset} B=${B}`,
    await profileDecodeStep(device, config, params, B, o.promptTokens + o.newTokens),
  );
  params.destroy();
}

async function runBench(o: BrowserBenchOptions): Promise<BrowserBenchReport> {
  const gpu = await acquireGpu();
  const report: BrowserBenchReport = {
    adapter: adapterName(gpu.info),
    kernelLayout: gpu.info.kernelLayout,
    userAgent: navigator.userAgent,
    train: [],
    sample: [],
    matmul: [],
    ppo: [],
    notes: [],
  };
  log(`adapter: ${report.adapter}`);
  const tfjsAdapter = await useTfjsWebgpu();
  log(`TF.js WebGPU adapter: ${tfjsAdapter}`);
  try {
    if (o.sections.includes('train'))
      for (const preset of o.trainPresets) report.train.push(await trainRow(gpu.device, preset, o, report.notes));
    if (o.sections.includes('sample')) {
      for (const B of o.sampleBatches) {
        const row = await sampleRow(gpu.device, B, o, report.notes);
        if (row) report.sample.push(row);
      }
    }
    if (o.sections.includes('matmul'))
      for (const shape of o.matmul) report.matmul.push(await matmulRow(gpu.device, shape, o, report.notes));
    if (o.sections.includes('profile')) await profileLab(gpu.device, o);
    if (o.sections.includes('ppo'))
      report.ppo.push(await ppoRow(gpu.device, o.ppo, Tokenizer.fromJSON(tokenizerJson), o.repeats, log));
    await gpu.device.queue.onSubmittedWorkDone();
    gpu.assertHealthy();
    return report;
  } finally {
    gpu.destroy();
  }
}

(window as unknown as BenchPage).runBench = runBench;
document.getElementById('status')!.textContent = 'ready: call window.runBench(options)';

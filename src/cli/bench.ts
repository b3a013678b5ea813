// The measurements behind `rlhf-lab bench` and `rlhf-lab gpu-check`: rates over repeated runs
// (median and spread) of the lab's training step, KV-cache sampling and matmul kernel through Dawn
// in Node, and the browser benchmark — the page in test/bench served by Vite in headless Chromium,
// what it is asked to run and the table it reports.
import { fileURLToPath } from 'node:url';
import { createStorageBuffer, createStorageBufferFrom } from '../engine/buffers.ts';
import { recordDispatches, type KernelLayout } from '../engine/kernel.ts';
import { matmulDispatch } from '../engine/ops/matmul.ts';
import { uniformValues } from '../engine/selfcheck.ts';
import { initParameters, makeConfig, PRESETS, type PresetName } from '../model/config.ts';
import { PIPELINE_PRESETS, type PipelinePresetName } from '../rlhf/pipeline.ts';
import { GptModel, DEFAULT_ADAMW } from '../model/gpt.ts';
import { GptSampler, DEFAULT_SAMPLING } from '../model/sampler.ts';
import { BENCH_DEFAULTS } from './commands.ts';
import { optionalNumberOption, optionalStringOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';

/** A rate over repeated runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)],
    min: sorted[0],
    max: sorted[sorted.length - 1],
    runs: sorted.length,
  };
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

export async function benchTraining(
  device: GPUDevice,
  preset: PresetName,
  B: number,
  T: number,
  steps: number,
  repeats: number,
): Promise<Spread> {
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

export async function benchSampling(
  device: GPUDevice,
  preset: PresetName,
  B: number,
  newTokens: number,
  repeats: number,
): Promise<Spread> {
  const config = makeConfig(preset, 1024);
  const params = createStorageBufferFrom(device, 'bench.params', initParameters(config, 2));
  const maxT = Math.min(config.nCtx, 8 + newTokens);
  // Decoding runs every step for every row whether or not a row has ended, so EOS does not change the work.
  const sampler = new GptSampler(device, config, params, 'lm', B, maxT, config.vocabSize - 1);
  const prompts = Array.from({ length: B }, (_, b) =>
    Array.from({ length: 8 }, (_, t) => (b * 31 + t * 17) % config.vocabSize),
  );
  const seconds = await timeRuns(repeats, async () => {
    await sampler.generate(prompts, { ...DEFAULT_SAMPLING, maxNewTokens: newTokens, topK: 40 });
  });
  sampler.destroy();
  params.destroy();
  return spread(seconds.map((s) => (B * newTokens) / s));
}

export async function benchMatmul(device: GPUDevice, n: number, repeats: number): Promise<Spread> {
  const out = createStorageBuffer(device, 'bench.out', n * n * 4);
  const a = createStorageBufferFrom(device, 'bench.a', uniformValues(n * n, 1));
  const b = createStorageBufferFrom(device, 'bench.b', uniformValues(n * n, 2));
  const dispatch = matmulDispatch(device, 'bench.matmul', { out, a, b }, n, n, n);
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

// ---------------------------------------------------------------------------------------------
// The browser benchmark: what the page (test/bench/main.ts) is asked to run and what it reports.

/** What to run; `profile` (per-kernel times of the lab's steps) and `ppo` only when asked for. */
export type BenchSection = 'train' | 'sample' | 'matmul' | 'profile' | 'ppo';
const SECTIONS: BenchSection[] = ['train', 'sample', 'matmul', 'profile', 'ppo'];
const DEFAULT_SECTIONS: BenchSection[] = ['train', 'sample', 'matmul'];

export interface BrowserBenchOptions {
  sections: BenchSection[];
  /** Training: model presets, batch B, sequence T, steps per timed run. */
  trainPresets: PresetName[];
  batch: number;
  seq: number;
  steps: number;
  /** Timed runs per contender (after warm-up); each figure is their median. */
  repeats: number;
  /** Sampling: preset (random-initialised), batch sizes, new tokens, prompt length. */
  samplePreset: PresetName;
  sampleBatches: number[];
  newTokens: number;
  promptTokens: number;
  /** Matmul shapes; each run repeats the product for about matmulSeconds. */
  matmul: { M: number; N: number; K: number }[];
  matmulSeconds: number;
  /** Vocabulary of the training models (the shipped tokenizer's size). */
  vocab: number;
  /** PPO: the shape of a pipeline preset's iterations. */
  ppo: PpoShape;
}

/** One PPO iteration's shape: a pipeline preset's episodes per batch, sequence and response lengths, epochs. */
export interface PpoShape {
  pipelinePreset: string;
  modelPreset: PresetName;
  B: number;
  T: number;
  maxNewTokens: number;
  ppoEpochs: number;
  promptTokens: number;
}

/** The phases of a PPO iteration (test/bench/ppo.ts says what each holds). */
export type PpoPhase = 'rollout' | 'forward_passes' | 'policy_updates' | 'value_updates' | 'cpu';

export interface PpoRow extends PpoShape {
  episodesPerSecond: Spread;
  /** Median seconds per phase over the timed iterations. */
  phaseSeconds: Record<PpoPhase, number>;
}

export interface TrainRow {
  preset: PresetName;
  B: number;
  T: number;
  steps: number;
  lab: Spread;
  tfjs: Spread;
  /** Loss of the first step on the same parameters and batch. */
  labLoss: number;
  tfjsLoss: number;
}

export interface SampleRow {
  preset: PresetName;
  B: number;
  newTokens: number;
  lab: Spread;
  peer: Spread;
  /** 'ort-webgpu', or 'ort-wasm' when the WebGPU execution provider was unavailable. */
  peerName: string;
  /** Whether the peer sampled the KV-cache export (one token a call) rather than re-running the prefix. */
  peerKvCache: boolean;
  /** Share of the B rows whose sampled tokens were identical on both sides (same model, same draws). */
  agreement: number;
}

export interface MatmulRow {
  shape: string;
  lab: Spread;
  tfjs: Spread;
}

export interface BrowserBenchReport {
  adapter: string;
  /** The lab's matmul/attention design on this adapter (engine/kernel.ts KernelLayout). */
  kernelLayout: KernelLayout;
  userAgent: string;
  train: TrainRow[];
  sample: SampleRow[];
  matmul: MatmulRow[];
  ppo: PpoRow[];
  /** Things the reader must know (e.g. a peer fell back to another backend). */
  notes: string[];
}

/** What the page exposes on window once it has loaded. */
export interface BenchPage {
  runBench(options: BrowserBenchOptions): Promise<BrowserBenchReport>;
}

/** Debian's Chromium with WebGPU: the flags of test/browser/harness.ts (SwiftShader added by onSwiftShader). */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
];

function parseShape(text: string): { M: number; N: number; K: number } {
  const parts = text.split('x').map(Number);
  const [M, N, K] = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  if (parts.length !== 1 && parts.length !== 3) throw new Error(`--matmul: '${text}' is neither N nor MxNxK`);
  for (const n of [M, N, K])
    if (!Number.isInteger(n) || n < 1) throw new Error(`--matmul: '${text}' has a size that is not a positive integer`);
  return { M, N, K };
}

function presetList(text: string, flag: string): PresetName[] {
  const presets = text.split(',') as PresetName[];
  for (const preset of presets) if (!(preset in PRESETS)) throw new Error(`unknown preset '${preset}' in --${flag}`);
  return presets;
}

/** Chromium is pinned to SwiftShader unless RLHF_LAB_CHROMIUM_WEBGPU_ADAPTER=default (a machine with a GPU). */
function onSwiftShader(): boolean {
  return process.env.RLHF_LAB_CHROMIUM_WEBGPU_ADAPTER !== 'default';
}

function browserOptions(context: CommandContext): BrowserBenchOptions {
  const defaults = onSwiftShader() ? BENCH_DEFAULTS.swiftshader : BENCH_DEFAULTS.gpu;
  const sections = context.positionals.length > 0 ? context.positionals : DEFAULT_SECTIONS;
  for (const section of sections)
    if (!SECTIONS.includes(section as BenchSection))
      throw new Error(`unknown section '${section}': use ${SECTIONS.join(', ')} or dawn`);
  const sampleBatches = (optionalStringOption(context, 'sample-batches') ?? defaults.sampleBatches)
    .split(',')
    .map(Number);
  if (sampleBatches.some((b) => !Number.isInteger(b) || b < 1))
    throw new Error('--sample-batches must be positive integers, e.g. 1,64');
  return {
    sections: sections as BenchSection[],
    trainPresets: presetList(optionalStringOption(context, 'presets') ?? defaults.presets, 'presets'),
    batch: optionalNumberOption(context, 'batch') ?? defaults.batch,
    seq: optionalNumberOption(context, 'seq') ?? defaults.seq,
    steps: optionalNumberOption(context, 'steps') ?? defaults.steps,
    repeats: optionalNumberOption(context, 'repeats') ?? defaults.repeats,
    samplePreset: presetList(stringOption(context, 'sample-preset'), 'sample-preset')[0],
    sampleBatches,
    newTokens: optionalNumberOption(context, 'new-tokens') ?? defaults.newTokens,
    promptTokens: 8,
    matmul: (optionalStringOption(context, 'matmul') ?? defaults.matmul).split(',').map(parseShape),
    matmulSeconds: 1,
    vocab: 1024,
    ppo: ppoShape(stringOption(context, 'ppo-preset')),
  };
}

/** A pipeline preset's PPO iteration on the shipped model's size (the `small` model preset). */
function ppoShape(pipelinePreset: string): PpoShape {
  if (!(pipelinePreset in PIPELINE_PRESETS))
    throw new Error(
      `unknown pipeline preset '${pipelinePreset}' in --ppo-preset: use ${Object.keys(PIPELINE_PRESETS).join(', ')}`,
    );
  const { B, T, maxNewTokens, ppoEpochs } = PIPELINE_PRESETS[pipelinePreset as PipelinePresetName];
  // Chat-framed prompts of the small pipeline are 15–45 tokens; 24 leaves room for every response.
  return {
    pipelinePreset,
    modelPreset: 'small',
    B,
    T,
    maxNewTokens,
    ppoEpochs,
    promptTokens: Math.min(24, T - maxNewTokens),
  };
}

const fmtRate = (s: Spread, digits = 1) =>
  `${s.median.toFixed(digits)} [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;
const fmtRatio = (a: Spread, b: Spread) => `${(a.median / b.median).toFixed(2)}×`;

/** The human-readable table of a report. */
export function reportTable(report: BrowserBenchReport, options: BrowserBenchOptions): string[] {
  const lines = [
    `adapter: ${report.adapter} (lab kernel layout: ${report.kernelLayout})`,
    `browser: ${report.userAgent}`,
    `median [min–max] over ${options.repeats} interleaved runs per contender`,
  ];
  if (report.train.length > 0) {
    lines.push(
      '',
      `training, tokens/s (forward + backward + optimizer; ${options.steps} step(s) per run)`,
      '| model | B×T | lab | TF.js WebGPU | lab / TF.js | first-step loss lab / TF.js |',
      '|---|---|---|---|---|---|',
    );
    for (const r of report.train) {
      lines.push(
        `| ${r.preset} | ${r.B}×${r.T} | ${fmtRate(r.lab)} | ${fmtRate(r.tfjs)} | ${fmtRatio(r.lab, r.tfjs)} | ${r.labLoss.toFixed(5)} / ${r.tfjsLoss.toFixed(5)} |`,
      );
    }
  }
  if (report.sample.length > 0) {
    lines.push(
      '',
      `sampling, new tokens/s (${options.promptTokens}-token prompts, top-k 40; the peer samples the KV-cache export)`,
      '| model | B × new tokens | lab | peer | peer | lab / peer | rows identical |',
      '|---|---|---|---|---|---|---|',
    );
    for (const r of report.sample) {
      lines.push(
        `| ${r.preset} | ${r.B}×${r.newTokens} | ${fmtRate(r.lab)} | ${r.peerName} | ${fmtRate(r.peer)} | ${fmtRatio(r.lab, r.peer)} | ${(100 * r.agreement).toFixed(0)}% |`,
      );
    }
  }
  if (report.matmul.length > 0) {
    lines.push('', 'matmul, GFLOP/s', '| M×N×K | lab | tf.matMul | lab / TF.js |', '|---|---|---|---|');
    for (const r of report.matmul)
      lines.push(`| ${r.shape} | ${fmtRate(r.lab, 2)} | ${fmtRate(r.tfjs, 2)} | ${fmtRatio(r.lab, r.tfjs)} |`);
  }
  for (const r of report.ppo) {
    const total = Object.values(r.phaseSeconds).reduce((sum, s) => sum + s, 0);
    lines.push(
      '',
      `PPO, episodes/s (one iteration of the ${r.pipelinePreset} pipeline: B=${r.B} episodes, T=${r.T}, ${r.maxNewTokens} new tokens, ${r.ppoEpochs} epochs): ${fmtRate(r.episodesPerSecond, 2)}`,
      '| phase | seconds | share |',
      '|---|---|---|',
    );
    for (const [phase, seconds] of Object.entries(r.phaseSeconds))
      lines.push(`| ${phase} | ${seconds.toFixed(2)} | ${((100 * seconds) / total).toFixed(0)}% |`);
  }
  if (report.notes.length > 0) lines.push('', ...report.notes.map((note) => `note: ${note}`));
  return lines;
}

/**
 * The one-line summary of issues 8 and 19: the first training preset, the largest sampling batch
 * (and every batch under by_batch) against onnxruntime-web on the KV-cache export, every matmul
 * shape, and PPO's episodes per second with its phases (rates are medians).
 */
export function reportSummary(report: BrowserBenchReport): Record<string, unknown> {
  const train = report.train[0];
  const sample = report.sample.reduce<SampleRow | undefined>(
    (largest, row) => (!largest || row.B > largest.B ? row : largest),
    undefined,
  );
  const ratio = (a: number, b: number) => a / b;
  const sampleFigures = (row: SampleRow) => ({
    lab_tok_s: row.lab.median,
    ort_tok_s: row.peer.median,
    ratio_vs_ort: ratio(row.lab.median, row.peer.median),
  });
  const ppo = report.ppo[0];
  return {
    adapter: report.adapter,
    train: train
      ? {
          lab_tok_s: train.lab.median,
          tfjs_tok_s: train.tfjs.median,
          ratio_vs_tfjs: ratio(train.lab.median, train.tfjs.median),
        }
      : null,
    sample: sample
      ? {
          ...sampleFigures(sample),
          ort_kv_cache: sample.peerKvCache,
          ort_provider: sample.peerName,
          by_batch: Object.fromEntries(
            report.sample.map((row) => [String(row.B), { ...sampleFigures(row), rows_identical: row.agreement }]),
          ),
        }
      : null,
    matmul: Object.fromEntries(
      report.matmul.map((r) => [
        r.shape,
        { lab_gflops: r.lab.median, tfjs_gflops: r.tfjs.median, ratio_vs_tfjs: ratio(r.lab.median, r.tfjs.median) },
      ]),
    ),
    ppo: ppo
      ? { pipeline_preset: ppo.pipelinePreset, episodes_per_s: ppo.episodesPerSecond.median, phase_s: ppo.phaseSeconds }
      : null,
  };
}

/** Serves test/bench with Vite, opens it in headless Chromium and runs the benchmark there. */
export async function browserBench(context: CommandContext): Promise<unknown> {
  const options = browserOptions(context);
  const { createServer } = await import('vite');
  const { chromium } = await import('playwright-core');
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const server = await createServer({
    configFile: false,
    root: fileURLToPath(new URL('../../test/bench/', import.meta.url)),
    publicDir: false,
    logLevel: 'warn',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port: 0,
      fs: { allow: [repoRoot] },
      hmr: false,
      // Cross-origin isolation lets onnxruntime-web's wasm use threads, as a production page would.
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    optimizeDeps: {
      include: [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-core/dist/register_all_gradients',
        '@tensorflow/tfjs-backend-webgpu',
      ],
      // Served as is, so that its wasm is found next to it (import.meta.url).
      exclude: ['onnxruntime-web'],
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('the Vite server has no TCP address');
  const args = [...CHROMIUM_FLAGS, ...(onSwiftShader() ? ['--use-webgpu-adapter=swiftshader'] : [])];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('console', (message) => {
      const text = message.text();
      if (text.startsWith('[bench] ')) context.log(text.slice(8));
      else if (message.type() === 'error') pageErrors.push(text);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${address.port}/`);
    await page.waitForFunction(() => 'runBench' in window, undefined, { timeout: 300_000 });
    const report = await page.evaluate((o) => (window as unknown as BenchPage).runBench(o), options);
    for (const line of reportTable(report, options)) context.log(line);
    if (pageErrors.length > 0) context.log(`page errors:\n${pageErrors.join('\n')}`);
    return reportSummary(report);
  } finally {
    await browser.close();
    await server.close();
  }
}

// The run of `rlhf-lab pipeline` (options and defaults: commands.ts, `rlhf-lab pipeline --help`):
// the whole InstructGPT recipe from a base checkpoint (the shipped one by default) — SFT, rankings
// by the training labeler, reward model, PPO, PPO-ptx, DPO — and the held-out evaluation table.
// With --out, each stage's output is saved as it finishes (OUT/sft, OUT/rankings.jsonl and
// OUT/heldout-rankings.jsonl — K-way records that `rlhf-lab rm --rankings` reads —, OUT/reward_model,
// OUT/ppo, OUT/ppo_ptx, OUT/dpo) and recorded in OUT/stages.json with what it depends on; the
// report goes to OUT/report.json. The same command again resumes after the last finished stage:
// stages whose settings are unchanged are reused, the first changed one and those after it run
// again. A folder of another run (other base or seeds) is refused before any work.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Checkpoint } from '../model/checkpoint.ts';
import type { CheckpointKind } from '../data/lab-db.ts';
import { MAX_DATASET_CHARS, parseRankings, rankingsToJsonl } from '../rlhf/datasets.ts';
import {
  PIPELINE_PRESETS,
  PIPELINE_STAGES,
  runPipeline,
  stageIdentity,
  type PipelinePresetName,
  type PipelineSettings,
  type PipelineStage,
  type StageOutputs,
} from '../rlhf/pipeline.ts';
import type { PpoMetrics } from '../rlhf/ppo.ts';
import { readCheckpointDir, resolveModelDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { fileSystemError, readFileText, writeFileAtomically } from './files.ts';
import { adapterName, worldSeedOption } from './common.ts';
import { numberOption, optionalStringOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

type ModelStage = Exclude<PipelineStage, 'rankings'>;

const CHECKPOINT_KIND: Record<ModelStage, { kind: CheckpointKind; parent: CheckpointKind }> = {
  sft: { kind: 'sft', parent: 'base' },
  reward_model: { kind: 'reward_model', parent: 'sft' },
  ppo: { kind: 'policy', parent: 'sft' },
  ppo_ptx: { kind: 'policy', parent: 'sft' },
  dpo: { kind: 'dpo', parent: 'sft' },
};

const STAGES_FILE = 'stages.json';
const RANKING_FILES = { train: 'rankings.jsonl', heldout: 'heldout-rankings.jsonl' } as const;

/** OUT/stages.json: the run a folder belongs to and, for each finished stage, what it depended on. */
interface StagesRecord {
  run: Record<string, string>;
  stages: Partial<
    Record<
      PipelineStage,
      { identity: string; train_accuracy?: number; heldout_accuracy?: number; history?: PpoMetrics[] }
    >
  >;
}

async function readStagesRecord(out: string): Promise<StagesRecord | undefined> {
  const path = join(out, STAGES_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFileText(path, MAX_DATASET_CHARS, 'stages.json')) as StagesRecord;
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message}): delete it to start the run again`, {
      cause: error,
    });
  }
}

/** Refuses a folder saved by another run (other base or seeds) before any work; nothing is overwritten. */
function checkSameRun(out: string, record: StagesRecord | undefined, run: Record<string, string>): void {
  if (!record) {
    if (existsSync(join(out, 'sft')))
      throw new Error(`${out} holds pipeline output without ${STAGES_FILE}: delete it or choose another --out`);
    return;
  }
  const differing = Object.entries(run).filter(([key, value]) => record.run[key] !== value);
  if (differing.length > 0) {
    const what = differing.map(([key, value]) => `${key} ${record.run[key] ?? 'missing'} ≠ ${value}`).join(', ');
    throw new Error(`${out} holds a different pipeline run (${what}): delete it or choose another --out`);
  }
}

/** The outputs of the finished stages whose identity still matches, in stage order up to the first that does not. */
async function savedStages(
  out: string,
  record: StagesRecord | undefined,
  settings: PipelineSettings,
): Promise<Partial<StageOutputs>> {
  const saved: Partial<StageOutputs> = {};
  for (const stage of PIPELINE_STAGES) {
    const entry = record?.stages[stage];
    if (!entry || entry.identity !== stageIdentity(settings, stage)) break;
    if (stage === 'rankings') {
      const read = async (split: 'train' | 'heldout') =>
        parseRankings(await readFileText(join(out, RANKING_FILES[split]), MAX_DATASET_CHARS, 'rankings file'));
      saved.rankings = { train: await read('train'), heldout: await read('heldout') };
      continue;
    }
    const checkpoint = await readCheckpointDir(join(out, stage));
    if (stage === 'reward_model') {
      if (!checkpoint.scalarHead)
        throw new Error(`${join(out, stage)} has no scalar head: delete it to train the reward model again`);
      saved.reward_model = {
        params: checkpoint.params,
        scalarHead: checkpoint.scalarHead,
        train_accuracy: entry.train_accuracy ?? NaN,
        heldout_accuracy: entry.heldout_accuracy ?? NaN,
      };
    } else if (stage === 'ppo' || stage === 'ppo_ptx') {
      saved[stage] = { params: checkpoint.params, history: entry.history ?? [] };
    } else {
      saved[stage] = { params: checkpoint.params };
    }
  }
  return saved;
}

/** Writes a stage's output into OUT and records it in stages.json, forgetting the stages after it (they depended on the old one). */
async function saveStage<S extends PipelineStage>(
  out: string,
  base: Checkpoint,
  record: StagesRecord,
  settings: PipelineSettings,
  stage: S,
  output: StageOutputs[S],
): Promise<string> {
  const entry: StagesRecord['stages'][PipelineStage] = { identity: stageIdentity(settings, stage) };
  if (stage === 'rankings') {
    const { train, heldout } = output as StageOutputs['rankings'];
    await writeFileAtomically(join(out, RANKING_FILES.train), rankingsToJsonl(train));
    await writeFileAtomically(join(out, RANKING_FILES.heldout), rankingsToJsonl(heldout));
  } else {
    const { params, scalarHead } = output as { params: Float32Array; scalarHead?: Float32Array };
    const { kind, parent } = CHECKPOINT_KIND[stage as ModelStage];
    const meta = { ...record.run, kind, parent_kind: parent, stage, stage_settings: entry.identity };
    await writeCheckpointDir(join(out, stage), {
      config: base.config,
      tokenizer: base.tokenizer,
      params,
      scalarHead,
      meta,
    });
  }
  if (stage === 'reward_model')
    Object.assign(entry, {
      train_accuracy: (output as StageOutputs['reward_model']).train_accuracy,
      heldout_accuracy: (output as StageOutputs['reward_model']).heldout_accuracy,
    });
  if (stage === 'ppo' || stage === 'ppo_ptx') entry.history = (output as StageOutputs['ppo']).history;
  const later = PIPELINE_STAGES.slice(PIPELINE_STAGES.indexOf(stage) + 1);
  record.stages = {
    ...Object.fromEntries(Object.entries(record.stages).filter(([name]) => !later.includes(name as PipelineStage))),
    [stage]: entry,
  };
  await writeFileAtomically(join(out, STAGES_FILE), `${JSON.stringify(record, null, 1)}\n`);
  return stage === 'rankings'
    ? `${join(out, RANKING_FILES.train)} and ${join(out, RANKING_FILES.heldout)}`
    : join(out, stage);
}

/** Runs `rlhf-lab pipeline` for a context declared with its options (the command itself, and gpu-check --pipeline). */
export async function runPipelineCommand(context: CommandContext): Promise<unknown> {
  const presetName = stringOption(context, 'preset') as PipelinePresetName;
  if (!(presetName in PIPELINE_PRESETS))
    throw new Error(`--preset must be one of ${Object.keys(PIPELINE_PRESETS).join(', ')}, got '${presetName}'`);
  const base = await readCheckpointDir(resolveModelDir(context.values.model));
  const preset = PIPELINE_PRESETS[presetName];
  const settings = { ...preset, T: Math.min(preset.T, base.config.nCtx) };
  const seed = numberOption(context, 'seed');
  const worldSeed = worldSeedOption(context, base);
  const out = optionalStringOption(context, 'out');
  const run = {
    seed: String(worldSeed),
    training_seed: String(seed),
    pipeline_preset: presetName,
    base: resolve(resolveModelDir(context.values.model)),
  };
  let saved: Partial<StageOutputs> = {};
  let onStage: (<S extends PipelineStage>(stage: S, output: StageOutputs[S]) => Promise<void>) | undefined;
  if (out) {
    const previous = await readStagesRecord(out);
    checkSameRun(out, previous, run);
    saved = await savedStages(out, previous, settings);
    const reused = Object.keys(saved);
    if (reused.length > 0)
      context.log(`resuming ${out}: reusing ${reused.join(', ')} (unchanged settings); the stages after run again`);
    await mkdir(out, { recursive: true }).catch((error: unknown) => {
      throw fileSystemError('create', out, error);
    });
    const record: StagesRecord = { run, stages: previous?.stages ?? {} };
    onStage = async (stage, output) =>
      context.log(`saved ${await saveStage(out, base, record, settings, stage, output)}`);
  }
  const started = performance.now();
  return withGpu(async (gpu) => {
    context.log(`pipeline ${presetName}, seed ${seed}, on ${adapterName(gpu)}`);
    const report = await runPipeline(gpu.device, base, {
      settings,
      seed,
      worldSeed,
      onStage,
      saved,
      onProgress: (p) => context.log(`[${p.stage}] ${p.message}`),
    });
    // NaN: no held-out prompt of that family was evaluated (e.g. among the micro preset's 4 prompts).
    const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)}%`).padStart(5);
    const rm = report.reward_model;
    context.log(
      `reward model held-out accuracy ${rm.heldout_accuracy.toFixed(3)} (the held-out labeler's noise-free score: ${rm.heldout_ceiling.toFixed(3)}); labeler agreement: training ${rm.labeler_agreement.training.toFixed(3)}, held-out ${rm.labeler_agreement.heldout.toFixed(3)}`,
    );
    context.log('model     vs SFT  vs base  Likert  follows truthful halluc. toxic  pretrain loss');
    for (const [name, m] of Object.entries(report.models)) {
      context.log(
        `${name.padEnd(8)} ${pct(m.win_rate_vs_sft)} ${pct(m.win_rate_vs_base)}    ${m.likert.toFixed(2)}  ${pct(m.follows_instruction)}   ${pct(m.truthful)}   ${pct(m.hallucination)}  ${pct(m.toxicity)}  ${m.pretrain_loss.toFixed(3)}`,
      );
    }
    const result = {
      preset: presetName,
      seed,
      adapter: adapterName(gpu),
      seconds: (performance.now() - started) / 1000,
      settings,
      ...report,
    };
    if (out) await writeFileAtomically(join(out, 'report.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  });
}

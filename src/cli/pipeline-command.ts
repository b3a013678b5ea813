// `rlhf-lab pipeline [--preset micro|small] [--seed S] [--model DIR] [--world-seed S] [--out DIR]`:
// the whole InstructGPT recipe from a base checkpoint (the shipped one by default) — SFT, rankings
// by the training labeler, reward model, PPO, PPO-ptx, DPO — and the held-out evaluation table.
// With --out, every trained model is saved as it finishes (OUT/sft, OUT/reward_model, OUT/ppo,
// OUT/ppo_ptx, OUT/dpo), the rankings as OUT/rankings.jsonl and OUT/heldout-rankings.jsonl (K-way
// records that `rlhf-lab rm --rankings` reads) and the report as OUT/report.json; a later run with
// the same --out, base, seeds and SFT settings reuses OUT/sft instead of training it again.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Checkpoint } from '../model/checkpoint.ts';
import type { CheckpointKind } from '../data/lab-db.ts';
import type { Ranking } from '../world/index.ts';
import { rankingsToJsonl } from '../rlhf/datasets.ts';
import { PIPELINE_PRESETS, runPipeline, sftStageSettings, type PipelinePresetName, type TrainedModel } from '../rlhf/pipeline.ts';
import { readCheckpointDir, resolveModelDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { adapterName } from './sft-command.ts';
import { numberOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

const CHECKPOINT_KIND: Record<TrainedModel['name'], { kind: CheckpointKind; parent: CheckpointKind }> = {
  sft: { kind: 'sft', parent: 'base' },
  reward_model: { kind: 'reward_model', parent: 'sft' },
  ppo: { kind: 'policy', parent: 'sft' },
  ppo_ptx: { kind: 'policy', parent: 'sft' },
  dpo: { kind: 'dpo', parent: 'sft' },
};

/**
 * OUT/sft when an earlier run saved it from the same base with the same seeds and SFT settings;
 * undefined when there is none; an error when it came from a different run (nothing is overwritten).
 */
async function savedSft(out: string, expected: Record<string, string>): Promise<Float32Array | undefined> {
  const dir = join(out, 'sft');
  if (!existsSync(join(dir, 'model.safetensors'))) return undefined;
  const saved = await readCheckpointDir(dir);
  const differing = Object.entries(expected).filter(([key, value]) => saved.meta?.[key] !== value);
  if (differing.length > 0) {
    const what = differing.map(([key, value]) => `${key} ${saved.meta?.[key] ?? 'missing'} ≠ ${value}`).join(', ');
    throw new Error(`${dir} was saved by a different pipeline run (${what}): delete it or choose another --out`);
  }
  return saved.params;
}

/** Writes OUT/<name> with its lineage (kind, parent stage, the TinyWorld and training seeds). */
async function saveTrainedModel(out: string, base: Checkpoint, model: TrainedModel, lineage: Record<string, string>): Promise<void> {
  const { kind, parent } = CHECKPOINT_KIND[model.name];
  const meta = { ...lineage, kind, parent_kind: parent, stage: model.name };
  await writeCheckpointDir(join(out, model.name), { config: base.config, tokenizer: base.tokenizer, params: model.params, scalarHead: model.scalarHead, meta });
}

export async function pipelineCommand(context: CommandContext): Promise<unknown> {
  const presetName = (stringOption(context, 'preset') ?? 'small') as PipelinePresetName;
  if (!(presetName in PIPELINE_PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PIPELINE_PRESETS).join(', ')}, got '${presetName}'`);
  const base = await readCheckpointDir(resolveModelDir(context.values.model));
  const preset = PIPELINE_PRESETS[presetName];
  const settings = { ...preset, T: Math.min(preset.T, base.config.nCtx) };
  const seed = numberOption(context, 'seed', 1, { integer: true, min: 0 });
  const worldSeed = numberOption(context, 'world-seed', Number(base.meta?.seed ?? 1), { integer: true, min: 0 });
  const out = stringOption(context, 'out');
  const baseDir = resolve(resolveModelDir(context.values.model));
  const lineage = { seed: String(worldSeed), training_seed: String(seed), pipeline_preset: presetName, base: baseDir };
  const sftIdentity = { ...lineage, sft_settings: sftStageSettings(settings) };
  const onModel = out
    ? async (model: TrainedModel) => {
        await saveTrainedModel(out, base, model, model.name === 'sft' ? sftIdentity : lineage);
        context.log(`saved ${join(out, model.name)}`);
      }
    : undefined;
  const onRankings = out
    ? async (split: 'train' | 'heldout', rankings: readonly Ranking[]) => {
        const file = join(out, split === 'train' ? 'rankings.jsonl' : 'heldout-rankings.jsonl');
        await writeFile(file, rankingsToJsonl(rankings));
        context.log(`saved ${rankings.length} rankings to ${file}`);
      }
    : undefined;
  const sftFromEarlierRun = out ? await savedSft(out, sftIdentity) : undefined;
  if (out && sftFromEarlierRun) context.log(`reusing ${join(out, 'sft')} (same base, seeds and SFT settings); delete it to train SFT again`);
  const started = performance.now();
  return withGpu(async (gpu) => {
    context.log(`pipeline ${presetName}, seed ${seed}, on ${adapterName(gpu)}`);
    const report = await runPipeline(gpu.device, base, { settings, seed, worldSeed, onModel, onRankings, savedSft: sftFromEarlierRun, onProgress: (p) => context.log(`[${p.stage}] ${p.message}`) });
    // NaN: no held-out prompt of that family was evaluated (e.g. among the micro preset's 4 prompts).
    const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)}%`).padStart(5);
    const rm = report.reward_model;
    context.log(`reward model held-out accuracy ${rm.heldout_accuracy.toFixed(3)} (the held-out labeler's noise-free score: ${rm.heldout_ceiling.toFixed(3)})`);
    context.log('model     vs SFT  vs base  Likert  follows truthful halluc. toxic  pretrain loss');
    for (const [name, m] of Object.entries(report.models)) {
      context.log(
        `${name.padEnd(8)} ${pct(m.win_rate_vs_sft)} ${pct(m.win_rate_vs_base)}    ${m.likert.toFixed(2)}  ${pct(m.follows_instruction)}   ${pct(m.truthful)}   ${pct(m.hallucination)}  ${pct(m.toxicity)}  ${m.pretrain_loss.toFixed(3)}`,
      );
    }
    const result = { preset: presetName, seed, adapter: adapterName(gpu), seconds: (performance.now() - started) / 1000, settings, ...report };
    if (out) await writeFile(join(out, 'report.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  });
}

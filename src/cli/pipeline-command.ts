// `rlhf-lab pipeline [--preset micro|small] [--seed S] [--model DIR] [--world-seed S] [--out DIR]`:
// the whole InstructGPT recipe from a base checkpoint (the shipped one by default) — SFT, rankings
// by the training labeler, reward model, PPO, PPO-ptx, DPO — and the held-out evaluation table.
// With --out, every trained model is saved as it finishes (OUT/sft, OUT/reward_model, OUT/ppo,
// OUT/ppo_ptx, OUT/dpo) and the report as OUT/report.json, so a long run loses nothing it has done.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint } from '../model/checkpoint.ts';
import { PIPELINE_PRESETS, runPipeline, type PipelinePresetName, type TrainedModel } from '../rlhf/pipeline.ts';
import { readCheckpointDir, resolveModelDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

const CHECKPOINT_KIND: Record<TrainedModel['name'], { kind: string; parent: string }> = {
  sft: { kind: 'sft', parent: 'base' },
  reward_model: { kind: 'rm', parent: 'sft' },
  ppo: { kind: 'policy', parent: 'sft' },
  ppo_ptx: { kind: 'policy', parent: 'sft' },
  dpo: { kind: 'dpo', parent: 'sft' },
};

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
  const lineage = { seed: String(worldSeed), training_seed: String(seed), pipeline_preset: presetName };
  const onModel = out
    ? async (model: TrainedModel) => {
        await saveTrainedModel(out, base, model, lineage);
        context.log(`saved ${join(out, model.name)}`);
      }
    : undefined;
  const started = performance.now();
  return withGpu(async (gpu) => {
    context.log(`pipeline ${presetName}, seed ${seed}, on ${gpu.info.backend} ${gpu.info.description || gpu.info.device}`);
    const report = await runPipeline(gpu.device, base, { settings, seed, worldSeed, onModel, onProgress: (p) => context.log(`[${p.stage}] ${p.message}`) });
    // NaN: no held-out prompt of that family was evaluated (e.g. among the micro preset's 4 prompts).
    const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)}%`).padStart(5);
    context.log(`reward model held-out accuracy ${report.reward_model.heldout_accuracy.toFixed(3)}`);
    context.log('model     vs SFT  vs base  Likert  follows truthful halluc. toxic  pretrain loss');
    for (const [name, m] of Object.entries(report.models)) {
      context.log(
        `${name.padEnd(8)} ${pct(m.win_rate_vs_sft)} ${pct(m.win_rate_vs_base)}    ${m.likert.toFixed(2)}  ${pct(m.follows_instruction)}   ${pct(m.truthful)}   ${pct(m.hallucination)}  ${pct(m.toxicity)}  ${m.pretrain_loss.toFixed(3)}`,
      );
    }
    const result = { preset: presetName, seed, adapter: `${gpu.info.backend} ${gpu.info.description || gpu.info.device}`, seconds: (performance.now() - started) / 1000, settings, ...report };
    if (out) await writeFile(join(out, 'report.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  });
}

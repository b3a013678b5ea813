// `rlhf-lab pipeline [--preset micro|small] [--seed S] [--model DIR] [--world-seed S]`: the whole
// InstructGPT recipe from a base checkpoint (the shipped one by default) — SFT, rankings by the
// training labeler, reward model, PPO, PPO-ptx, DPO — and the held-out evaluation table.
import { PIPELINE_PRESETS, runPipeline, type PipelinePresetName } from '../rlhf/pipeline.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { numberOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function pipelineCommand(context: CommandContext): Promise<unknown> {
  const presetName = (stringOption(context, 'preset') ?? 'small') as PipelinePresetName;
  if (!(presetName in PIPELINE_PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PIPELINE_PRESETS).join(', ')}, got '${presetName}'`);
  const base = await readCheckpointDir(resolveModelDir(context.values.model));
  const preset = PIPELINE_PRESETS[presetName];
  const settings = { ...preset, T: Math.min(preset.T, base.config.nCtx) };
  const seed = numberOption(context, 'seed', 1, { integer: true, min: 0 });
  const worldSeed = numberOption(context, 'world-seed', Number(base.meta?.seed ?? 1), { integer: true, min: 0 });
  const started = performance.now();
  return withGpu(async (gpu) => {
    context.log(`pipeline ${presetName}, seed ${seed}, on ${gpu.info.backend} ${gpu.info.description || gpu.info.device}`);
    const report = await runPipeline(gpu.device, base, { settings, seed, worldSeed, onProgress: (p) => context.log(`[${p.stage}] ${p.message}`) });
    // NaN: no held-out prompt of that family was evaluated (e.g. among the micro preset's 4 prompts).
    const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)}%`).padStart(5);
    context.log(`reward model held-out accuracy ${report.reward_model.heldout_accuracy.toFixed(3)}`);
    context.log('model     vs SFT  vs base  Likert  follows truthful halluc. toxic  pretrain loss');
    for (const [name, m] of Object.entries(report.models)) {
      context.log(
        `${name.padEnd(8)} ${pct(m.win_rate_vs_sft)} ${pct(m.win_rate_vs_base)}    ${m.likert.toFixed(2)}  ${pct(m.follows_instruction)}   ${pct(m.truthful)}   ${pct(m.hallucination)}  ${pct(m.toxicity)}  ${m.pretrain_loss.toFixed(3)}`,
      );
    }
    return { preset: presetName, seed, adapter: `${gpu.info.backend} ${gpu.info.description || gpu.info.device}`, seconds: (performance.now() - started) / 1000, ...report };
  });
}

// `rlhf-lab eval` (options and defaults: commands.ts, `rlhf-lab eval --help`): answers
// TinyWorld's held-out instruction prompts with a checkpoint and reports the held-out labeler's
// judgement (Likert, instruction following, truthfulness, hallucination, toxicity) and the
// held-out pretraining-corpus loss, with a few sample answers. Prompts too long for the model's
// context are skipped and counted.
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import { labelerReport } from '../rlhf/evaluate.ts';
import { runEvaluationStage } from '../rlhf/evaluation-stage.ts';
import { promptsThatFit } from '../rlhf/model-outputs.ts';
import { buildPromptSet, heldoutLabeler } from '../world/index.ts';
import { PRETRAIN_DOCUMENTS, worldSeedOption } from './common.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { numberOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function evalCommand(context: CommandContext): Promise<unknown> {
  const dir = resolveModelDir(context.values.model);
  const checkpoint = await readCheckpointDir(dir);
  const worldSeed = worldSeedOption(context, checkpoint);
  const count = numberOption(context, 'prompts');
  const sampling = {
    ...DEFAULT_SAMPLING,
    temperature: numberOption(context, 'temperature'),
    seed: numberOption(context, 'seed'),
    maxNewTokens: 48,
  };
  const { config, tokenizer } = checkpoint;
  const candidates = buildPromptSet(worldSeed).heldout.slice(0, count);
  const prompts = promptsThatFit(tokenizer, candidates, 1, config.nCtx);
  const skipped = candidates.length - prompts.length;
  if (prompts.length === 0)
    throw new Error(
      `none of the ${candidates.length} held-out prompts leaves room for an answer in ${dir}'s context of ${config.nCtx} tokens: evaluate a model with a longer context`,
    );
  if (skipped > 0)
    context.log(
      `skipping ${skipped} of ${candidates.length} held-out prompts: they leave no room for an answer in the context of ${config.nCtx} tokens`,
    );
  return withGpu(async (gpu) => {
    const { model: answers } = await runEvaluationStage(gpu.device, checkpoint, { model: checkpoint.params }, prompts, {
      sampler: { B: 16, T: config.nCtx },
      sampling,
      loss: { B: 8, T: Math.min(64, config.nCtx), batches: 8, documents: PRETRAIN_DOCUMENTS, worldSeed },
    });
    const { pretrainLoss } = answers;
    const report = labelerReport(prompts, answers.responses, heldoutLabeler);
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    context.log(
      `${dir}: Likert ${report.likert.toFixed(2)}, follows ${pct(report.follows_instruction)}, truthful ${pct(report.truthful)}, ` +
        `hallucination ${pct(report.hallucination)}, toxicity ${pct(report.toxicity)}, ended ${pct(report.ended)}, pretrain loss ${pretrainLoss.toFixed(3)}`,
    );
    for (const sample of report.samples.slice(0, 6))
      context.log(
        `  [${sample.family}] ${sample.prompt} → ${JSON.stringify(sample.text)} (${sample.likert.toFixed(1)})`,
      );
    const { samples, ...metrics } = report;
    return {
      model: dir,
      world_seed: worldSeed,
      skipped_prompts: skipped,
      ...metrics,
      pretrain_loss: pretrainLoss,
      samples: samples.slice(0, 12),
    };
  });
}

// `rlhf-lab eval` (options and defaults: commands.ts, `rlhf-lab eval --help`): answers
// TinyWorld's held-out instruction prompts with a checkpoint and reports the held-out labeler's
// judgement (Likert, instruction following, truthfulness, hallucination, toxicity) and the
// held-out pretraining-corpus loss, with a few sample answers. Prompts too long for the model's
// context are skipped and counted.
import { GptModel } from '../model/gpt.ts';
import { evaluationLoss, evaluationWindows, heldoutCount, tokenStream } from '../model/lm-training.ts';
import { GptSampler, DEFAULT_SAMPLING } from '../model/sampler.ts';
import { createStorageBufferFrom } from '../engine/buffers.ts';
import { generateResponses, labelerReport } from '../rlhf/evaluate.ts';
import { promptsThatFit } from '../rlhf/model-outputs.ts';
import { buildPromptSet, generateCorpus, heldoutLabeler } from '../world/index.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { numberOption, optionalNumberOption } from './options.ts';
import { PRETRAIN_DOCUMENTS } from './pretrain-command.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function evalCommand(context: CommandContext): Promise<unknown> {
  const dir = resolveModelDir(context.values.model);
  const checkpoint = await readCheckpointDir(dir);
  const worldSeed = optionalNumberOption(context, 'world-seed') ?? Number(checkpoint.meta?.seed ?? 1);
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
  if (prompts.length === 0) throw new Error(`none of the ${candidates.length} held-out prompts leaves room for an answer in ${dir}'s context of ${config.nCtx} tokens: evaluate a model with a longer context`);
  if (skipped > 0) context.log(`skipping ${skipped} of ${candidates.length} held-out prompts: they leave no room for an answer in the context of ${config.nCtx} tokens`);
  return withGpu(async (gpu) => {
    const params = createStorageBufferFrom(gpu.device, 'eval.params', checkpoint.params);
    const sampler = new GptSampler(gpu.device, config, params, 'lm', 16, config.nCtx, tokenizer.eosId, 'eval.sampler');
    const responses = await generateResponses(sampler, tokenizer, prompts, sampling);
    const report = labelerReport(prompts, responses, heldoutLabeler);
    const model = new GptModel(gpu.device, config, 'lm', 8, Math.min(64, config.nCtx), 'eval.lm');
    model.writeParams(checkpoint.params);
    const corpus = generateCorpus(worldSeed, heldoutCount(PRETRAIN_DOCUMENTS));
    const pretrainLoss = await evaluationLoss(model, evaluationWindows(tokenStream(tokenizer, corpus), model.B, model.T, 8));
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    context.log(
      `${dir}: Likert ${report.likert.toFixed(2)}, follows ${pct(report.follows_instruction)}, truthful ${pct(report.truthful)}, ` +
        `hallucination ${pct(report.hallucination)}, toxicity ${pct(report.toxicity)}, ended ${pct(report.ended)}, pretrain loss ${pretrainLoss.toFixed(3)}`,
    );
    for (const sample of report.samples.slice(0, 6)) context.log(`  [${sample.family}] ${sample.prompt} → ${JSON.stringify(sample.text)} (${sample.likert.toFixed(1)})`);
    const { samples, ...metrics } = report;
    return { model: dir, world_seed: worldSeed, skipped_prompts: skipped, ...metrics, pretrain_loss: pretrainLoss, samples: samples.slice(0, 12) };
  });
}


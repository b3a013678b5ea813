// `rlhf-lab sft` (options and defaults: commands.ts, `rlhf-lab sft --help`): supervised fine-tuning (InstructGPT §3.5) of a base
// checkpoint (the shipped one by default) on demonstrations — a TRL prompt–completion JSONL file,
// or TinyWorld's starter demonstrations — written as an 'sft' checkpoint whose lineage names its
// parent.
import { demonstrationSequences, parseDemonstrations, unframeDemonstration } from '../rlhf/datasets.ts';
import { pretrainingMixStream } from '../rlhf/pretraining-text.ts';
import type { SftProgress } from '../rlhf/sft.ts';
import { runSftStage } from '../rlhf/sft-stage.ts';
import { buildDemonstrations, buildPromptSet } from '../world/index.ts';
import {
  adapterName,
  lineage,
  logEveryFor,
  outOption,
  readJsonlFile,
  readLanguageModel,
  shapeOptions,
  trainingOptions,
  worldSeedOption,
} from './common.ts';
import { resolveModelDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, optionalNumberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function sftCommand(context: CommandContext): Promise<unknown> {
  const out = await outOption(context);
  const modelDir = resolveModelDir(context.values.model);
  const base = await readLanguageModel(modelDir, '--model');
  const worldSeed = worldSeedOption(context, base);
  const { B, T } = shapeOptions(context, base);
  const { lr, epochs, seed } = trainingOptions(context);
  const limit = optionalNumberOption(context, 'limit');
  const pretrainMix = numberOption(context, 'pretrain-mix');
  const dataPath = optionalStringOption(context, 'data');

  const demonstrations = dataPath
    ? (await readJsonlFile(dataPath, parseDemonstrations)).map(unframeDemonstration)
    : buildDemonstrations(worldSeed, buildPromptSet(worldSeed).train);
  const data = demonstrationSequences(base.tokenizer, demonstrations.slice(0, limit));
  const dataName = dataPath ?? `TinyWorld ${worldSeed} starter demonstrations`;
  context.log(
    `SFT of ${modelDir} on ${data.length} demonstrations (${dataName}), ${epochs} epochs, lr ${lr}, batch ${B}×${T}`,
  );
  const started = performance.now();

  return withGpu(async (gpu) => {
    const losses: number[] = [];
    let last: SftProgress | undefined;
    const onProgress = (p: SftProgress) => {
      gpu.assertHealthy();
      losses.push(p.loss);
      last = p;
      const mix = p.pretrain_loss === undefined ? '' : ` pretrain ${p.pretrain_loss.toFixed(3)}`;
      context.log(
        `SFT epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} token accuracy ${p.mean_token_accuracy.toFixed(3)}${mix} lr ${p.learning_rate.toExponential(2)}`,
      );
    };
    const settings = {
      B,
      T,
      epochs,
      lr,
      seed,
      ...(pretrainMix > 0 && { pretrainMix, pretrainStream: pretrainingMixStream(base.tokenizer, worldSeed) }),
      logEvery: logEveryFor(epochs * Math.ceil(data.length / B)),
    };
    const { params, result } = await runSftStage(gpu.device, base, data, settings, { onProgress });
    if (result.truncated + result.dropped > 0)
      context.log(
        `${result.truncated} responses cut to fit T=${T}, ${result.dropped} demonstrations dropped (no room)`,
      );
    const meta = lineage('sft', modelDir, base, worldSeed, seed, {
      data: dataName,
      demonstrations: data.length,
      epochs,
      lr,
      steps: result.steps,
    });
    await writeCheckpointDir(out, { config: base.config, params, tokenizer: base.tokenizer, meta });
    context.log(`wrote ${out}: loss ${losses[0]?.toFixed(3)} → ${result.loss.toFixed(3)}`);
    return {
      out,
      model: modelDir,
      data: dataName,
      demonstrations: data.length,
      steps: result.steps,
      first_loss: losses[0],
      loss: result.loss,
      token_accuracy: last?.mean_token_accuracy,
      truncated: result.truncated,
      dropped: result.dropped,
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}

// `rlhf-lab rm` (options and defaults: commands.ts, `rlhf-lab rm --help`):
// the reward model of InstructGPT §3.5 — the SFT trunk with a scalar head trained on K-way
// rankings — written as a 'reward_model' checkpoint (score.weight/score.bias beside the trunk). Without a
// data file, K outputs of the SFT model per TinyWorld train prompt are ranked by the training
// labeler; held-out accuracy is measured on the model's outputs for held-out prompts ranked by the
// held-out labeler (or on the given held-out file): ranking-data.ts, which `rlhf-lab dpo` reads too.
import { demonstrationSequences } from '../rlhf/datasets.ts';
import type { RewardModelProgress } from '../rlhf/reward-model.ts';
import { rewardModelRows, runRewardModelStage } from '../rlhf/reward-model-stage.ts';
import { buildDemonstrations, buildPromptSet } from '../world/index.ts';
import {
  adapterName,
  lineage,
  logEveryFor,
  outOption,
  requiredSftModel,
  shapeOptions,
  trainingOptions,
  worldSeedOption,
} from './common.ts';
import { writeCheckpointDir } from './fs-checkpoint.ts';
import type { CommandContext } from './main.ts';
import { rankingData, rankingDataPlan } from './ranking-data.ts';
import { withGpu } from './with-gpu.ts';

export async function rmCommand(context: CommandContext): Promise<unknown> {
  const out = await outOption(context);
  const { dir: modelDir, checkpoint: sft } = await requiredSftModel(
    context,
    'model',
    'the SFT checkpoint whose trunk the reward model starts from',
  );
  const worldSeed = worldSeedOption(context, sft);
  const { B, T } = shapeOptions(context, sft);
  const { lr, epochs, seed } = trainingOptions(context);
  const plan = await rankingDataPlan(context);
  const started = performance.now();

  return withGpu(async (gpu) => {
    const data = await rankingData(context, gpu, sft, plan, { B, T, seed, worldSeed });
    const { tokenizer, config } = sft;
    const rankings = { train: data.train.rankings, ...(data.heldout && { heldout: data.heldout.rankings }) };
    // 2·B of TinyWorld's starter demonstrations (those whose prompt fits T) set the rewards' zero
    const starter = buildDemonstrations(worldSeed, buildPromptSet(worldSeed).train.slice(0, 2 * B));
    const demonstrations = demonstrationSequences(tokenizer, starter).filter((d) => d.prompt.length < T);
    const heldoutCount = rankings.heldout?.length ?? 0;
    context.log(
      `reward model from ${modelDir} on ${rankings.train.length} rankings (${data.train.source}), ${heldoutCount} held-out; ${epochs} epoch(s), lr ${lr}`,
    );

    const rows = rewardModelRows(B, [...rankings.train, ...(rankings.heldout ?? [])]);
    const totalSteps = epochs * Math.ceil(rankings.train.reduce((sum, r) => sum + r.responses.length, 0) / rows);
    const onProgress = (p: RewardModelProgress) => {
      gpu.assertHealthy();
      context.log(
        `RM epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p.accuracy.toFixed(2)} margin ${p.margin.toFixed(3)}`,
      );
    };
    const settings = { B, T, epochs, lr, seed, logEvery: logEveryFor(totalSteps), evaluateBefore: true };
    const { model, result, before } = await runRewardModelStage(
      gpu.device,
      sft,
      { ...rankings, demonstrations },
      settings,
      { onProgress },
    );
    const initial = before!;
    const heldoutAccuracy = result.heldout?.accuracy ?? null;
    const meta = lineage('reward_model', modelDir, sft, worldSeed, seed, {
      data: data.train.source,
      heldout_data: data.heldout?.source ?? 'none',
      rankings: rankings.train.length,
      epochs,
      lr,
      train_accuracy: result.train.accuracy,
      heldout_accuracy: String(heldoutAccuracy),
    });
    await writeCheckpointDir(out, { config, ...model, tokenizer, meta });
    const ceiling = data.heldout?.labelerCeiling;
    const ceilingText =
      ceiling === undefined
        ? ''
        : `; the held-out labeler's own noise-free score orders ${ceiling.toFixed(3)} of them as it ranked them`;
    const heldoutText =
      heldoutAccuracy === null
        ? 'no held-out rankings'
        : `held-out accuracy ${heldoutAccuracy.toFixed(3)} (${result.heldout!.pairs} comparisons${ceilingText})`;
    context.log(
      `wrote ${out}: train loss ${initial.loss.toFixed(3)} → ${result.train.loss.toFixed(3)}, accuracy ${result.train.accuracy.toFixed(3)} (${result.train.pairs} comparisons), ${heldoutText}`,
    );
    return {
      out,
      model: modelDir,
      data: data.train.source,
      heldout_data: data.heldout?.source ?? null,
      rankings: rankings.train.length,
      heldout_rankings: heldoutCount,
      steps: result.steps,
      initial_loss: initial.loss,
      loss: result.loss,
      train_loss: result.train.loss,
      train_accuracy: result.train.accuracy,
      heldout_loss: result.heldout?.loss ?? null,
      heldout_accuracy: heldoutAccuracy,
      heldout_labeler_ceiling: ceiling ?? null,
      reward_model: {
        heldout_accuracy: heldoutAccuracy,
        heldout_ceiling: ceiling ?? null,
        labeler_agreement: {
          training: data.train.labelerAgreement ?? null,
          heldout: data.heldout?.labelerAgreement ?? null,
        },
      },
      reward_shift: result.biasShift ?? null,
      truncated: result.truncated,
      dropped: result.dropped,
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}

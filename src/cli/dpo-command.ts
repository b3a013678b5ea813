// `rlhf-lab dpo` (options and defaults: commands.ts, `rlhf-lab dpo --help`):
// Direct Preference Optimization from the SFT model on the same comparison data the reward model
// trains on (rlhf-lab rm's data options and defaults), the SFT model as the frozen reference.
// Writes a 'dpo' checkpoint whose lineage names its SFT parent (the kind the pipeline and the lab give it).
import { encodePreferencePairs, type DpoProgress } from '../rlhf/dpo.ts';
import { runDpoStage } from '../rlhf/dpo-stage.ts';
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
import { numberOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { rankingData, rankingDataPlan } from './ranking-data.ts';
import { withGpu } from './with-gpu.ts';

export async function dpoCommand(context: CommandContext): Promise<unknown> {
  const out = await outOption(context);
  const { dir: modelDir, checkpoint: sft } = await requiredSftModel(
    context,
    'model',
    'the SFT checkpoint DPO starts from and keeps as its reference',
  );
  const worldSeed = worldSeedOption(context, sft);
  const { B, T } = shapeOptions(context, sft);
  if (B < 2) throw new Error('--batch must be at least 2 for DPO (each pair takes two rows)');
  const beta = numberOption(context, 'beta');
  if (beta === 0) throw new Error('--beta must be > 0 (at 0 the DPO loss is constant)');
  const { lr, epochs, seed } = trainingOptions(context);
  const plan = await rankingDataPlan(context);
  const started = performance.now();

  return withGpu(async (gpu) => {
    const data = await rankingData(context, gpu, sft, plan, { B, T, seed, worldSeed });
    const { tokenizer, config } = sft;
    const pairs = encodePreferencePairs(tokenizer, data.train.rankings);
    const heldout = data.heldout ? encodePreferencePairs(tokenizer, data.heldout.rankings) : [];
    context.log(
      `DPO from ${modelDir} on ${pairs.length} pairs (${data.train.source}), ${heldout.length} held-out; β ${beta}, ${epochs} epochs, lr ${lr}`,
    );

    const losses: number[] = [];
    const onProgress = (p: DpoProgress) => {
      gpu.assertHealthy();
      losses.push(p.loss);
      context.log(
        `DPO epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p['rewards/accuracies'].toFixed(2)} margin ${p['rewards/margins'].toFixed(3)}`,
      );
    };
    const settings = {
      B,
      T,
      epochs,
      lr,
      seed,
      beta,
      logEvery: logEveryFor(epochs * Math.ceil(pairs.length / Math.floor(B / 2))),
      evaluateTrain: true,
    };
    const {
      params,
      result,
      train: trained,
    } = await runDpoStage(gpu.device, sft, { train: pairs, heldout }, settings, { onProgress });
    const train = trained!;
    const meta = lineage('dpo', modelDir, sft, worldSeed, seed, {
      algorithm: 'dpo',
      data: data.train.source,
      pairs: pairs.length,
      beta,
      epochs,
      lr,
    });
    await writeCheckpointDir(out, { config, params, tokenizer, meta });
    const heldoutText = result.heldout ? `, held-out accuracy ${result.heldout.accuracy.toFixed(3)}` : '';
    context.log(
      `wrote ${out}: loss ${Math.LN2.toFixed(3)} (policy = reference) → ${train.loss.toFixed(3)}, accuracy ${train.accuracy.toFixed(3)}${heldoutText}`,
    );
    return {
      out,
      model: modelDir,
      data: data.train.source,
      heldout_data: data.heldout?.source ?? null,
      pairs: pairs.length,
      heldout_pairs: heldout.length,
      steps: result.steps,
      first_loss: losses[0],
      loss: result.loss,
      train,
      heldout: result.heldout ?? null,
      truncated: result.truncated,
      dropped: result.dropped,
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}

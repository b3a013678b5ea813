// `rlhf-lab rm` (options and defaults: commands.ts, `rlhf-lab rm --help`):
// the reward model of InstructGPT §3.5 — the SFT trunk with a scalar head trained on K-way
// rankings — written as a 'reward_model' checkpoint (score.weight/score.bias beside the trunk). Without a
// data file, K outputs of the SFT model per TinyWorld train prompt are ranked by the training
// labeler; held-out accuracy is measured on the model's outputs for held-out prompts ranked by the
// held-out labeler (or on the given held-out file). Also home to that comparison data, which
// `rlhf-lab dpo` reads the same way.
import type { Checkpoint } from '../model/checkpoint.ts';
import { GptModel } from '../model/gpt.ts';
import { modelLayout } from '../model/layout.ts';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import { createStorageBufferFrom } from '../engine/buffers.ts';
import type { Gpu } from '../engine/gpu.ts';
import { demonstrationSequences, parseComparisons, parseRankings, rankingsFromComparisons, rankingsToJsonl } from '../rlhf/datasets.ts';
import { promptsThatFit, sampleRankings } from '../rlhf/model-outputs.ts';
import { assertComparisons, labelerAgreement, labelerCeiling } from '../rlhf/rankings.ts';
import { encodeRanking, evaluateRankings, initRewardModel, trainRewardModel } from '../rlhf/reward-model.ts';
import { buildDemonstrations, buildPromptSet, createRng, heldoutLabeler, trainingLabeler, type Labeler, type Prompt, type Ranking } from '../world/index.ts';
import { checkOutputFile, writeFileAtomically } from './files.ts';
import { readCheckpointDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { adapterName, lineage, logEveryFor, outOption, readJsonlFile, readLanguageModel, shapeOptions, worldSeedOption } from './sft-command.ts';
import { withGpu } from './with-gpu.ts';

/** Rankings of one split and where they came from. */
interface RankingSet {
  rankings: Ranking[];
  source: string;
  /** For rankings sampled here: labelerCeiling of the labeler that ranked them. */
  labelerCeiling?: number;
  /** For rankings sampled here: how often two people of that labeler's pool agree on them. */
  labelerAgreement?: number;
}

/** What the comparison data options ask for, checked before the GPU starts. */
export interface RankingDataPlan {
  train?: RankingSet;
  heldout?: RankingSet;
  K: number;
  trainPrompts: number;
  heldoutPrompts: number;
  maxNewTokens: number;
  temperature: number;
  saveTo?: string;
}

/** Reads --rankings/--comparisons (and the held-out ones) and the sampling options. */
export async function rankingDataPlan(context: CommandContext): Promise<RankingDataPlan> {
  const plan: RankingDataPlan = {
    K: numberOption(context, 'K'),
    trainPrompts: numberOption(context, 'prompts'),
    heldoutPrompts: numberOption(context, 'heldout-prompts'),
    maxNewTokens: numberOption(context, 'max-tokens'),
    temperature: numberOption(context, 'temperature'),
    saveTo: optionalStringOption(context, 'save-rankings'),
  };
  if (plan.saveTo) await checkOutputFile(plan.saveTo, '--save-rankings');
  const train = await rankingFile(context, 'rankings', 'comparisons');
  const heldout = await rankingFile(context, 'heldout-rankings', 'heldout-comparisons');
  if (train) plan.train = train;
  if (heldout) plan.heldout = heldout;
  return plan;
}

async function rankingFile(context: CommandContext, rankingsOption: string, comparisonsOption: string): Promise<RankingSet | undefined> {
  const rankingsPath = optionalStringOption(context, rankingsOption);
  const comparisonsPath = optionalStringOption(context, comparisonsOption);
  if (rankingsPath && comparisonsPath) throw new Error(`give --${rankingsOption} or --${comparisonsOption}, not both`);
  if (rankingsPath) return { rankings: await readJsonlFile(rankingsPath, parseRankings), source: rankingsPath };
  if (comparisonsPath) return { rankings: rankingsFromComparisons(await readJsonlFile(comparisonsPath, parseComparisons)), source: comparisonsPath };
  return undefined;
}

/**
 * The train and held-out rankings: the files of the plan, else K outputs of the model per
 * TinyWorld prompt ranked by the training (train prompts) or held-out (held-out prompts) labeler,
 * seeded as runPipeline seeds its rankings. Saves the train rankings when --save-rankings asks.
 */
export async function rankingData(
  context: CommandContext,
  gpu: Gpu,
  model: Checkpoint,
  plan: RankingDataPlan,
  settings: { T: number; B: number; seed: number; worldSeed: number },
): Promise<{ train: RankingSet; heldout?: RankingSet }> {
  const promptSet = buildPromptSet(settings.worldSeed);
  const rng = createRng(`pipeline-${settings.seed}`);
  const sampling = { ...DEFAULT_SAMPLING, maxNewTokens: plan.maxNewTokens, temperature: plan.temperature, seed: settings.seed };
  let params: GPUBuffer | undefined;
  const sample = async (split: 'train' | 'heldout', prompts: readonly Prompt[], count: number, labeler: Labeler, seed: number): Promise<RankingSet> => {
    const fitting = promptsThatFit(model.tokenizer, prompts, plan.maxNewTokens, settings.T).slice(0, count);
    if (fitting.length === 0) throw new Error(`no TinyWorld ${split} prompt leaves room for ${plan.maxNewTokens} new tokens within --seq ${settings.T}`);
    context.log(`sampling ${plan.K} outputs for ${fitting.length} ${split} prompts, ranked by the ${labeler.config.name} labeler`);
    params ??= createStorageBufferFrom(gpu.device, 'rankings.params', model.params);
    const samplingModel = { config: model.config, tokenizer: model.tokenizer, params, B: settings.B, T: settings.T };
    const rankings = await sampleRankings(gpu.device, samplingModel, fitting, { K: plan.K, sampling: { ...sampling, seed }, labeler, rng: rng.fork(split) });
    return {
      rankings,
      source: `${plan.K} sampled outputs on ${fitting.length} TinyWorld ${settings.worldSeed} ${split} prompts, ${split === 'train' ? 'training' : 'held-out'} labeler`,
      labelerCeiling: labelerCeiling(rankings, fitting, labeler),
      labelerAgreement: labelerAgreement(rankings, fitting, labeler, rng.fork(`agreement-${split}`)),
    };
  };
  const train = plan.train ?? (await sample('train', promptSet.train, plan.trainPrompts, trainingLabeler, settings.seed));
  assertComparisons(train.rankings, train.source);
  const heldout = plan.heldout ?? (plan.heldoutPrompts > 0 ? await sample('heldout', promptSet.heldout, plan.heldoutPrompts, heldoutLabeler, settings.seed + 7) : undefined);
  params?.destroy();
  if (plan.saveTo) {
    await writeFileAtomically(plan.saveTo, rankingsToJsonl(train.rankings));
    context.log(`wrote ${train.rankings.length} rankings to ${plan.saveTo}`);
  }
  return heldout ? { train, heldout } : { train };
}

/** The flat 'scalar' parameters (trunk, then head) of a reward-model checkpoint. */
export function rewardModelParamsOf(checkpoint: Checkpoint, dir: string): Float32Array {
  if (!checkpoint.scalarHead) throw new Error(`--reward-model ${dir} has no scalar head (score.weight): it is not a reward model`);
  const flat = new Float32Array(modelLayout(checkpoint.config, 'scalar').totalFloats);
  flat.set(checkpoint.params);
  flat.set(checkpoint.scalarHead, checkpoint.params.length);
  return flat;
}

export async function rmCommand(context: CommandContext): Promise<unknown> {
  const out = await outOption(context);
  const modelDir = optionalStringOption(context, 'model');
  if (modelDir === undefined) throw new Error('--model SFT_DIR is required (the SFT checkpoint whose trunk the reward model starts from)');
  const sft = await readLanguageModel(modelDir, '--model');
  const worldSeed = worldSeedOption(context, sft);
  const { B, T } = shapeOptions(context, sft);
  const lr = numberOption(context, 'lr');
  const epochs = numberOption(context, 'epochs');
  const seed = numberOption(context, 'seed');
  const plan = await rankingDataPlan(context);
  const started = performance.now();

  return withGpu(async (gpu) => {
    const data = await rankingData(context, gpu, sft, plan, { B, T, seed, worldSeed });
    const { tokenizer, config } = sft;
    const train = data.train.rankings.map((r) => encodeRanking(tokenizer, r));
    const heldout = data.heldout?.rankings.map((r) => encodeRanking(tokenizer, r));
    const maxK = Math.max(...[...train, ...(heldout ?? [])].map((r) => r.responses.length));
    // 2·B of TinyWorld's starter demonstrations (those whose prompt fits T) set the rewards' zero
    const starter = buildDemonstrations(worldSeed, buildPromptSet(worldSeed).train.slice(0, 2 * B));
    const demonstrations = demonstrationSequences(tokenizer, starter).filter((d) => d.prompt.length < T);
    context.log(`reward model from ${modelDir} on ${train.length} rankings (${data.train.source}), ${heldout?.length ?? 0} held-out; ${epochs} epoch(s), lr ${lr}`);

    const model = new GptModel(gpu.device, config, 'scalar', Math.max(B, maxK), T, 'reward-model');
    initRewardModel(model, sft.params, seed);
    const initial = await evaluateRankings(model, train);
    const totalSteps = epochs * Math.ceil(train.reduce((rows, r) => rows + r.responses.length, 0) / model.B);
    const result = await trainRewardModel(model, train, {
      epochs,
      lr,
      seed,
      ...(heldout && { heldout }),
      ...(demonstrations.length > 0 && { demonstrations }),
      logEvery: logEveryFor(totalSteps),
      onProgress: (p) => {
        gpu.assertHealthy();
        context.log(`RM epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p.accuracy.toFixed(2)} margin ${p.margin.toFixed(3)}`);
      },
    });
    const flat = await model.readParams();
    model.destroy();
    const trunkFloats = modelLayout(config, 'lm').totalFloats;
    const heldoutAccuracy = result.heldout?.accuracy ?? null;
    const meta = lineage('reward_model', modelDir, sft, worldSeed, seed, {
      data: data.train.source,
      heldout_data: data.heldout?.source ?? 'none',
      rankings: train.length,
      epochs,
      lr,
      train_accuracy: result.train.accuracy,
      heldout_accuracy: String(heldoutAccuracy),
    });
    await writeCheckpointDir(out, { config, params: flat.slice(0, trunkFloats), scalarHead: flat.slice(trunkFloats), tokenizer, meta });
    const ceiling = data.heldout?.labelerCeiling;
    const ceilingText = ceiling === undefined ? '' : `; the held-out labeler's own noise-free score orders ${ceiling.toFixed(3)} of them as it ranked them`;
    const heldoutText = heldoutAccuracy === null ? 'no held-out rankings' : `held-out accuracy ${heldoutAccuracy.toFixed(3)} (${result.heldout!.pairs} comparisons${ceilingText})`;
    context.log(`wrote ${out}: train loss ${initial.loss.toFixed(3)} → ${result.train.loss.toFixed(3)}, accuracy ${result.train.accuracy.toFixed(3)} (${result.train.pairs} comparisons), ${heldoutText}`);
    return {
      out,
      model: modelDir,
      data: data.train.source,
      heldout_data: data.heldout?.source ?? null,
      rankings: train.length,
      heldout_rankings: heldout?.length ?? 0,
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
        labeler_agreement: { training: data.train.labelerAgreement ?? null, heldout: data.heldout?.labelerAgreement ?? null },
      },
      reward_shift: result.biasShift ?? null,
      truncated: result.truncated,
      dropped: result.dropped,
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}

/** Reads a reward-model checkpoint folder and checks it matches the policy's shape and tokenizer. */
export async function readRewardModelFor(dir: string, policy: Checkpoint): Promise<{ checkpoint: Checkpoint; params: Float32Array }> {
  const checkpoint = await readCheckpointDir(dir);
  const params = rewardModelParamsOf(checkpoint, dir);
  const same = JSON.stringify(checkpoint.config) === JSON.stringify(policy.config) && checkpoint.tokenizer.toJSON() === policy.tokenizer.toJSON();
  if (!same) throw new Error(`--reward-model ${dir} does not match the policy: configs or tokenizers differ (train the reward model from the same SFT model)`);
  return { checkpoint, params };
}

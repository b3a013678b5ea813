// The comparison data `rlhf-lab rm` and `rlhf-lab dpo` train on: K-way rankings or
// chosen/rejected comparisons from JSONL files (--rankings / --comparisons, and the held-out ones),
// else K outputs of the SFT model per TinyWorld prompt ranked by the simulated labelers.
import type { Checkpoint } from '../model/checkpoint.ts';
import type { Gpu } from '../engine/gpu.ts';
import { parseComparisons, parseRankings, rankingsFromComparisons, rankingsToJsonl } from '../rlhf/datasets.ts';
import { promptsThatFit } from '../rlhf/model-outputs.ts';
import { assertComparisons } from '../rlhf/rankings.ts';
import { rankingQuality, runRankingsStage, type RankingSplit, type RankingsProgress } from '../rlhf/rankings-stage.ts';
import { buildPromptSet, type Ranking } from '../world/index.ts';
import { readJsonlFile } from './common.ts';
import { checkOutputFile, writeFileAtomically } from './files.ts';
import { numberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';

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

async function rankingFile(
  context: CommandContext,
  rankingsOption: string,
  comparisonsOption: string,
): Promise<RankingSet | undefined> {
  const rankingsPath = optionalStringOption(context, rankingsOption);
  const comparisonsPath = optionalStringOption(context, comparisonsOption);
  if (rankingsPath && comparisonsPath) throw new Error(`give --${rankingsOption} or --${comparisonsOption}, not both`);
  if (rankingsPath) return { rankings: await readJsonlFile(rankingsPath, parseRankings), source: rankingsPath };
  if (comparisonsPath)
    return {
      rankings: rankingsFromComparisons(await readJsonlFile(comparisonsPath, parseComparisons)),
      source: comparisonsPath,
    };
  return undefined;
}

/**
 * The train and held-out rankings: the files of the plan, else K outputs of the model per
 * TinyWorld prompt ranked by the training (train prompts) or held-out (held-out prompts) labeler
 * (runRankingsStage, seeded as the pipeline seeds its rankings). Saves the train rankings when
 * --save-rankings asks.
 */
export async function rankingData(
  context: CommandContext,
  gpu: Gpu,
  model: Checkpoint,
  plan: RankingDataPlan,
  settings: { T: number; B: number; seed: number; worldSeed: number },
): Promise<{ train: RankingSet; heldout?: RankingSet }> {
  const promptSet = buildPromptSet(settings.worldSeed);
  const stageSettings = { ...settings, K: plan.K, maxNewTokens: plan.maxNewTokens, temperature: plan.temperature };
  const onProgress = (p: RankingsProgress) =>
    context.log(`sampling ${p.K} outputs for ${p.prompts} ${p.split} prompts, ranked by the ${p.labeler} labeler`);
  const sample = async (split: RankingSplit, count: number): Promise<RankingSet> => {
    const fitting = promptsThatFit(model.tokenizer, promptSet[split], plan.maxNewTokens, settings.T).slice(0, count);
    if (fitting.length === 0)
      throw new Error(
        `no TinyWorld ${split} prompt leaves room for ${plan.maxNewTokens} new tokens within --seq ${settings.T}`,
      );
    const rankings = (await runRankingsStage(gpu.device, model, { [split]: fitting }, stageSettings, { onProgress }))[
      split
    ]!;
    return {
      rankings,
      source: `${plan.K} sampled outputs on ${fitting.length} TinyWorld ${settings.worldSeed} ${split} prompts, ${split === 'train' ? 'training' : 'held-out'} labeler`,
      ...rankingQuality(split, rankings, fitting, settings.seed),
    };
  };
  const train = plan.train ?? (await sample('train', plan.trainPrompts));
  assertComparisons(train.rankings, train.source);
  const heldout = plan.heldout ?? (plan.heldoutPrompts > 0 ? await sample('heldout', plan.heldoutPrompts) : undefined);
  if (plan.saveTo) {
    await writeFileAtomically(plan.saveTo, rankingsToJsonl(train.rankings));
    context.log(`wrote ${train.rankings.length} rankings to ${plan.saveTo}`);
  }
  return heldout ? { train, heldout } : { train };
}

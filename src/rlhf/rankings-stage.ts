// The rankings stage as the CLI and the pipeline run it (InstructGPT §3.4 with a simulated
// labeler): K sampled outputs of a model per prompt, train prompts ranked by the training labeler
// and held-out prompts by the held-out labeler, from one named TinyWorld stream per seed, so a
// seed gives the same rankings in both. Also how well the labeler's pool agrees on them.
import { createStorageBufferFrom } from '../engine/buffers.ts';
import type { GptConfig } from '../model/config.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import { createRng, heldoutLabeler, trainingLabeler, type Labeler, type Prompt, type Ranking } from '../world/index.ts';
import { sampleRankings } from './model-outputs.ts';
import { labelerAgreement, labelerCeiling } from './rankings.ts';
import type { StageHooks } from './training-loop.ts';

export type RankingSplit = 'train' | 'heldout';

/** Which labeler ranks each split. */
const SPLIT_LABELER: Record<RankingSplit, Labeler> = { train: trainingLabeler, heldout: heldoutLabeler };

export interface RankingsStageSettings {
  /** Outputs per prompt. */
  K: number;
  /** Sampler rows and sequence length. */
  B: number;
  T: number;
  maxNewTokens: number;
  temperature: number;
  /** Seeds the sampling (the held-out split: seed + 7) and the labelers' noise. */
  seed: number;
}

/** Reported as each split's sampling begins. */
export interface RankingsProgress {
  split: RankingSplit;
  prompts: number;
  K: number;
  labeler: string;
}

/** Samples and ranks the outputs for each split given (a split without prompts is left out). */
export async function runRankingsStage(
  device: GPUDevice,
  model: { config: GptConfig; tokenizer: Tokenizer; params: Float32Array },
  prompts: Partial<Record<RankingSplit, readonly Prompt[]>>,
  settings: RankingsStageSettings,
  hooks: StageHooks<RankingsProgress> = {},
): Promise<Partial<Record<RankingSplit, Ranking[]>>> {
  const rng = createRng(`pipeline-${settings.seed}`);
  const sampling = { ...DEFAULT_SAMPLING, maxNewTokens: settings.maxNewTokens, temperature: settings.temperature };
  const params = createStorageBufferFrom(device, 'rankings.params', model.params);
  try {
    const samplingModel = { config: model.config, tokenizer: model.tokenizer, params, B: settings.B, T: settings.T };
    const rankings: Partial<Record<RankingSplit, Ranking[]>> = {};
    for (const split of ['train', 'heldout'] as const) {
      const splitPrompts = prompts[split];
      if (!splitPrompts || splitPrompts.length === 0) continue;
      const labeler = SPLIT_LABELER[split];
      await hooks.onProgress?.({ split, prompts: splitPrompts.length, K: settings.K, labeler: labeler.config.name });
      const seed = split === 'train' ? settings.seed : settings.seed + 7;
      rankings[split] = await sampleRankings(device, samplingModel, splitPrompts, {
        K: settings.K,
        sampling: { ...sampling, seed },
        labeler,
        rng: rng.fork(split),
      });
    }
    return rankings;
  } finally {
    params.destroy();
  }
}

/** How far the split's labeler allows and how often two of its pool agree, on rankings of these prompts (seeded as runRankingsStage). */
export function rankingQuality(
  split: RankingSplit,
  rankings: readonly Ranking[],
  prompts: readonly Prompt[],
  seed: number,
): { labelerCeiling: number; labelerAgreement: number } {
  const labeler = SPLIT_LABELER[split];
  return {
    labelerCeiling: labelerCeiling(rankings, prompts, labeler),
    labelerAgreement: labelerAgreement(
      rankings,
      prompts,
      labeler,
      createRng(`pipeline-${seed}`).fork(`agreement-${split}`),
    ),
  };
}

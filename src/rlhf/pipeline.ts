// The InstructGPT recipe end to end, headless (CLI) or in the worker: base → SFT on demonstrations
// → K outputs per prompt ranked by the training labeler → reward model → PPO and PPO-ptx, and DPO
// on the same comparisons → evaluation of every model on held-out prompts by the held-out labeler
// (the paper's Figure 2 and its evaluation, in miniature). Deterministic for a seed on one adapter.
import type { Checkpoint } from '../model/checkpoint.ts';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import {
  buildDemonstrations,
  buildPromptSet,
  createRng,
  formatPrompt,
  heldoutLabeler,
  trainingLabeler,
  type Prompt,
  type Ranking,
} from '../world/index.ts';
import { demonstrationSequences } from './datasets.ts';
import { encodePreferencePairs, type DpoProgress } from './dpo.ts';
import { runDpoStage } from './dpo-stage.ts';
import { evaluationRow, runEvaluationStage, type EvaluationMetrics } from './evaluation-stage.ts';
import { promptsThatFit } from './model-outputs.ts';
import { DEFAULT_PPO_ADAMW, type PpoMetrics } from './ppo.ts';
import { PpoStage, streamPromptOrder } from './ppo-stage.ts';
import { pretrainingMixStream } from './pretraining-text.ts';
import { rankingQuality, runRankingsStage } from './rankings-stage.ts';
import { runRewardModelStage } from './reward-model-stage.ts';
import { runSftStage } from './sft-stage.ts';

/** Sizes and hyperparameters of a run; `pipelinePreset` gives the named ones. */
export interface PipelineSettings {
  /** Rows per batch and sequence length of every model. */
  B: number;
  T: number;
  /** Starter demonstrations used for SFT (at most; one per train prompt). */
  demonstrations: number;
  sftEpochs: number;
  sftLr: number;
  /** Outputs ranked per prompt (the paper's K = 4..9). */
  K: number;
  /**
   * Rankings of train prompts' SFT outputs (beyond the number of train prompts, the prompts come
   * round again with new samples, as the paper's prompts had several rankings); held-out prompts
   * ranked by the held-out labeler.
   */
  rankedPrompts: number;
  heldoutRankedPrompts: number;
  rmLr: number;
  rmEpochs: number;
  ppoIterations: number;
  /** PPO epochs over each rollout batch (TRL num_ppo_epochs). */
  ppoEpochs: number;
  ppoLr: number;
  klCoef: number;
  ptxCoef: number;
  dpoEpochs: number;
  /** DPO trains on at most this many of the rankings' comparison pairs, drawn at random. */
  dpoPairs: number;
  dpoLr: number;
  /** Held-out prompts for the evaluation table. */
  evalPrompts: number;
  maxNewTokens: number;
  /** Corpus documents for the PPO-ptx stream and the alignment-tax loss. */
  corpusDocuments: number;
  /** Batches of held-out corpus windows for the pretraining loss. */
  lossBatches: number;
}

export const PIPELINE_PRESETS = {
  /** CI: a few steps of everything on a micro model. */
  micro: {
    B: 4,
    T: 40,
    demonstrations: 8,
    sftEpochs: 1,
    sftLr: 3e-3,
    K: 4,
    rankedPrompts: 4,
    heldoutRankedPrompts: 2,
    rmLr: 1e-3,
    rmEpochs: 1,
    ppoIterations: 1,
    ppoEpochs: 4,
    ppoLr: 1e-4,
    klCoef: 0.02,
    ptxCoef: 1,
    dpoEpochs: 1,
    dpoPairs: 24,
    dpoLr: 1e-4,
    evalPrompts: 4,
    maxNewTokens: 8,
    corpusDocuments: 100,
    lossBatches: 1,
  },
  /**
   * The classroom run on the shipped base model, sized for a 2-core CPU (Mesa llvmpipe; 35–37
   * minutes there, docs/results.md): T = 80 holds every demonstration (the longest is 78
   * tokens) and a 32-token answer after all but the longest closed-QA passages (91 of the 100
   * held-out prompts fit). K = 8 outputs per prompt, each train prompt ranked twice (688 rankings;
   * three times as many prompts did not raise the reward model's held-out accuracy, see
   * docs/results.md); 32 PPO iterations of 16 episodes.
   */
  small: {
    B: 16,
    T: 80,
    demonstrations: 400,
    sftEpochs: 2,
    sftLr: 1e-3,
    K: 8,
    rankedPrompts: 688,
    heldoutRankedPrompts: 100,
    rmLr: 1e-4,
    rmEpochs: 1,
    ppoIterations: 32,
    ppoEpochs: 2,
    ppoLr: 5e-5,
    klCoef: 0.02,
    ptxCoef: 1,
    dpoEpochs: 1,
    dpoPairs: 320,
    dpoLr: 3e-5,
    evalPrompts: 100,
    maxNewTokens: 32,
    corpusDocuments: 2000,
    lossBatches: 8,
  },
} as const satisfies Record<string, PipelineSettings>;

export type PipelinePresetName = keyof typeof PIPELINE_PRESETS;

/** The stages in the order they run; each depends on the ones before it. */
export const PIPELINE_STAGES = ['sft', 'rankings', 'reward_model', 'ppo', 'ppo_ptx', 'dpo'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** The settings each stage adds to those of the stages before it. */
const STAGE_SETTINGS: Record<PipelineStage, readonly (keyof PipelineSettings)[]> = {
  sft: ['B', 'T', 'demonstrations', 'sftEpochs', 'sftLr'],
  rankings: ['K', 'rankedPrompts', 'heldoutRankedPrompts', 'maxNewTokens'],
  reward_model: ['rmLr', 'rmEpochs'],
  ppo: ['ppoIterations', 'ppoEpochs', 'ppoLr', 'klCoef'],
  ppo_ptx: ['ptxCoef', 'corpusDocuments'],
  dpo: ['dpoEpochs', 'dpoPairs', 'dpoLr'],
};

/**
 * What a stage's output depends on, as a stable string: its settings and those of every stage
 * before it (and, from the rankings on, the labelers). A saved output is reusable only when this
 * matches; the caller adds the base model and the seeds.
 */
export function stageIdentity(s: PipelineSettings, stage: PipelineStage): string {
  const upTo = PIPELINE_STAGES.slice(0, PIPELINE_STAGES.indexOf(stage) + 1);
  const settings = Object.fromEntries(upTo.flatMap((name) => STAGE_SETTINGS[name].map((key) => [key, s[key]])));
  const labelers = upTo.includes('rankings') ? { labelers: [trainingLabeler.config, heldoutLabeler.config] } : {};
  return JSON.stringify({ ...settings, ...labelers });
}

/** What each stage produces: enough to resume a run after it. */
export interface StageOutputs {
  sft: { params: Float32Array };
  rankings: { train: Ranking[]; heldout: Ranking[] };
  reward_model: { params: Float32Array; scalarHead: Float32Array; train_accuracy: number; heldout_accuracy: number };
  ppo: { params: Float32Array; history: PpoMetrics[] };
  ppo_ptx: { params: Float32Array; history: PpoMetrics[] };
  dpo: { params: Float32Array };
}

/** A line of the pipeline's table: every model has both win rates (SFT and the base always answer). */
export type ModelEvaluation = Required<EvaluationMetrics>;

export interface PipelineReport {
  /**
   * heldout_ceiling: labelerCeiling of the held-out rankings, the accuracy the labeler's noise allows;
   * labeler_agreement: how often two labelers of a pool agree on this run's comparisons (training
   * pool on the train rankings, held-out pool on the held-out ones).
   */
  reward_model: {
    heldout_accuracy: number;
    train_accuracy: number;
    heldout_ceiling: number;
    labeler_agreement: { training: number; heldout: number };
  };
  models: Record<ModelName, ModelEvaluation>;
  ppo: PpoMetrics[];
}

export type ModelName = 'base' | 'sft' | 'ppo' | 'ppo_ptx' | 'dpo';

export interface PipelineProgress {
  stage: PipelineStage | 'evaluation';
  message: string;
}

/** The first n of the prompts, going round them again as often as needed. */
function rounds<T>(items: readonly T[], n: number): T[] {
  return Array.from({ length: items.length === 0 ? 0 : n }, (_, i) => items[i % items.length]);
}

/** Runs the whole recipe from a base checkpoint; progress streams through onProgress. */
export async function runPipeline(
  device: GPUDevice,
  base: Checkpoint,
  options: {
    settings: PipelineSettings;
    seed: number;
    worldSeed: number;
    onProgress?: (p: PipelineProgress) => void;
    onPpoMetrics?: (name: 'ppo' | 'ppo_ptx', m: PpoMetrics) => void;
    /** Called as each stage finishes, e.g. to save its output; the pipeline waits for it. */
    onStage?: <S extends PipelineStage>(stage: S, output: StageOutputs[S]) => Promise<void>;
    /**
     * Outputs an earlier run saved with the same base, seeds and stageIdentity: those stages are
     * skipped (a run resumes after the last stage it finished).
     */
    saved?: Partial<StageOutputs>;
  },
): Promise<PipelineReport> {
  const { settings: s, seed } = options;
  const saved = options.saved ?? {};
  const report = (stage: PipelineProgress['stage'], message: string) => options.onProgress?.({ stage, message });
  /** The saved output of a stage, else the stage run now and handed to onStage. */
  const stage = async <S extends PipelineStage>(
    name: S,
    run: () => Promise<StageOutputs[S]>,
  ): Promise<StageOutputs[S]> => {
    const earlier = saved[name];
    if (earlier) {
      report(name, `reusing the saved ${name} stage`);
      return earlier as StageOutputs[S];
    }
    const output = await run();
    await options.onStage?.(name, output);
    return output;
  };
  const { tokenizer, config } = base;
  const promptSet = buildPromptSet(options.worldSeed);
  const fitting = (prompts: readonly Prompt[]) => promptsThatFit(tokenizer, prompts, s.maxNewTokens, s.T);
  const shape = { B: s.B, T: s.T };

  // 1. SFT on the starter demonstrations
  const demonstrations = demonstrationSequences(
    tokenizer,
    buildDemonstrations(options.worldSeed, promptSet.train.slice(0, s.demonstrations)),
  );
  const { params: sftParams } = await stage('sft', async () => {
    const onProgress = (p: { step: number; totalSteps: number; loss: number }) =>
      report('sft', `SFT step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`);
    const { params } = await runSftStage(
      device,
      { config, params: base.params },
      demonstrations,
      { ...shape, epochs: s.sftEpochs, lr: s.sftLr, seed, logEvery: 10 },
      { onProgress },
    );
    return { params };
  });
  const sft = { config, tokenizer, params: sftParams };

  // 2. Rankings of the SFT model's outputs: training labeler on train prompts, held-out labeler on held-out prompts
  const rankedTrain = rounds(fitting(promptSet.train), s.rankedPrompts);
  const rankedHeldout = fitting(promptSet.heldout).slice(0, s.heldoutRankedPrompts);
  const rankings = await stage('rankings', async () => {
    report('rankings', `sampling ${s.K} outputs for ${rankedTrain.length + rankedHeldout.length} prompts`);
    const ranked = await runRankingsStage(
      device,
      sft,
      { train: rankedTrain, heldout: rankedHeldout },
      { ...shape, K: s.K, maxNewTokens: s.maxNewTokens, temperature: 1, seed },
    );
    return { train: ranked.train ?? [], heldout: ranked.heldout ?? [] };
  });

  // 3. Reward model from the SFT trunk
  const rm = await stage('reward_model', async () => {
    const onProgress = (p: { epoch: number; step: number; totalSteps: number; loss: number; accuracy: number }) =>
      report(
        'reward_model',
        `RM epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p.accuracy.toFixed(2)}`,
      );
    const { model, result } = await runRewardModelStage(
      device,
      sft,
      { ...rankings, demonstrations },
      { ...shape, lr: s.rmLr, epochs: s.rmEpochs, seed },
      { onProgress },
    );
    return { ...model, train_accuracy: result.train.accuracy, heldout_accuracy: result.heldout?.accuracy ?? NaN };
  });

  // 4. PPO and PPO-ptx from SFT against the reward model
  const trainPromptIds = fitting(promptSet.train).map((p) => tokenizer.encode(formatPrompt(p.text)));
  const runPpo = async (name: 'ppo' | 'ppo_ptx') => {
    const lr = { ...DEFAULT_PPO_ADAMW, lr: s.ppoLr };
    const ppo = PpoStage.create(device, sft, rm, trainPromptIds, streamPromptOrder(name, seed), {
      ...shape,
      eosId: tokenizer.eosId,
      maxNewTokens: s.maxNewTokens,
      klCoef: s.klCoef,
      policyOptimizer: lr,
      valueOptimizer: lr,
      seed,
      ppoEpochs: s.ppoEpochs,
      ptx:
        name === 'ppo_ptx'
          ? { stream: pretrainingMixStream(tokenizer, options.worldSeed, s.corpusDocuments), coef: s.ptxCoef }
          : undefined,
    });
    try {
      const history: PpoMetrics[] = [];
      for (let i = 0; i < s.ppoIterations; i++) {
        const { metrics } = await ppo.iterate(i);
        history.push(metrics);
        options.onPpoMetrics?.(name, metrics);
        report(
          name,
          `${name} iteration ${i + 1}/${s.ppoIterations} score ${metrics['objective/scores'].toFixed(3)} kl ${metrics['objective/kl'].toFixed(3)}`,
        );
      }
      return { params: await ppo.readPolicy(), history };
    } finally {
      ppo.destroy();
    }
  };
  const ppo = await stage('ppo', () => runPpo('ppo'));
  const ppoPtx = await stage('ppo_ptx', () => runPpo('ppo_ptx'));

  // 5. DPO from SFT on the same comparisons
  const { params: dpoParams } = await stage('dpo', async () => {
    const pairs = createRng(`pipeline-${seed}`)
      .fork('dpo')
      .shuffle(encodePreferencePairs(tokenizer, rankings.train))
      .slice(0, s.dpoPairs);
    const onProgress = (p: DpoProgress) =>
      report(
        'dpo',
        `DPO step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p['rewards/accuracies'].toFixed(2)}`,
      );
    const { params } = await runDpoStage(
      device,
      sft,
      { train: pairs },
      { ...shape, epochs: s.dpoEpochs, lr: s.dpoLr, seed },
      { onProgress },
    );
    return { params };
  });

  // 6. Evaluation on held-out prompts by the held-out labeler
  const evalPrompts = fitting(promptSet.heldout).slice(0, s.evalPrompts);
  const candidates: Record<ModelName, Float32Array> = {
    base: base.params,
    sft: sftParams,
    ppo: ppo.params,
    ppo_ptx: ppoPtx.params,
    dpo: dpoParams,
  };
  const answers = await runEvaluationStage(
    device,
    base,
    candidates,
    evalPrompts,
    {
      sampler: shape,
      sampling: { ...DEFAULT_SAMPLING, maxNewTokens: s.maxNewTokens, temperature: 0.7, seed: seed + 99 },
      loss: {
        B: s.B,
        T: Math.min(64, s.T),
        batches: s.lossBatches,
        documents: s.corpusDocuments,
        worldSeed: options.worldSeed,
      },
    },
    { onProgress: (message) => report('evaluation', message) },
  );
  const models = {} as Record<ModelName, ModelEvaluation>;
  for (const name of Object.keys(candidates) as ModelName[]) {
    report('evaluation', `${name}: ${answers[name].responses.length} answers judged`);
    models[name] = evaluationRow(evalPrompts, answers[name], {
      sft: answers.sft.responses,
      base: answers.base.responses,
    }) as ModelEvaluation;
  }
  const heldoutQuality = rankingQuality('heldout', rankings.heldout, rankedHeldout, seed);
  return {
    reward_model: {
      heldout_accuracy: rm.heldout_accuracy,
      train_accuracy: rm.train_accuracy,
      heldout_ceiling: heldoutQuality.labelerCeiling,
      labeler_agreement: {
        training: rankingQuality('train', rankings.train, rankedTrain, seed).labelerAgreement,
        heldout: heldoutQuality.labelerAgreement,
      },
    },
    models,
    ppo: ppo.history,
  };
}

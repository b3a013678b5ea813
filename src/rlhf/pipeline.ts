// The InstructGPT recipe end to end, headless (CLI) or in the worker: base → SFT on demonstrations
// → K outputs per prompt ranked by the training labeler → reward model → PPO and PPO-ptx, and DPO
// on the same comparisons → evaluation of every model on held-out prompts by the held-out labeler
// (the paper's Figure 2 and its evaluation, in miniature). Deterministic for a seed on one adapter.
import { GptModel } from '../model/gpt.ts';
import { evaluationLoss, evaluationWindows, heldoutCount, tokenStream } from '../model/lm-training.ts';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import type { Checkpoint } from '../model/checkpoint.ts';
import {
  buildDemonstrations,
  buildPromptSet,
  createRng,
  formatPrompt,
  generateCorpus,
  heldoutLabeler,
  trainingLabeler,
  type Prompt,
  type Ranking,
} from '../world/index.ts';
import { labelerReport, winRate, type LabelerReport, type Response } from './evaluate.ts';
import { demonstrationSequences } from './datasets.ts';
import { promptsThatFit, sampleOutputs, sampleRankings } from './model-outputs.ts';
import { labelerCeiling } from './rankings.ts';
import { trainSft } from './sft.ts';
import { encodeRanking, initRewardModel, trainRewardModel } from './reward-model.ts';
import { createPpoModels, DEFAULT_PPO_ADAMW, PpoTrainer, type PpoMetrics } from './ppo.ts';
import { encodePreferencePairs, trainDpo } from './dpo.ts';

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
  /** Train prompts whose SFT outputs get ranked; held-out prompts ranked by the held-out labeler. */
  rankedPrompts: number;
  heldoutRankedPrompts: number;
  rmLr: number;
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
  micro: { B: 4, T: 40, demonstrations: 8, sftEpochs: 1, sftLr: 3e-3, K: 4, rankedPrompts: 4, heldoutRankedPrompts: 2, rmLr: 1e-3, ppoIterations: 1, ppoEpochs: 4, ppoLr: 1e-4, klCoef: 0.02, ptxCoef: 1, dpoEpochs: 1, dpoPairs: 24, dpoLr: 1e-4, evalPrompts: 4, maxNewTokens: 8, corpusDocuments: 100, lossBatches: 1 },
  /**
   * The classroom run on the shipped base model, sized for a 2-core CPU (Mesa llvmpipe; measured
   * at 1 h 45 min before the engine's registers layout, which trains about 1.9× faster there;
   * docs/results.md): T = 80 holds every demonstration (the longest is 78
   * tokens) and a 32-token answer after all but the longest closed-QA passages (91 of the 100
   * held-out prompts fit).
   */
  small: { B: 16, T: 80, demonstrations: 400, sftEpochs: 2, sftLr: 1e-3, K: 4, rankedPrompts: 160, heldoutRankedPrompts: 40, rmLr: 5e-4, ppoIterations: 16, ppoEpochs: 2, ppoLr: 5e-5, klCoef: 0.02, ptxCoef: 1, dpoEpochs: 1, dpoPairs: 160, dpoLr: 3e-5, evalPrompts: 100, maxNewTokens: 32, corpusDocuments: 2000, lossBatches: 8 },
} as const satisfies Record<string, PipelineSettings>;

export type PipelinePresetName = keyof typeof PIPELINE_PRESETS;

/** The settings the SFT stage depends on, as a stable string: a saved SFT model is reusable when it matches. */
export function sftStageSettings(s: PipelineSettings): string {
  return JSON.stringify({ B: s.B, T: s.T, demonstrations: s.demonstrations, sftEpochs: s.sftEpochs, sftLr: s.sftLr });
}

export interface ModelEvaluation extends Omit<LabelerReport, 'samples'> {
  win_rate_vs_sft: number;
  win_rate_vs_base: number;
  pretrain_loss: number;
}

export interface PipelineReport {
  /** heldout_ceiling: labelerCeiling of the held-out rankings, the accuracy the labeler's noise allows. */
  reward_model: { heldout_accuracy: number; train_accuracy: number; heldout_ceiling: number };
  models: Record<ModelName, ModelEvaluation>;
  ppo: PpoMetrics[];
}

export type ModelName = 'base' | 'sft' | 'ppo' | 'ppo_ptx' | 'dpo';

/** A model the pipeline trained: trunk parameters, and the scalar head of the reward model. */
export interface TrainedModel {
  name: Exclude<ModelName, 'base'> | 'reward_model';
  /** Flat trunk parameters, laid out by parameterLayout(config). */
  params: Float32Array;
  scalarHead?: Float32Array;
}

export interface PipelineProgress {
  stage: 'sft' | 'rankings' | 'reward_model' | 'ppo' | 'ppo_ptx' | 'dpo' | 'evaluation';
  message: string;
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
    /** Called as each stage finishes, e.g. to save its checkpoint; the pipeline waits for it. */
    onModel?: (model: TrainedModel) => Promise<void>;
    /** Called with the rankings once sampled and ranked (train: training labeler; heldout: held-out labeler). */
    onRankings?: (split: 'train' | 'heldout', rankings: readonly Ranking[]) => Promise<void>;
    /** An SFT model this pipeline saved before with the same seeds and sftStageSettings: SFT is skipped. */
    savedSft?: Float32Array;
  },
): Promise<PipelineReport> {
  const { settings: s, seed } = options;
  const report = (stage: PipelineProgress['stage'], message: string) => options.onProgress?.({ stage, message });
  const trained = async (model: TrainedModel) => options.onModel?.(model);
  const { tokenizer, config } = base;
  const promptSet = buildPromptSet(options.worldSeed);
  const fitting = (prompts: readonly Prompt[]) => promptsThatFit(tokenizer, prompts, s.maxNewTokens, s.T);
  const samplingModel = (params: GPUBuffer) => ({ config, tokenizer, params, B: s.B, T: s.T });
  const sampling = { ...DEFAULT_SAMPLING, maxNewTokens: s.maxNewTokens, temperature: 1, seed };
  // The held-out prefix measures the alignment tax; PPO-ptx trains on the rest.
  const corpus = generateCorpus(options.worldSeed, s.corpusDocuments);
  const heldoutDocs = heldoutCount(corpus.length);
  const corpusStream = tokenStream(tokenizer, corpus.slice(heldoutDocs));

  // 1. SFT on the starter demonstrations
  const demonstrations = demonstrationSequences(tokenizer, buildDemonstrations(options.worldSeed, promptSet.train.slice(0, s.demonstrations)));
  const sftModel = new GptModel(device, config, 'lm', s.B, s.T, 'sft');
  let sftParams: Float32Array;
  if (options.savedSft) {
    report('sft', 'reusing the saved SFT model');
    sftModel.writeParams(options.savedSft);
    sftParams = options.savedSft;
  } else {
    sftModel.writeParams(base.params);
    await trainSft(sftModel, demonstrations, { epochs: s.sftEpochs, lr: s.sftLr, seed, logEvery: 10, onProgress: (p) => report('sft', `SFT step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`) });
    sftParams = await sftModel.readParams();
    await trained({ name: 'sft', params: sftParams });
  }

  // 2. Rankings of the SFT model's outputs: training labeler on train prompts, held-out labeler on held-out prompts
  const rng = createRng(`pipeline-${seed}`);
  const rankedTrain = fitting(promptSet.train).slice(0, s.rankedPrompts);
  const rankedHeldout = fitting(promptSet.heldout).slice(0, s.heldoutRankedPrompts);
  report('rankings', `sampling ${s.K} outputs for ${rankedTrain.length + rankedHeldout.length} prompts`);
  const trainRankings: Ranking[] = await sampleRankings(device, samplingModel(sftModel.params), rankedTrain, { K: s.K, sampling, labeler: trainingLabeler, rng: rng.fork('train') });
  const heldoutRankings: Ranking[] = await sampleRankings(device, samplingModel(sftModel.params), rankedHeldout, {
    K: s.K,
    sampling: { ...sampling, seed: seed + 7 },
    labeler: heldoutLabeler,
    rng: rng.fork('heldout'),
  });
  sftModel.destroy();
  await options.onRankings?.('train', trainRankings);
  await options.onRankings?.('heldout', heldoutRankings);

  // 3. Reward model from the SFT trunk
  const rmModel = new GptModel(device, config, 'scalar', Math.max(s.B, s.K), s.T, 'reward-model');
  initRewardModel(rmModel, sftParams, seed);
  const rm = await trainRewardModel(rmModel, trainRankings.map((r) => encodeRanking(tokenizer, r)), {
    lr: s.rmLr,
    seed,
    heldout: heldoutRankings.map((r) => encodeRanking(tokenizer, r)),
    demonstrations,
    onProgress: (p) => report('reward_model', `RM step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p.accuracy.toFixed(2)}`),
  });
  const rmParams = await rmModel.readParams();
  rmModel.destroy();
  const trunkFloats = sftParams.length;
  await trained({ name: 'reward_model', params: rmParams.slice(0, trunkFloats), scalarHead: rmParams.slice(trunkFloats) });

  // 4. PPO and PPO-ptx from SFT against the reward model
  const trainPromptIds = fitting(promptSet.train).map((p) => tokenizer.encode(formatPrompt(p.text)));
  const runPpo = async (name: 'ppo' | 'ppo_ptx') => {
    const models = createPpoModels(device, config, { sft: sftParams, rewardModel: rmParams }, s.B, s.T);
    const lr = { ...DEFAULT_PPO_ADAMW, lr: s.ppoLr };
    const trainer = new PpoTrainer(models, {
      eosId: tokenizer.eosId,
      maxNewTokens: s.maxNewTokens,
      klCoef: s.klCoef,
      policyOptimizer: lr,
      valueOptimizer: lr,
      seed,
      ppoEpochs: s.ppoEpochs,
      ptx: name === 'ppo_ptx' ? { stream: corpusStream, coef: s.ptxCoef } : undefined,
    });
    const history: PpoMetrics[] = [];
    const order = createRng(`${name}-${seed}`);
    for (let i = 0; i < s.ppoIterations; i++) {
      const batch = Array.from({ length: s.B }, () => trainPromptIds[order.int(0, trainPromptIds.length - 1)]);
      const { metrics } = await trainer.iterate(batch);
      history.push(metrics);
      options.onPpoMetrics?.(name, metrics);
      report(name, `${name} iteration ${i + 1}/${s.ppoIterations} score ${metrics['objective/scores'].toFixed(3)} kl ${metrics['objective/kl'].toFixed(3)}`);
    }
    const params = await models.policy.readParams();
    trainer.destroy();
    Object.values(models).forEach((m) => m.destroy());
    await trained({ name, params });
    return { params, history };
  };
  const ppo = await runPpo('ppo');
  const ppoPtx = await runPpo('ppo_ptx');

  // 5. DPO from SFT on the same comparisons
  const policy = new GptModel(device, config, 'lm', s.B, s.T, 'dpo-policy');
  const reference = new GptModel(device, config, 'lm', s.B, s.T, 'dpo-reference');
  policy.writeParams(sftParams);
  reference.writeParams(sftParams);
  const dpoPairs = rng.fork('dpo').shuffle(encodePreferencePairs(tokenizer, trainRankings)).slice(0, s.dpoPairs);
  await trainDpo(policy, reference, dpoPairs, {
    epochs: s.dpoEpochs,
    lr: s.dpoLr,
    seed,
    onProgress: (p) => report('dpo', `DPO step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} accuracy ${p.accuracy.toFixed(2)}`),
  });
  const dpoParams = await policy.readParams();
  policy.destroy();
  reference.destroy();
  await trained({ name: 'dpo', params: dpoParams });

  // 6. Evaluation on held-out prompts by the held-out labeler
  const evalPrompts = fitting(promptSet.heldout).slice(0, s.evalPrompts);
  const candidates: Record<ModelName, Float32Array> = { base: base.params, sft: sftParams, ppo: ppo.params, ppo_ptx: ppoPtx.params, dpo: dpoParams };
  const evaluator = new GptModel(device, config, 'lm', s.B, Math.min(64, s.T), 'evaluation');
  const heldoutWindows = evaluationWindows(tokenStream(tokenizer, corpus.slice(0, heldoutDocs)), evaluator.B, evaluator.T, s.lossBatches);
  const responses = {} as Record<ModelName, Response[]>;
  const losses = {} as Record<ModelName, number>;
  for (const [name, params] of Object.entries(candidates) as [ModelName, Float32Array][]) {
    report('evaluation', `evaluating ${name}`);
    evaluator.writeParams(params);
    losses[name] = await evaluationLoss(evaluator, heldoutWindows);
    const outputs = await sampleOutputs(device, samplingModel(evaluator.params), evalPrompts, 1, { ...sampling, temperature: 0.7, seed: seed + 99 });
    responses[name] = outputs.map(([response]) => response);
  }
  evaluator.destroy();
  const models = {} as Record<ModelName, ModelEvaluation>;
  for (const name of Object.keys(candidates) as ModelName[]) {
    const { samples, ...metrics } = labelerReport(evalPrompts, responses[name], heldoutLabeler);
    report('evaluation', `${name}: ${samples.length} answers judged`);
    models[name] = {
      ...metrics,
      win_rate_vs_sft: winRate(evalPrompts, responses[name], responses.sft, heldoutLabeler),
      win_rate_vs_base: winRate(evalPrompts, responses[name], responses.base, heldoutLabeler),
      pretrain_loss: losses[name],
    };
  }
  return {
    reward_model: { heldout_accuracy: rm.heldout?.accuracy ?? NaN, train_accuracy: rm.train.accuracy, heldout_ceiling: labelerCeiling(heldoutRankings, rankedHeldout, heldoutLabeler) },
    models,
    ppo: ppo.history,
  };
}

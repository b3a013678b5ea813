// The evaluation stage (InstructGPT §4's table, in miniature): each model answers held-out prompts
// and the held-out labeler judges the answers (Likert, instruction following, truthfulness,
// hallucination, toxicity, win rates against SFT and the base), beside the model's loss on held-out
// pretraining text (the alignment tax). runEvaluationStage does it on the GPU for the CLI and the
// pipeline; the worker answers with its own samplers (GPU or onnxruntime-web) and builds the same
// rows with evaluationRow.
import { GptModel } from '../model/gpt.ts';
import type { GptConfig } from '../model/config.ts';
import { evaluationLoss } from '../model/lm-training.ts';
import { GptSampler, type SamplingOptions } from '../model/sampler.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { heldoutLabeler, type Prompt } from '../world/index.ts';
import { generateResponses, labelerReport, winRate, type LabelerReport, type Response } from './evaluate.ts';
import { heldoutPretrainingWindows } from './pretraining-text.ts';
import type { StageHooks } from './training-loop.ts';

/** One model's line of the table. */
export interface EvaluationMetrics extends Omit<LabelerReport, 'samples'> {
  /** Share of prompts where the held-out labeler scores this answer above SFT's (ties count half), when SFT answered. */
  win_rate_vs_sft?: number;
  win_rate_vs_base?: number;
  /** Mean −log p per token on held-out pretraining text. */
  pretrain_loss: number;
}

/** A model's answers to the held-out prompts and its held-out pretraining loss. */
export interface ModelAnswers {
  responses: Response[];
  pretrainLoss: number;
}

/** The table's line for `mine`, with win rates against the SFT and base answers that are given. */
export function evaluationRow(
  prompts: readonly Prompt[],
  mine: ModelAnswers,
  against: { sft?: readonly Response[]; base?: readonly Response[] },
): EvaluationMetrics {
  const {
    prompts: count,
    likert,
    follows_instruction,
    truthful,
    hallucination,
    toxicity,
    ended,
  } = labelerReport(prompts, mine.responses, heldoutLabeler);
  const versus = (theirs: readonly Response[] | undefined) =>
    theirs ? winRate(prompts, mine.responses, theirs, heldoutLabeler) : undefined;
  const wins = { win_rate_vs_sft: versus(against.sft), win_rate_vs_base: versus(against.base) };
  const defined = Object.fromEntries(Object.entries(wins).filter(([, value]) => value !== undefined));
  return {
    prompts: count,
    likert,
    follows_instruction,
    truthful,
    hallucination,
    toxicity,
    ended,
    ...defined,
    pretrain_loss: mine.pretrainLoss,
  };
}

export interface EvaluationStageSettings {
  /** Sampler rows and sequence length. */
  sampler: { B: number; T: number };
  sampling: SamplingOptions;
  /** The loss model's shape and its windows: `batches` of the held-out prefix of a `documents`-document TinyWorld corpus. */
  loss: { B: number; T: number; batches: number; documents: number; worldSeed: number };
}

/** Each candidate's answers to the prompts and held-out pretraining loss, on the GPU; progress names the model being evaluated. */
export async function runEvaluationStage(
  device: GPUDevice,
  model: { config: GptConfig; tokenizer: Tokenizer },
  candidates: Readonly<Record<string, Float32Array>>,
  prompts: readonly Prompt[],
  settings: EvaluationStageSettings,
  hooks: StageHooks<string> = {},
): Promise<Record<string, ModelAnswers>> {
  const { config, tokenizer } = model;
  const { loss } = settings;
  const evaluator = new GptModel(device, config, 'lm', loss.B, loss.T, 'evaluation');
  let sampler: GptSampler | undefined;
  try {
    sampler = new GptSampler(
      device,
      config,
      evaluator.params,
      'lm',
      settings.sampler.B,
      settings.sampler.T,
      tokenizer.eosId,
      'evaluation.sampler',
    );
    const windows = heldoutPretrainingWindows(tokenizer, loss.worldSeed, loss.documents, loss);
    const answers: Record<string, ModelAnswers> = {};
    for (const [name, params] of Object.entries(candidates)) {
      await hooks.onProgress?.(`evaluating ${name}`);
      evaluator.writeParams(params);
      const pretrainLoss = await evaluationLoss(evaluator, windows);
      answers[name] = {
        responses: await generateResponses(sampler, tokenizer, prompts, settings.sampling),
        pretrainLoss,
      };
    }
    return answers;
  } finally {
    sampler?.destroy();
    evaluator.destroy();
  }
}

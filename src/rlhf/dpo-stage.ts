// The DPO stage as the worker, the CLI and the pipeline run it: a policy and a frozen reference,
// both GPU 'lm' models of shape (B,T) starting from the SFT parameters, trainDpo on the preference
// pairs, and the trained policy's parameters come back; both models are freed whatever happens.
import { GptModel } from '../model/gpt.ts';
import type { GptConfig } from '../model/config.ts';
import {
  evaluateDpo,
  trainDpo,
  TRL_DPO_BETA,
  type DpoMetrics,
  type DpoOptions,
  type DpoProgress,
  type DpoResult,
  type PreferenceSequences,
} from './dpo.ts';
import type { StageHooks } from './training-loop.ts';

export interface DpoStageSettings extends Omit<DpoOptions, keyof StageHooks<DpoProgress> | 'heldout'> {
  /** Rows per batch (two per pair) and sequence length of both models. */
  B: number;
  T: number;
  /** Also measure the DPO metrics on the training pairs after training. */
  evaluateTrain?: boolean;
}

export interface DpoStageResult {
  params: Float32Array;
  result: DpoResult;
  /** On the training pairs after training (with evaluateTrain). */
  train?: DpoMetrics;
}

/** DPO from `start` (the SFT model, also the frozen reference) on the pairs; held-out pairs are only measured. */
export async function runDpoStage(
  device: GPUDevice,
  start: { config: GptConfig; params: Float32Array },
  pairs: { train: readonly PreferenceSequences[]; heldout?: readonly PreferenceSequences[] },
  settings: DpoStageSettings,
  hooks: StageHooks<DpoProgress> = {},
): Promise<DpoStageResult> {
  const { B, T, evaluateTrain, ...options } = settings;
  const policy = new GptModel(device, start.config, 'lm', B, T, 'dpo-policy');
  const reference = new GptModel(device, start.config, 'lm', B, T, 'dpo-reference');
  try {
    policy.writeParams(start.params);
    reference.writeParams(start.params);
    const heldout = pairs.heldout && pairs.heldout.length > 0 ? pairs.heldout : undefined;
    const result = await trainDpo(policy, reference, pairs.train, {
      ...options,
      ...hooks,
      ...(heldout && { heldout }),
    });
    const train = evaluateTrain
      ? await evaluateDpo(policy, reference, pairs.train, options.beta ?? TRL_DPO_BETA)
      : undefined;
    return { params: await policy.readParams(), result, ...(train && { train }) };
  } finally {
    policy.destroy();
    reference.destroy();
  }
}

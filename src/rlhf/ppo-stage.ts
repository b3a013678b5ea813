// The PPO stage as the worker, the CLI and the pipeline run it: the four models of PpoTrainer built
// from the SFT parameters and the reward model (the policy from a saved policy when resuming), and
// one iteration at a time on a batch of prompts drawn by a PromptOrder. The caller runs as many
// iterations as it wants, reads the policy when it saves, and destroys the stage (models and
// sampler) when it is done, in a finally.
import type { GptConfig } from '../model/config.ts';
import { joinScalarParams, type ScalarModelParams } from '../model/layout.ts';
import { Rng } from '../model/random.ts';
import { createRng } from '../world/index.ts';
import {
  createPpoModels,
  PpoTrainer,
  type PpoIterationResult,
  type PpoModels,
  type PpoOptions,
  type PpoPhase,
} from './ppo.ts';

/** Which prompts (indices into the prompt list) iteration `iteration` trains on; `count` of them. */
export type PromptOrder = (iteration: number, prompts: number, count: number) => number[];

/**
 * The pipeline's order (the CLI's too): `count` prompts drawn uniformly per iteration from one
 * TinyWorld stream named after the run, so a run's batches follow from its name and seed.
 */
export function streamPromptOrder(name: string, seed: number): PromptOrder {
  const order = createRng(`${name}-${seed}`);
  return (_iteration, prompts, count) => Array.from({ length: count }, () => order.intBetween(0, prompts - 1));
}

/** The lab's order: each iteration's draw depends only on the seed and the iteration, so a resumed run continues it. */
export function resumablePromptOrder(seed: number): PromptOrder {
  return (iteration, prompts, count) => {
    const rng = new Rng(seed * 7919 + iteration);
    return Array.from({ length: count }, () => rng.int(prompts));
  };
}

export interface PpoStageSettings extends Omit<PpoOptions, 'onMetrics'> {
  /** Rows per batch and sequence length of the four models. */
  B: number;
  T: number;
}

/** One iteration: the prompts it drew (indices into the prompt list) and the trainer's result. */
export interface PpoStageIteration extends PpoIterationResult {
  batch: number[];
}

export class PpoStage {
  private constructor(
    readonly models: PpoModels,
    private readonly trainer: PpoTrainer,
    private readonly prompts: readonly number[][],
    private readonly order: PromptOrder,
  ) {}

  /**
   * Builds the models: policy and reference from `sft` (the policy from `policy` when given, to
   * resume), value and reward models from the reward model's trunk and head.
   */
  static create(
    device: GPUDevice,
    sft: { config: GptConfig; params: Float32Array },
    rewardModel: ScalarModelParams,
    prompts: readonly number[][],
    order: PromptOrder,
    settings: PpoStageSettings,
    policy?: Float32Array,
  ): PpoStage {
    const { B, T, ...options } = settings;
    const models = createPpoModels(
      device,
      sft.config,
      { sft: sft.params, rewardModel: joinScalarParams(sft.config, rewardModel) },
      B,
      T,
    );
    try {
      if (policy) models.policy.writeParams(policy);
      return new PpoStage(models, new PpoTrainer(models, options), prompts, order);
    } catch (error) {
      Object.values(models).forEach((m) => m.destroy());
      throw error;
    }
  }

  /** Episodes per iteration. */
  get batchSize(): number {
    return this.trainer.options.batchSize;
  }

  /** One PPO iteration on the next batch of prompts; onPhase hears what it is doing. */
  async iterate(iteration: number, onPhase?: (phase: PpoPhase) => void): Promise<PpoStageIteration> {
    const batch = this.order(iteration, this.prompts.length, this.batchSize);
    const result = await this.trainer.iterate(
      batch.map((p) => this.prompts[p]),
      onPhase,
    );
    return { ...result, batch };
  }

  readPolicy(): Promise<Float32Array> {
    return this.models.policy.readParams();
  }

  /** Frees the sampler and the four models. */
  destroy(): void {
    this.trainer.destroy();
    Object.values(this.models).forEach((m) => m.destroy());
  }
}

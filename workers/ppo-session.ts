// A PPO run the page can start, pause, step and reset: the four models of PpoTrainer built from
// the "sft" and "reward_model" checkpoints (the policy from "policy" when resuming), prompts drawn
// each iteration from the lesson's prompt list (resumablePromptOrder), the PPO-ptx mix from
// TinyWorld's corpus when γ_ptx > 0, and per iteration the metrics, a samples table beside the SFT model's answer to the
// same prompts, and every few iterations a "policy" checkpoint the page persists.
import type { Checkpoint } from '../src/model/checkpoint.ts';
import { GptSampler } from '../src/model/sampler.ts';
import { extractResponse, formatPrompt } from '../src/world/index.ts';
import { DEFAULT_PPO_ADAMW, type PpoMetrics, type PpoPhase } from '../src/rlhf/ppo.ts';
import { PpoStage, resumablePromptOrder } from '../src/rlhf/ppo-stage.ts';
import { pretrainingMixStream } from '../src/rlhf/pretraining-text.ts';
import { lineageMeta, type CheckpointRegistry, type CheckpointSummary } from './checkpoints.ts';
import { checkpointOf, rewardModelWeights, trainingShape } from './training.ts';

export interface PpoSettings {
  /** Instructions (not yet in the chat frame) the policy answers; those leaving no room for a response are skipped. */
  prompts: string[];
  /** β, the KL penalty coefficient (PpoOptions.klCoef). */
  klCoef: number;
  lr: number;
  /** Policy ratio clip ε (PpoOptions.clipRange). */
  clipRange: number;
  ppoEpochs: number;
  /** Episodes per iteration (at least 2: advantages are whitened over the batch). */
  batchSize: number;
  temperature: number;
  /** γ_ptx; 0 is plain PPO. */
  ptxCoef: number;
  maxNewTokens: number;
  seed: number;
  /** TinyWorld seed of the pretraining corpus (PPO-ptx). */
  worldSeed: number;
  /** Save the policy checkpoint every this many iterations. */
  saveEvery: number;
  /** Continue from the "policy" checkpoint at this iteration (resume after a reload). */
  resumeAt?: number;
}

export interface PpoSampleRow {
  iteration: number;
  prompt: string;
  response: string;
  reward: number;
  kl: number;
  ended: boolean;
  /** The SFT model's answer to the same prompt, sampled alike. */
  sftResponse: string;
}

export interface PpoIterationReport {
  iteration: number;
  metrics: PpoMetrics;
  samples: PpoSampleRow[];
  /** Set when this iteration saved the "policy" checkpoint. */
  saved?: CheckpointSummary;
}

const SAMPLES_PER_ITERATION = 4;
/**
 * Prompts must leave room for this many response tokens (or maxNewTokens if fewer); longer
 * responses are cut at the model's context, as the sampler does.
 */
export const MIN_RESPONSE_ROOM = 8;

export class PpoSession {
  private paused = false;
  private running = false;
  private iteration: number;

  private constructor(
    private readonly registry: CheckpointRegistry,
    private readonly base: Checkpoint,
    private readonly stage: PpoStage,
    private readonly prompts: readonly { text: string; ids: number[] }[],
    private readonly sftSampler: GptSampler,
    private readonly settings: PpoSettings,
  ) {
    this.iteration = settings.resumeAt ?? 0;
  }

  /** Builds the models from the registry's checkpoints (SFT reference, reward model, policy). */
  static create(device: GPUDevice, registry: CheckpointRegistry, settings: PpoSettings): PpoSession {
    const base = registry.base();
    const { tokenizer } = base;
    const { B, T } = trainingShape(base.config);
    const prompts = settings.prompts
      .map((text) => ({ text, ids: tokenizer.encode(formatPrompt(text)) }))
      .filter((p) => p.ids.length + Math.min(settings.maxNewTokens, MIN_RESPONSE_ROOM) <= T);
    if (prompts.length < 2)
      throw new Error(
        `PPO needs at least 2 prompts short enough to leave room for a response in the model's ${T} tokens`,
      );
    const resuming = settings.resumeAt !== undefined && registry.has('policy');
    const adamw = { ...DEFAULT_PPO_ADAMW, lr: settings.lr };
    const stage = PpoStage.create(
      device,
      { config: base.config, params: registry.get('sft').params },
      rewardModelWeights(registry.get('reward_model')),
      prompts.map((p) => p.ids),
      resumablePromptOrder(settings.seed),
      {
        B,
        T,
        eosId: tokenizer.eosId,
        batchSize: Math.max(2, settings.batchSize),
        maxNewTokens: settings.maxNewTokens,
        temperature: settings.temperature,
        ppoEpochs: settings.ppoEpochs,
        klCoef: settings.klCoef,
        clipRange: settings.clipRange,
        policyOptimizer: adamw,
        valueOptimizer: adamw,
        seed: settings.seed + (resuming ? (settings.resumeAt ?? 0) : 0),
        samplesPerIteration: SAMPLES_PER_ITERATION,
        ptx:
          settings.ptxCoef > 0
            ? { stream: pretrainingMixStream(tokenizer, settings.worldSeed), coef: settings.ptxCoef }
            : undefined,
      },
      resuming ? registry.get('policy').params : undefined,
    );
    try {
      const sftSampler = new GptSampler(
        device,
        base.config,
        stage.models.reference.params,
        'lm',
        SAMPLES_PER_ITERATION,
        T,
        tokenizer.eosId,
        'ppo.sft-sampler',
      );
      return new PpoSession(registry, base, stage, prompts, sftSampler, {
        ...settings,
        resumeAt: resuming ? settings.resumeAt : undefined,
      });
    } catch (error) {
      stage.destroy();
      throw error;
    }
  }

  get nextIteration(): number {
    return this.iteration;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Asks a running loop to stop after the iteration in progress. */
  pause(): void {
    this.paused = true;
  }

  /**
   * Runs up to `iterations` iterations (until paused), reporting each; saves the policy every
   * saveEvery iterations and when the loop ends; onPhase hears what each iteration is doing.
   * Errors (NaN/Inf losses, device loss) propagate.
   */
  async run(
    iterations: number,
    onIteration: (report: PpoIterationReport) => void | Promise<void>,
    onPhase?: (phase: PpoPhase) => void,
  ): Promise<{ iterations: number; paused: boolean; saved?: CheckpointSummary }> {
    if (this.running) throw new Error('PPO is already running');
    this.running = true;
    this.paused = false;
    let done = 0;
    let saved: CheckpointSummary | undefined;
    try {
      while (done < iterations && !this.paused) {
        const report = await this.iterate(onPhase);
        done += 1;
        saved = undefined;
        if (this.iteration % this.settings.saveEvery === 0) report.saved = saved = await this.save();
        await onIteration(report);
      }
      if (done > 0 && !saved) saved = await this.save();
      return { iterations: done, paused: this.paused, ...(saved && { saved }) };
    } finally {
      this.running = false;
    }
  }

  private async iterate(onPhase?: (phase: PpoPhase) => void): Promise<PpoIterationReport> {
    const iteration = this.iteration;
    const result = await this.stage.iterate(iteration, onPhase);
    const batch = result.batch.map((p) => this.prompts[p]);
    const { tokenizer } = this.base;
    const shown = result.samples.map((s) => batch[s.promptIndex]);
    const sft = await this.sftSampler.generate(
      shown.map((p) => p.ids),
      {
        maxNewTokens: this.settings.maxNewTokens,
        temperature: this.settings.temperature,
        topK: 0,
        topP: 1,
        seed: this.settings.seed + iteration,
      },
    );
    this.iteration += 1;
    const samples = result.samples.map((s, i) => ({
      iteration,
      prompt: shown[i].text,
      response: extractResponse(tokenizer.decode(s.response)),
      reward: s.reward,
      kl: s.kl,
      ended: s.ended,
      sftResponse: extractResponse(tokenizer.decode(sft.tokens[i])),
    }));
    return { iteration, metrics: result.metrics, samples };
  }

  /** Snapshots the live policy as the "policy" checkpoint (step = iterations done). */
  async save(): Promise<CheckpointSummary> {
    const params = await this.stage.readPolicy();
    const meta = lineageMeta(
      { kind: 'policy', parent: 'sft', step: this.iteration },
      { kl_coef: String(this.settings.klCoef), ptx_coef: String(this.settings.ptxCoef) },
    );
    return this.registry.put('policy', checkpointOf(this.base, params, meta));
  }

  destroy(): void {
    this.stage.destroy();
    this.sftSampler.destroy();
  }
}

// A PPO run the page can start, pause, step and reset: the four models of PpoTrainer built from
// the "sft" and "reward_model" checkpoints (the policy from "policy" when resuming), prompts drawn
// each iteration from the lesson's prompt list, the PPO-ptx mix from TinyWorld's corpus when
// γ_ptx > 0, and per iteration the metrics, a samples table beside the SFT model's answer to the
// same prompts, and every few iterations a "policy" checkpoint the page persists.
import type { Checkpoint } from '../src/model/checkpoint.ts';
import { GptSampler } from '../src/model/sampler.ts';
import { Rng } from '../src/model/random.ts';
import { heldoutCount, tokenStream } from '../src/model/lm-training.ts';
import { extractResponse, formatPrompt, generateCorpus } from '../src/world/index.ts';
import { createPpoModels, DEFAULT_PPO_ADAMW, PpoTrainer, type PpoMetrics, type PpoModels, type PpoPhase } from '../src/rlhf/ppo.ts';
import { lineageMeta, type CheckpointRegistry, type CheckpointSummary } from './checkpoints.ts';
import { checkpointOf, scalarParams, trainingShape } from './training.ts';

export interface PpoSettings {
  /** Instructions (not yet in the chat frame) the policy answers; those leaving no room for a response are skipped. */
  prompts: string[];
  beta: number;
  lr: number;
  clip: number;
  ppoEpochs: number;
  /** Episodes per iteration (at least 2: advantages are whitened over the batch). */
  batch: number;
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

/** Pretraining documents drawn for the PPO-ptx stream (the held-out prefix is left out). */
const PTX_DOCUMENTS = 1000;
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
  private readonly prompts: { text: string; ids: number[] }[];

  private constructor(
    private readonly registry: CheckpointRegistry,
    private readonly base: Checkpoint,
    private readonly models: PpoModels,
    private readonly trainer: PpoTrainer,
    private readonly sftSampler: GptSampler,
    private readonly settings: PpoSettings,
  ) {
    this.iteration = settings.resumeAt ?? 0;
    const { T } = models.policy;
    const { tokenizer } = base;
    this.prompts = settings.prompts
      .map((text) => ({ text, ids: tokenizer.encode(formatPrompt(text)) }))
      .filter((p) => p.ids.length + Math.min(settings.maxNewTokens, MIN_RESPONSE_ROOM) <= T);
    if (this.prompts.length < 2) throw new Error(`PPO needs at least 2 prompts short enough to leave room for a response in the model's ${T} tokens`);
  }

  /** Builds the models from the registry's checkpoints (SFT reference, reward model, policy). */
  static create(device: GPUDevice, registry: CheckpointRegistry, settings: PpoSettings): PpoSession {
    const base = registry.base();
    const sft = registry.get('sft');
    const rewardModel = scalarParams(registry.get('reward_model'));
    const { B, T } = trainingShape(base.config);
    const models = createPpoModels(device, base.config, { sft: sft.params, rewardModel }, B, T);
    const resuming = settings.resumeAt !== undefined && registry.has('policy');
    if (resuming) models.policy.writeParams(registry.get('policy').params);
    const adamw = { ...DEFAULT_PPO_ADAMW, lr: settings.lr };
    const batchSize = Math.max(2, settings.batch);
    let trainer: PpoTrainer | undefined;
    try {
      trainer = new PpoTrainer(models, {
        eosId: base.tokenizer.eosId,
        batchSize,
        maxNewTokens: settings.maxNewTokens,
        temperature: settings.temperature,
        ppoEpochs: settings.ppoEpochs,
        klCoef: settings.beta,
        clipRange: settings.clip,
        policyOptimizer: adamw,
        valueOptimizer: adamw,
        seed: settings.seed + (resuming ? (settings.resumeAt ?? 0) : 0),
        samplesPerIteration: SAMPLES_PER_ITERATION,
        ptx: settings.ptxCoef > 0 ? { stream: ptxStream(base, settings.worldSeed), coef: settings.ptxCoef } : undefined,
      });
      const sftSampler = new GptSampler(device, base.config, models.reference.params, 'lm', SAMPLES_PER_ITERATION, T, base.tokenizer.eosId, 'ppo.sft-sampler');
      return new PpoSession(registry, base, models, trainer, sftSampler, { ...settings, resumeAt: resuming ? settings.resumeAt : undefined });
    } catch (error) {
      trainer?.destroy();
      Object.values(models).forEach((m) => m.destroy());
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
    const rng = new Rng(this.settings.seed * 7919 + iteration);
    const batch = Array.from({ length: this.trainer.options.batchSize }, () => this.prompts[rng.int(this.prompts.length)]);
    const result = await this.trainer.iterate(batch.map((p) => p.ids), onPhase);
    const { tokenizer } = this.base;
    const shown = result.samples.map((s) => batch[s.promptIndex]);
    const sft = await this.sftSampler.generate(
      shown.map((p) => p.ids),
      { maxNewTokens: this.settings.maxNewTokens, temperature: this.settings.temperature, topK: 0, topP: 1, seed: this.settings.seed + iteration },
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
    const params = await this.models.policy.readParams();
    const meta = lineageMeta({ kind: 'policy', parent: 'sft', step: this.iteration }, { beta: String(this.settings.beta), ptx_coef: String(this.settings.ptxCoef) });
    return this.registry.put('policy', checkpointOf(this.base, params, false, meta));
  }

  destroy(): void {
    this.trainer.destroy();
    this.sftSampler.destroy();
    Object.values(this.models).forEach((m) => m.destroy());
  }
}

/** The pretraining token stream PPO-ptx mixes in: TinyWorld's corpus without its held-out prefix. */
function ptxStream(base: Checkpoint, worldSeed: number): Int32Array {
  const corpus = generateCorpus(worldSeed, PTX_DOCUMENTS);
  return tokenStream(base.tokenizer, corpus.slice(heldoutCount(corpus.length)));
}

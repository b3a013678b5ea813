// The worker's named checkpoints (base, sft, reward_model, policy, dpo): CPU copies of each model
// with its lineage, plus the samplers built from them on demand — GPU samplers, or onnxruntime-web
// samplers on the ONNX export where the browser has no WebGPU — and the ONNX export itself. The CPU
// copies survive a lost GPU device; the GPU samplers do not and are dropped with it.
import { parameterCount, type GptConfig } from '../src/model/config.ts';
import {
  checkpointFiles,
  loadCheckpoint,
  type Checkpoint,
  type CheckpointFiles,
  type CheckpointInput,
} from '../src/model/checkpoint.ts';
import { GptSampler, type Generation, type SamplingOptions } from '../src/model/sampler.ts';
import type { OrtSampler } from '../src/model/ort-sampler.ts';
import { exportOnnx } from '../src/model/onnx/index.ts';
import { createStorageBufferFrom } from '../src/engine/buffers.ts';
import { CHECKPOINT_KINDS, type CheckpointKind, type CheckpointLineage } from '../src/data/lab-db.ts';
import { migrateCheckpointMeta } from '../src/data/legacy-names.ts';
import { openOrtSampler } from './ort-runtime.ts';

/** What the page knows of a checkpoint: its lineage (name, kind, parent, step) and its size. */
export interface CheckpointSummary extends CheckpointLineage {
  parameters: number;
  config: GptConfig;
  /** True for a reward model (a scalar head: it scores text, it does not write it). */
  scalar: boolean;
}

export interface Lineage {
  kind: CheckpointKind;
  parent?: string;
  createdAt?: number;
  step?: number;
}

/** Rows a cached sampler generates at once. */
export const SAMPLER_ROWS = 8;

function isKind(value: string | undefined): value is CheckpointKind {
  return CHECKPOINT_KINDS.includes(value as CheckpointKind);
}

/** The lineage strings a checkpoint's config.json carries (meta), written so they survive export. */
export function lineageMeta(lineage: Lineage, extra: Record<string, string> = {}): Record<string, string> {
  const meta: Record<string, string> = {
    ...extra,
    kind: lineage.kind,
    created_at: String(lineage.createdAt ?? Date.now()),
  };
  if (lineage.parent !== undefined) meta.parent = lineage.parent;
  if (lineage.step !== undefined) meta.steps = String(lineage.step);
  return meta;
}

export function summarize(name: string, checkpoint: Checkpoint): CheckpointSummary {
  const meta = checkpoint.meta ?? {};
  const scalar = checkpoint.scalarHead !== undefined;
  const kind: CheckpointKind = isKind(meta.kind) ? meta.kind : scalar ? 'reward_model' : 'base'; // a scalar head without a known kind: an older CLI's 'rm'
  const step = meta.steps === undefined ? undefined : Number(meta.steps);
  return {
    name,
    kind,
    ...(meta.parent !== undefined && { parent: meta.parent }),
    createdAt: Number(meta.created_at) || 0,
    ...(step !== undefined && Number.isFinite(step) && { step }),
    parameters: parameterCount(checkpoint.config),
    config: checkpoint.config,
    scalar,
  };
}

function sameShape(a: GptConfig, b: GptConfig): boolean {
  return (
    a.nLayer === b.nLayer &&
    a.nEmbd === b.nEmbd &&
    a.nHead === b.nHead &&
    a.nCtx === b.nCtx &&
    a.vocabSize === b.vocabSize
  );
}

/** What writes text from a checkpoint: its GPU sampler or its onnxruntime-web sampler (same semantics). */
export interface TextGenerator {
  generate(prompts: number[][], options: SamplingOptions): Promise<Generation>;
}

interface CachedSampler {
  params: GPUBuffer;
  sampler: GptSampler;
}

export class CheckpointRegistry {
  private readonly entries = new Map<string, Checkpoint>();
  private readonly samplers = new Map<string, CachedSampler>();
  private readonly ortSamplers = new Map<string, Promise<OrtSampler>>();

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): Checkpoint {
    const checkpoint = this.entries.get(name);
    if (!checkpoint)
      throw new Error(
        `there is no checkpoint named "${name}" yet: ${name === 'base' ? 'load the base model' : 'train it first'}`,
      );
    return checkpoint;
  }

  /** The base model; every other checkpoint must have its shape and tokenizer. */
  base(): Checkpoint {
    return this.get('base');
  }

  /** Adds or replaces a checkpoint (replacing drops its sampler); older metadata names are read as now (migrateCheckpointMeta). */
  put(name: string, stored: Checkpoint): CheckpointSummary {
    const checkpoint = stored.meta === undefined ? stored : { ...stored, meta: migrateCheckpointMeta(stored.meta) };
    this.assertFitsBase(name, checkpoint);
    this.dropSampler(name);
    this.entries.set(name, checkpoint);
    return summarize(name, checkpoint);
  }

  remove(name: string): void {
    this.dropSampler(name);
    this.entries.delete(name);
  }

  summaries(): CheckpointSummary[] {
    return [...this.entries].map(([name, checkpoint]) => summarize(name, checkpoint));
  }

  /** The Hugging Face folder files of a checkpoint (safetensors, config, tokenizer). */
  files(name: string): CheckpointFiles {
    return checkpointFiles(this.get(name));
  }

  /** Validates files (clear errors naming the file at fault) and registers them under `name`. */
  load(name: string, files: CheckpointInput): CheckpointSummary {
    return this.put(name, loadCheckpoint(files));
  }

  /** Validates files as load does, without registering them. */
  check(name: string, files: CheckpointInput): Checkpoint {
    const checkpoint = loadCheckpoint(files);
    this.assertFitsBase(name, checkpoint);
    return checkpoint;
  }

  private assertFitsBase(name: string, checkpoint: Checkpoint): void {
    if (name === 'base' || !this.entries.has('base') || sameShape(this.base().config, checkpoint.config)) return;
    const c = checkpoint.config;
    throw new Error(
      `checkpoint "${name}" has another shape (${c.nLayer} layers, ${c.nEmbd} channels, context ${c.nCtx}, vocabulary ${c.vocabSize}) than the loaded base model; load its preset first`,
    );
  }

  /** The checkpoint as ONNX (input_ids → logits; a reward model's scalar head → its scores). */
  onnx(name: string): Uint8Array {
    const checkpoint = this.get(name);
    return exportOnnx(checkpoint, { head: checkpoint.scalarHead ? 'scalar' : 'lm' });
  }

  /** A sampler over a language-model checkpoint's weights, built once and kept. */
  sampler(device: GPUDevice, name: string): GptSampler {
    const cached = this.samplers.get(name);
    if (cached) return cached.sampler;
    const checkpoint = this.languageModel(name);
    const { config, tokenizer } = checkpoint;
    const params = createStorageBufferFrom(device, `${name}.sampler-params`, checkpoint.params);
    const sampler = new GptSampler(
      device,
      config,
      params,
      'lm',
      SAMPLER_ROWS,
      config.nCtx,
      tokenizer.eosId,
      `${name}.sampler`,
    );
    this.samplers.set(name, { params, sampler });
    return sampler;
  }

  /** An onnxruntime-web (wasm) sampler over a language-model checkpoint's ONNX export, built once and kept. */
  ortSampler(name: string): Promise<OrtSampler> {
    const cached = this.ortSamplers.get(name);
    if (cached) return cached;
    const opened = openOrtSampler(this.languageModel(name));
    this.ortSamplers.set(name, opened);
    opened.catch(() => {
      if (this.ortSamplers.get(name) === opened) this.ortSamplers.delete(name); // a later call tries again
    });
    return opened;
  }

  /** The checkpoint's GPU sampler when a device is given, else its onnxruntime-web sampler. */
  async generator(name: string, device: GPUDevice | undefined): Promise<TextGenerator> {
    return device ? this.sampler(device, name) : this.ortSampler(name);
  }

  private languageModel(name: string): Checkpoint {
    const checkpoint = this.get(name);
    if (checkpoint.scalarHead) throw new Error(`"${name}" is a reward model: it scores text, it does not write it`);
    return checkpoint;
  }

  private dropSampler(name: string): void {
    const opened = this.ortSamplers.get(name);
    this.ortSamplers.delete(name);
    opened?.then((sampler) => sampler.release()).catch(() => undefined);
    const cached = this.samplers.get(name);
    if (!cached) return;
    cached.sampler.destroy();
    cached.params.destroy();
    this.samplers.delete(name);
  }

  /** Forgets every GPU object (after a device loss); the CPU copies stay. */
  forgetGpu(): void {
    this.samplers.clear();
  }
}

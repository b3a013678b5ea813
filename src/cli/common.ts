// What the CLI's commands share: the --out folder, the world seed, the (B, T) shape, checkpoint
// folders that must hold a language model or a reward model, JSONL files with errors that name the
// file and line, checkpoint lineage, the adapter's name and how often a run logs.
import { resolve } from 'node:path';
import type { Checkpoint } from '../model/checkpoint.ts';
import type { CheckpointKind } from '../data/lab-db.ts';
import type { ScalarModelParams } from '../model/layout.ts';
import type { Gpu } from '../engine/gpu.ts';
import { MAX_DATASET_CHARS } from '../rlhf/datasets.ts';
import { readFileText } from './files.ts';
import { checkCheckpointOutput, readCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, optionalNumberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';

/** Corpus documents of a default pretraining run (its first heldoutCount(...) are held out). */
export const PRETRAIN_DOCUMENTS = 20000;

/** The --out folder; required, and checked (its parents created) before any training. */
export async function outOption(context: CommandContext): Promise<string> {
  const out = optionalStringOption(context, 'out');
  if (out === undefined) throw new Error('--out DIR is required (the checkpoint folder to write)');
  await checkCheckpointOutput(out, '--out');
  return out;
}

/** --world-seed, else the seed in the checkpoint's lineage (the TinyWorld its base was trained on), else 1. */
export function worldSeedOption(context: CommandContext, checkpoint: Checkpoint): number {
  return optionalNumberOption(context, 'world-seed') ?? Number(checkpoint.meta?.seed ?? 1);
}

/** --batch, and --seq (at most the model's context; 128 when not given, or the context when shorter). */
export function shapeOptions(context: CommandContext, checkpoint: Checkpoint): { B: number; T: number } {
  const { nCtx } = checkpoint.config;
  return {
    B: numberOption(context, 'batch'),
    T: optionalNumberOption(context, 'seq', { max: nCtx }) ?? Math.min(128, nCtx),
  };
}

/** --lr, --epochs and --seed (the training seed) of a training command. */
export function trainingOptions(context: CommandContext): { lr: number; epochs: number; seed: number } {
  return {
    lr: numberOption(context, 'lr'),
    epochs: numberOption(context, 'epochs'),
    seed: numberOption(context, 'seed'),
  };
}

/** --NAME SFT_DIR, required: the SFT checkpoint a stage starts from (`purpose` says how, in the error). */
export async function requiredSftModel(
  context: CommandContext,
  name: string,
  purpose: string,
): Promise<{ dir: string; checkpoint: Checkpoint }> {
  const dir = optionalStringOption(context, name);
  if (dir === undefined) throw new Error(`--${name} SFT_DIR is required (${purpose})`);
  return { dir, checkpoint: await readLanguageModel(dir, `--${name}`) };
}

/** Reads a checkpoint folder that must hold a language model (no scalar head). */
export async function readLanguageModel(dir: string, option: string): Promise<Checkpoint> {
  const checkpoint = await readCheckpointDir(dir);
  if (checkpoint.scalarHead)
    throw new Error(`${option} ${dir} is a reward model (it has a scalar head); a language model is needed`);
  return checkpoint;
}

/** Parses a JSONL file; errors name the file (and the line, for a DatasetError or invalid UTF-8). An empty file is an error. */
export async function readJsonlFile<T>(path: string, parse: (text: string) => T[]): Promise<T[]> {
  const text = await readFileText(path, MAX_DATASET_CHARS, 'JSONL file');
  let records: T[];
  try {
    records = parse(text);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
  }
  if (records.length === 0) throw new Error(`${path} holds no records`);
  return records;
}

/**
 * Lineage of a trained checkpoint: kind, parent folder and its kind, seed (the TinyWorld seed, as
 * in the base's meta, which eval and pipeline read), training_seed (--seed), and the settings.
 */
export function lineage(
  kind: CheckpointKind,
  parentDir: string,
  parent: Checkpoint,
  worldSeed: number,
  trainingSeed: number,
  settings: Record<string, string | number>,
): Record<string, string> {
  const meta: Record<string, string> = {
    kind,
    parent: resolve(parentDir),
    parent_kind: parent.meta?.kind ?? 'unknown',
    seed: String(worldSeed),
    training_seed: String(trainingSeed),
  };
  for (const [key, value] of Object.entries(settings)) meta[key] = String(value);
  return meta;
}

export function adapterName(gpu: Gpu): string {
  return `${gpu.info.backend} ${gpu.info.description || gpu.info.device}`;
}

/** Reports about 25 times a run (and at every epoch's end). */
export function logEveryFor(totalSteps: number): number {
  return Math.max(1, Math.round(totalSteps / 25));
}

/** Reads a reward-model checkpoint folder (--reward-model) and checks it matches the policy's shape and tokenizer. */
export async function readRewardModelFor(
  dir: string,
  policy: Checkpoint,
): Promise<{ checkpoint: Checkpoint; weights: ScalarModelParams }> {
  const checkpoint = await readCheckpointDir(dir);
  if (!checkpoint.scalarHead)
    throw new Error(`--reward-model ${dir} has no scalar head (score.weight): it is not a reward model`);
  const same =
    JSON.stringify(checkpoint.config) === JSON.stringify(policy.config) &&
    checkpoint.tokenizer.toJSON() === policy.tokenizer.toJSON();
  if (!same)
    throw new Error(
      `--reward-model ${dir} does not match the policy: configs or tokenizers differ (train the reward model from the same SFT model)`,
    );
  return { checkpoint, weights: { params: checkpoint.params, scalarHead: checkpoint.scalarHead } };
}

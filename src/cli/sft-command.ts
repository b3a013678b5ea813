// `rlhf-lab sft` (options and defaults: commands.ts, `rlhf-lab sft --help`): supervised fine-tuning (InstructGPT §3.5) of a base
// checkpoint (the shipped one by default) on demonstrations — a TRL prompt–completion JSONL file,
// or TinyWorld's starter demonstrations — written as an 'sft' checkpoint whose lineage names its
// parent. Also home to what every training command shares: --out, the world seed, the (B, T)
// shape, JSONL files with errors that name the file and line, and checkpoint lineage.
import { resolve } from 'node:path';
import type { Checkpoint } from '../model/checkpoint.ts';
import type { CheckpointKind } from '../data/lab-db.ts';
import { GptModel } from '../model/gpt.ts';
import { heldoutCount, tokenStream } from '../model/lm-training.ts';
import type { Gpu } from '../engine/gpu.ts';
import { demonstrationSequences, MAX_DATASET_CHARS, parseDemonstrations, unframeDemonstration } from '../rlhf/datasets.ts';
import { trainSft, type SftProgress } from '../rlhf/sft.ts';
import { buildDemonstrations, buildPromptSet, generateCorpus } from '../world/index.ts';
import { readFileText } from './files.ts';
import { checkCheckpointOutput, readCheckpointDir, resolveModelDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, optionalNumberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

/** Corpus documents drawn for pretraining-mix windows (SFT's mix, PPO-ptx): the pipeline's small preset. */
export const MIX_DOCUMENTS = 2000;

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

/** Reads a checkpoint folder that must hold a language model (no scalar head). */
export async function readLanguageModel(dir: string, option: string): Promise<Checkpoint> {
  const checkpoint = await readCheckpointDir(dir);
  if (checkpoint.scalarHead) throw new Error(`${option} ${dir} is a reward model (it has a scalar head); a language model is needed`);
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
export function lineage(kind: CheckpointKind, parentDir: string, parent: Checkpoint, worldSeed: number, trainingSeed: number, settings: Record<string, string | number>): Record<string, string> {
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

/** Token stream of the world's pretraining documents outside the held-out split (for mixes). */
export function pretrainingStream(checkpoint: Checkpoint, worldSeed: number): Int32Array {
  const corpus = generateCorpus(worldSeed, MIX_DOCUMENTS);
  return tokenStream(checkpoint.tokenizer, corpus.slice(heldoutCount(corpus.length)));
}

/** Reports about 25 times a run (and at every epoch's end). */
export function logEveryFor(totalSteps: number): number {
  return Math.max(1, Math.round(totalSteps / 25));
}

export async function sftCommand(context: CommandContext): Promise<unknown> {
  const out = await outOption(context);
  const modelDir = resolveModelDir(context.values.model);
  const base = await readLanguageModel(modelDir, '--model');
  const worldSeed = worldSeedOption(context, base);
  const { B, T } = shapeOptions(context, base);
  const epochs = numberOption(context, 'epochs');
  const lr = numberOption(context, 'lr');
  const seed = numberOption(context, 'seed');
  const limit = optionalNumberOption(context, 'limit');
  const pretrainMix = numberOption(context, 'pretrain-mix');
  const dataPath = optionalStringOption(context, 'data');

  const demonstrations = dataPath
    ? (await readJsonlFile(dataPath, parseDemonstrations)).map(unframeDemonstration)
    : buildDemonstrations(worldSeed, buildPromptSet(worldSeed).train);
  const data = demonstrationSequences(base.tokenizer, demonstrations.slice(0, limit));
  const dataName = dataPath ?? `TinyWorld ${worldSeed} starter demonstrations`;
  context.log(`SFT of ${modelDir} on ${data.length} demonstrations (${dataName}), ${epochs} epochs, lr ${lr}, batch ${B}×${T}`);
  const started = performance.now();

  return withGpu(async (gpu) => {
    const model = new GptModel(gpu.device, base.config, 'lm', B, T, 'sft');
    model.writeParams(base.params);
    const losses: number[] = [];
    let last: SftProgress | undefined;
    const result = await trainSft(model, data, {
      epochs,
      lr,
      seed,
      ...(pretrainMix > 0 && { pretrainMix, pretrainStream: pretrainingStream(base, worldSeed) }),
      logEvery: logEveryFor(epochs * Math.ceil(data.length / B)),
      onProgress: (p) => {
        gpu.assertHealthy();
        losses.push(p.loss);
        last = p;
        const mix = p.pretrainLoss === undefined ? '' : ` pretrain ${p.pretrainLoss.toFixed(3)}`;
        context.log(`SFT epoch ${p.epoch} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} token accuracy ${p.tokenAccuracy.toFixed(3)}${mix} lr ${p.lr.toExponential(2)}`);
      },
    });
    if (result.truncated + result.dropped > 0) context.log(`${result.truncated} responses cut to fit T=${T}, ${result.dropped} demonstrations dropped (no room)`);
    const params = await model.readParams();
    model.destroy();
    const meta = lineage('sft', modelDir, base, worldSeed, seed, { data: dataName, demonstrations: data.length, epochs, lr, steps: result.steps });
    await writeCheckpointDir(out, { config: base.config, params, tokenizer: base.tokenizer, meta });
    context.log(`wrote ${out}: loss ${losses[0]?.toFixed(3)} → ${result.loss.toFixed(3)}`);
    return {
      out,
      model: modelDir,
      data: dataName,
      demonstrations: data.length,
      steps: result.steps,
      first_loss: losses[0],
      loss: result.loss,
      token_accuracy: last?.tokenAccuracy,
      truncated: result.truncated,
      dropped: result.dropped,
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}

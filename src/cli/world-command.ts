// `rlhf-lab world --out DIR [--seed S] [--documents N]`: writes the TinyWorld of a seed as
// corpus.jsonl, prompts.jsonl and demonstrations.jsonl, and reports how many records each holds.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateWorld, worldFiles } from '../world/index.ts';
import type { CommandContext } from './main.ts';
import { numberOption, stringOption } from './options.ts';

/** The seed used when --seed is not given (the one docs/tinyworld.md describes). */
export const DEFAULT_WORLD_SEED = '1';
/** Pretraining documents when --documents is not given (generateWorld's default). */
export const DEFAULT_WORLD_DOCUMENTS = 20_000;

export interface WorldResult {
  out: string;
  seed: string;
  counts: { corpus: number; trainPrompts: number; heldoutPrompts: number; demonstrations: number };
  /** Bytes written, by file name. */
  bytes: Record<string, number>;
}

export async function worldCommand(context: CommandContext): Promise<WorldResult> {
  const out = stringOption(context, 'out');
  if (out === undefined) throw new Error('--out DIR is required');
  const seed = stringOption(context, 'seed') ?? DEFAULT_WORLD_SEED;
  const documents = numberOption(context, 'documents', DEFAULT_WORLD_DOCUMENTS, { integer: true, min: 1 });
  context.log(`generating TinyWorld seed ${seed} with ${documents} documents`);
  const world = generateWorld(seed, { documents });
  const files = worldFiles(world);
  await mkdir(out, { recursive: true });
  const bytes: Record<string, number> = {};
  for (const [name, text] of Object.entries(files)) {
    const data = new TextEncoder().encode(text);
    await writeFile(join(out, name), data);
    bytes[name] = data.length;
    context.log(`wrote ${join(out, name)} (${data.length} bytes)`);
  }
  return {
    out: resolve(out),
    seed: world.seed,
    counts: {
      corpus: world.corpus.length,
      trainPrompts: world.prompts.train.length,
      heldoutPrompts: world.prompts.heldout.length,
      demonstrations: world.demonstrations.length,
    },
    bytes,
  };
}

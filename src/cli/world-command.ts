// `rlhf-lab world --out DIR` (options and defaults: commands.ts, `rlhf-lab world --help`): writes the
// TinyWorld of a seed as corpus.jsonl, prompts.jsonl and demonstrations.jsonl, and reports how
// many records each holds. With --tokens it writes the pretraining corpus as token ids instead
// (what tools/pretrain.py trains on): train.bin and heldout.bin (uint16 little-endian, each
// document followed by EOS, the held-out split being the first heldoutCount(N) documents as
// `rlhf-lab pretrain` holds out), the tokenizer.json that encoded them, and tokens.json, the
// manifest that says so.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { heldoutCount, tokenStream } from '../model/lm-training.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { corpusDocument, generateWorld, worldFiles } from '../world/index.ts';
import { readTokenizerDir, resolveModelDir } from './fs-checkpoint.ts';
import { fileSystemError, MAX_READ_BYTES, readFileBytes, writeFileAtomically } from './files.ts';
import type { CommandContext } from './main.ts';
import { numberOption, optionalStringOption, stringOption } from './options.ts';

/** The manifest's format name; tools/pretrain.py refuses any other. */
export const TOKENS_FORMAT = 'rlhf-lab-tokens-v1';

export interface WorldResult {
  out: string;
  seed: string;
  counts: { corpus: number; trainPrompts: number; heldoutPrompts: number; demonstrations: number };
  /** Bytes written, by file name. */
  bytes: Record<string, number>;
}

/** tokens.json: what train.bin and heldout.bin hold. */
export interface TokensManifest {
  format: typeof TOKENS_FORMAT;
  world_seed: string;
  documents: number;
  /** The first heldout_documents documents are in heldout.bin, the rest in train.bin. */
  heldout_documents: number;
  dtype: 'uint16';
  vocab_size: number;
  eos_id: number;
  train_tokens: number;
  heldout_tokens: number;
  /** The tokenizer folder the ids were encoded with (its tokenizer.json is copied beside). */
  tokenizer_from: string;
}

export async function worldCommand(context: CommandContext): Promise<WorldResult | TokensManifest> {
  const out = optionalStringOption(context, 'out');
  if (out === undefined) throw new Error('--out DIR is required');
  const seed = stringOption(context, 'seed');
  const documents = numberOption(context, 'documents');
  await mkdir(out, { recursive: true }).catch((error: unknown) => {
    throw fileSystemError('create', out, error);
  });
  if (context.values.tokens === true) return writeTokens(context, out, seed, documents);
  context.log(`generating TinyWorld seed ${seed} with ${documents} documents`);
  const world = generateWorld(seed, { documents });
  const files = worldFiles(world);
  const bytes: Record<string, number> = {};
  for (const [name, text] of Object.entries(files)) {
    const data = new TextEncoder().encode(text);
    await writeFileAtomically(join(out, name), data);
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

/** Documents encoded per progress line. */
const ENCODE_CHUNK = 20_000;

/** Documents [from, to) of the corpus as one uint16 stream (tokenStream: each followed by EOS). */
function encodeDocuments(
  context: CommandContext,
  seed: string,
  from: number,
  to: number,
  tokenizer: Tokenizer,
): Uint16Array {
  if (tokenizer.vocabSize > 65536) throw new Error(`a vocabulary of ${tokenizer.vocabSize} does not fit uint16 ids`);
  const chunks: Uint16Array[] = [];
  const started = performance.now();
  for (let first = from; first < to; first += ENCODE_CHUNK) {
    const last = Math.min(to, first + ENCODE_CHUNK);
    const documents = Array.from({ length: last - first }, (_, i) => corpusDocument(seed, first + i).text);
    chunks.push(Uint16Array.from(tokenStream(tokenizer, documents)));
    if (last < to)
      context.log(
        `encoded ${last - from} of ${to - from} documents (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
  }
  const ids = new Uint16Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    ids.set(chunk, offset);
    offset += chunk.length;
  }
  return ids;
}

async function writeTokens(
  context: CommandContext,
  out: string,
  seed: string,
  documents: number,
): Promise<TokensManifest> {
  const modelDir = resolveModelDir(optionalStringOption(context, 'model'));
  const tokenizer = await readTokenizerDir(modelDir);
  if (documents < 2)
    throw new Error('--tokens needs --documents 2 or more (the first are held out, the rest are trained on)');
  const heldoutDocuments = heldoutCount(documents);
  context.log(
    `encoding TinyWorld seed ${seed}: ${documents} documents (the first ${heldoutDocuments} held out) with ${join(modelDir, 'tokenizer.json')}`,
  );
  const heldout = encodeDocuments(context, seed, 0, heldoutDocuments, tokenizer);
  const train = encodeDocuments(context, seed, heldoutDocuments, documents, tokenizer);
  await writeFileAtomically(join(out, 'heldout.bin'), littleEndianBytes(heldout));
  await writeFileAtomically(join(out, 'train.bin'), littleEndianBytes(train));
  await writeFileAtomically(
    join(out, 'tokenizer.json'),
    await readFileBytes(join(modelDir, 'tokenizer.json'), MAX_READ_BYTES, 'tokenizer.json'),
  );
  const manifest: TokensManifest = {
    format: TOKENS_FORMAT,
    world_seed: seed,
    documents,
    heldout_documents: heldoutDocuments,
    dtype: 'uint16',
    vocab_size: tokenizer.vocabSize,
    eos_id: tokenizer.eosId,
    train_tokens: train.length,
    heldout_tokens: heldout.length,
    tokenizer_from: resolve(modelDir),
  };
  await writeFileAtomically(join(out, 'tokens.json'), new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  context.log(`wrote ${train.length} train and ${heldout.length} held-out tokens to ${out}`);
  return manifest;
}

/** The bytes of a uint16 array in little-endian order, whatever the host's byte order. */
function littleEndianBytes(ids: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(ids.length * 2);
  const view = new DataView(bytes.buffer);
  ids.forEach((id, i) => view.setUint16(2 * i, id, true));
  return bytes;
}

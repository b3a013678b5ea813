// Byte-level BPE tokenizer, GPT-2 style: encoding, decoding, and the Hugging Face `tokenizer.json`
// format (readable by the `tokenizers` library and transformers' PreTrainedTokenizerFast /
// AutoTokenizer); training a new one is bpe-training.ts. Pure TypeScript with no Node-only imports,
// so the same file runs in the browser, in a worker and in Node.
//
// Format decisions:
// - ids 0..255 are the 256 single-byte tokens (id b is byte b), then one id per learned merge in
//   merge order, then the special tokens last (`<|endoftext|>` is the last id by default, as in
//   Hugging Face's GPT-2 tokenizer, where it is 50256). Special tokens are in `model.vocab` too.
// - merges are saved as "left right" strings, the form every version of `tokenizers` reads (the
//   [left, right] pair form is read only by versions 0.20 and later); both forms are loaded.
// - whitespace in the pre-tokenizer regex is Unicode White_Space (what `\s` means in the
//   Oniguruma regex `tokenizers` uses), not JavaScript's `\s`, which differs on U+0085 and U+FEFF.
// - UTF-8 cannot carry lone surrogates: encode turns them into U+FFFD, so encode→decode round-trips
//   exactly every well-formed string and no others.

/** GPT-2's end-of-text token, the default (and only default) special token. */
export const ENDOFTEXT = '<|endoftext|>';

/** The GPT-2 pre-tokenizer: contractions, letter runs, digit runs, other runs, whitespace. */
const PRETOKENIZE =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** Pair keys pack two ids into one number: left · 2^21 + right, exact for ids below 2^21. */
const PAIR_SHIFT = 2 ** 21;
/** Largest vocabulary: ids must fit a pair key. */
export const MAX_VOCAB = PAIR_SHIFT;

/** Encodings of at most this many distinct words are cached; the cache is cleared when it fills. */
const WORD_CACHE_LIMIT = 100_000;

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text (by default TextDecoder drops it, and decode(encode(t)) would lose it).
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function pairKey(left: number, right: number): number {
  return left * PAIR_SHIFT + right;
}

export function pairOf(key: number): [number, number] {
  const right = key % PAIR_SHIFT;
  return [(key - right) / PAIR_SHIFT, right];
}

/**
 * GPT-2's reversible map from byte values to printable characters: printable Latin-1 bytes map to
 * themselves, the other 68 bytes (controls, space, NBSP, soft hyphen) to U+0100 onwards in order.
 */
function buildByteSymbols(): string[] {
  const symbols = new Array<string>(256);
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    if (printable) symbols[byte] = String.fromCharCode(byte);
  }
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    if (symbols[byte] === undefined) symbols[byte] = String.fromCharCode(next++);
  }
  return symbols;
}

/** BYTE_SYMBOLS[b] is the one-character token string of byte b (e.g. byte 0x20, space, is "Ġ"). */
export const BYTE_SYMBOLS: readonly string[] = buildByteSymbols();
const SYMBOL_TO_BYTE = new Map(BYTE_SYMBOLS.map((symbol, byte) => [symbol, byte]));

/** The byte-level token string of some bytes: each byte replaced by its symbol. */
export function bytesToSymbols(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += BYTE_SYMBOLS[byte];
  return text;
}

/** The bytes of a byte-level token string, or null when a character is not a byte symbol. */
function symbolsToBytes(token: string): Uint8Array | null {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = SYMBOL_TO_BYTE.get(token[i]);
    if (byte === undefined) return null;
    bytes[i] = byte;
  }
  return bytes;
}

/** Splits text into GPT-2 pre-tokens; their concatenation is the text. */
export function pretokenize(text: string): string[] {
  return text.match(PRETOKENIZE) ?? [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** A regex whose capture group matches any special token, longest first. */
export function specialTokenSplitter(specialTokens: readonly string[]): RegExp {
  const alternatives = [...specialTokens].sort((a, b) => b.length - a.length).map(escapeRegExp);
  return new RegExp(`(${alternatives.join('|')})`, 'u');
}

/** Everything that defines a tokenizer. Token strings are in byte-level symbol form. */
export interface TokenizerSpec {
  /** Token string of each id, ids 0..V-1 in order; special tokens appear as written. */
  vocab: string[];
  /** Merge rules as [left, right] token strings, highest priority first. */
  merges: Array<[string, string]>;
  /** Special tokens, each also in vocab; at least one (the end-of-text token). */
  specialTokens: string[];
}

/** A byte-level BPE tokenizer. Build one with `trainBpe` (bpe-training.ts) or `Tokenizer.fromJSON`. */
export class Tokenizer {
  /** V: number of ids, special tokens included. */
  readonly vocabSize: number;
  /** Id of `<|endoftext|>` when it is a special token, else of the special token with the lowest id. */
  readonly eosId: number;
  readonly specialTokens: readonly string[];
  /** Merge rules as [left, right] token strings, highest priority first. */
  readonly merges: ReadonlyArray<readonly [string, string]>;

  private readonly vocab: readonly string[];
  private readonly ids: Map<string, number>;
  /** Bytes each id decodes to (a special token decodes to its UTF-8). */
  private readonly tokenBytes: Uint8Array[];
  /** Id of the single-byte token of each byte value. */
  private readonly byteIds: Int32Array;
  private readonly mergeRanks = new Map<number, number>();
  private readonly mergeResults = new Map<number, number>();
  private readonly specialSplitter: RegExp;
  private readonly wordCache = new Map<string, number[]>();

  constructor(spec: TokenizerSpec) {
    const { vocab, merges, specialTokens } = spec;
    if (vocab.length > MAX_VOCAB)
      throw new Error(`vocab has ${vocab.length} tokens; at most ${MAX_VOCAB} are supported`);
    if (specialTokens.length === 0)
      throw new Error('a tokenizer needs at least one special token (the end-of-text token)');
    this.vocab = [...vocab];
    this.vocabSize = vocab.length;
    this.ids = indexVocab(vocab);
    this.specialTokens = [...specialTokens];
    const specialSet = new Set(specialTokens);
    if (specialSet.size !== specialTokens.length) throw new Error('special tokens must be distinct');
    for (const special of specialTokens) {
      if (special === '') throw new Error('special tokens must not be empty');
      if (!this.ids.has(special)) throw new Error(`special token ${JSON.stringify(special)} is not in the vocab`);
    }
    this.tokenBytes = vocab.map((token, id) => tokenToBytes(token, id, specialSet));
    this.byteIds = new Int32Array(256);
    BYTE_SYMBOLS.forEach((symbol, byte) => {
      const id = this.ids.get(symbol);
      if (id === undefined || specialSet.has(symbol)) {
        throw new Error(
          `vocab is missing the token ${JSON.stringify(symbol)} of byte 0x${byte.toString(16).padStart(2, '0')}`,
        );
      }
      this.byteIds[byte] = id;
    });
    merges.forEach(([left, right], rank) => this.addMerge(left, right, rank, specialSet));
    this.merges = merges.map(([left, right]) => [left, right] as const);
    this.eosId = this.ids.get(specialSet.has(ENDOFTEXT) ? ENDOFTEXT : lowestIdToken(specialTokens, this.ids))!;
    this.specialSplitter = specialTokenSplitter(specialTokens);
  }

  private addMerge(left: string, right: string, rank: number, specialSet: Set<string>): void {
    const where = `merge #${rank} ${JSON.stringify(`${left} ${right}`)}`;
    const leftId = this.ids.get(left);
    const rightId = this.ids.get(right);
    if (leftId === undefined || specialSet.has(left))
      throw new Error(`${where} references unknown token ${JSON.stringify(left)}`);
    if (rightId === undefined || specialSet.has(right))
      throw new Error(`${where} references unknown token ${JSON.stringify(right)}`);
    const resultId = this.ids.get(left + right);
    if (resultId === undefined || specialSet.has(left + right)) {
      throw new Error(`${where} produces ${JSON.stringify(left + right)}, which is not in the vocab`);
    }
    const key = pairKey(leftId, rightId);
    if (this.mergeRanks.has(key)) throw new Error(`${where} is listed twice`);
    this.mergeRanks.set(key, rank);
    this.mergeResults.set(key, resultId);
  }

  /** Token ids of a string; special tokens written in the text become their single ids. */
  encode(text: string): number[] {
    const ids: number[] = [];
    const parts = text.split(this.specialSplitter);
    for (let i = 0; i < parts.length; i++) {
      // split() with a capture group puts the separators (special tokens) at odd indices.
      if (i % 2 === 1) ids.push(this.ids.get(parts[i])!);
      else for (const word of pretokenize(parts[i])) for (const id of this.encodeWord(word)) ids.push(id);
    }
    return ids;
  }

  /** The text of some token ids: their bytes joined and read as UTF-8 (bad sequences become U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    const pieces: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.tokenBytes[ids[i]];
      if (bytes === undefined) throw new RangeError(`token id ${ids[i]} is not in the vocab (size ${this.vocabSize})`);
      pieces.push(bytes);
      length += bytes.length;
    }
    const joined = new Uint8Array(length);
    let offset = 0;
    for (const bytes of pieces) {
      joined.set(bytes, offset);
      offset += bytes.length;
    }
    return utf8Decoder.decode(joined);
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocab[id];
  }

  /** BPE on one pre-token: start from its bytes, apply the best-ranked merge until none applies. */
  private encodeWord(word: string): number[] {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) return cached;
    let symbols = Array.from(utf8Encoder.encode(word), (byte) => this.byteIds[byte]);
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestKey = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = pairKey(symbols[i], symbols[i + 1]);
        const rank = this.mergeRanks.get(key);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestKey = key;
        }
      }
      if (bestKey < 0) break;
      const [left, right] = pairOf(bestKey);
      symbols = mergePair(symbols, left, right, this.mergeResults.get(bestKey)!);
    }
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, symbols);
    return symbols;
  }

  /**
   * The Hugging Face `tokenizer.json` text of this tokenizer (pretty-printed, ids in order). It is
   * already JSON text: save it as is (JSON.stringify(tokenizer) would quote it once more).
   */
  toJSON(): string {
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    const header = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens
        .map((content) => ({
          id: this.ids.get(content)!,
          content,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        }))
        .sort((a, b) => a.id - b.id),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
    };
    const modelLines = [
      '  "model": {',
      '    "type": "BPE",',
      '    "dropout": null,',
      '    "unk_token": null,',
      '    "continuing_subword_prefix": null,',
      '    "end_of_word_suffix": null,',
      '    "fuse_unk": false,',
      '    "byte_fallback": false,',
      '    "ignore_merges": false,',
      `    "vocab": ${jsonLines(
        '{',
        this.vocab.map((token, id) => `${JSON.stringify(token)}: ${id}`),
        '}',
      )},`,
      `    "merges": ${jsonLines(
        '[',
        this.merges.map(([left, right]) => JSON.stringify(`${left} ${right}`)),
        ']',
      )}`,
      '  }',
    ];
    const headerText = JSON.stringify(header, null, 2);
    return `${headerText.slice(0, -2)},\n${modelLines.join('\n')}\n}\n`;
  }

  /** Loads a Hugging Face `tokenizer.json` of a byte-level BPE tokenizer, checking it thoroughly. */
  static fromJSON(text: string): Tokenizer {
    return new Tokenizer(parseTokenizerJson(text));
  }
}

/** A JSON object or array body, one entry per line at the indentation of model fields' values. */
function jsonLines(open: string, entries: string[], close: string): string {
  if (entries.length === 0) return open + close;
  return `${open}\n${entries.map((entry) => `      ${entry}`).join(',\n')}\n    ${close}`;
}

function indexVocab(vocab: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>();
  vocab.forEach((token, id) => {
    const previous = ids.get(token);
    if (previous !== undefined)
      throw new Error(`vocab has the token ${JSON.stringify(token)} twice, at ids ${previous} and ${id}`);
    ids.set(token, id);
  });
  return ids;
}

function tokenToBytes(token: string, id: number, specialSet: Set<string>): Uint8Array {
  if (specialSet.has(token)) return utf8Encoder.encode(token);
  const bytes = symbolsToBytes(token);
  if (bytes === null || bytes.length === 0) {
    throw new Error(`token ${JSON.stringify(token)} (id ${id}) is not a byte-level token and not a special token`);
  }
  return bytes;
}

function lowestIdToken(tokens: readonly string[], ids: Map<string, number>): string {
  return tokens.reduce((best, token) => (ids.get(token)! < ids.get(best)! ? token : best));
}

/** Replaces each non-overlapping (left, right) in symbols, scanning left to right, with merged. */
export function mergePair(symbols: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === left && i + 1 < symbols.length && symbols[i + 1] === right) {
      out.push(merged);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json parsing

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

function parseTokenizerJson(text: string): TokenizerSpec {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new Error(`tokenizer.json is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(root)) throw new Error('tokenizer.json must hold a JSON object');
  const model = root.model;
  if (!isObject(model)) throw new Error('tokenizer.json has no "model" object');
  if (model.type !== 'BPE')
    throw new Error(`tokenizer.json model.type is ${describe(model.type)}; only "BPE" is supported`);
  checkPipeline(root);
  checkBpeOptions(model);
  const specialTokens = parseAddedTokens(root.added_tokens);
  const vocab = parseVocab(model.vocab, specialTokens);
  const merges = parseMerges(model.merges);
  return { vocab, merges, specialTokens: specialTokens.map((token) => token.content) };
}

/** The normalizer and pre-tokenizer must be the ones this tokenizer implements. */
function checkPipeline(root: JsonObject): void {
  if (root.normalizer !== null && root.normalizer !== undefined) {
    throw new Error(
      `tokenizer.json normalizer must be null; a normalizer (${describe(root.normalizer)}) is not supported`,
    );
  }
  const pre = root.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel') {
    throw new Error(`tokenizer.json pre_tokenizer must be {"type": "ByteLevel", ...}, got ${describe(pre)}`);
  }
  if (pre.add_prefix_space !== false) throw new Error('tokenizer.json pre_tokenizer.add_prefix_space must be false');
  if (pre.use_regex === false) throw new Error('tokenizer.json pre_tokenizer.use_regex must be true');
}

/** BPE options that would change how words are split must be off. */
function checkBpeOptions(model: JsonObject): void {
  const off: Array<[string, unknown[]]> = [
    ['dropout', [null, undefined, 0]],
    ['continuing_subword_prefix', [null, undefined, '']],
    ['end_of_word_suffix', [null, undefined, '']],
    ['byte_fallback', [false, undefined]],
    ['ignore_merges', [false, undefined]],
  ];
  for (const [field, allowed] of off) {
    if (!allowed.includes(model[field]))
      throw new Error(`tokenizer.json model.${field} is ${describe(model[field])}; it is not supported`);
  }
}

interface AddedToken {
  id: number;
  content: string;
}

function parseAddedTokens(value: unknown): AddedToken[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('tokenizer.json added_tokens must be an array');
  return value.map((entry: unknown, index) => {
    const where = `tokenizer.json added_tokens[${index}]`;
    if (!isObject(entry)) throw new Error(`${where} must be an object`);
    if (typeof entry.content !== 'string' || entry.content === '')
      throw new Error(`${where}.content must be a non-empty string`);
    if (!Number.isSafeInteger(entry.id) || (entry.id as number) < 0)
      throw new Error(`${where}.id must be a non-negative integer`);
    if (entry.special !== true)
      throw new Error(
        `${where} (${JSON.stringify(entry.content)}) is not special; only special added tokens are supported`,
      );
    return { id: entry.id as number, content: entry.content };
  });
}

/** The token of each id 0..V-1 from model.vocab plus the added tokens; ids must be 0..V-1 exactly. */
function parseVocab(value: unknown, addedTokens: AddedToken[]): string[] {
  if (!isObject(value)) throw new Error('tokenizer.json model.vocab must be an object mapping tokens to ids');
  const byId: Array<string | undefined> = [];
  const place = (token: string, id: unknown, source: string): void => {
    if (!Number.isSafeInteger(id) || (id as number) < 0) {
      throw new Error(
        `${source} gives ${JSON.stringify(token)} the id ${describe(id)}; ids must be non-negative integers`,
      );
    }
    const existing = byId[id as number];
    if (existing !== undefined && existing !== token) {
      throw new Error(`${source} gives id ${id} to both ${JSON.stringify(existing)} and ${JSON.stringify(token)}`);
    }
    byId[id as number] = token;
  };
  for (const [token, id] of Object.entries(value)) place(token, id, 'tokenizer.json model.vocab');
  for (const { content, id } of addedTokens) place(content, id, 'tokenizer.json added_tokens');
  const vocab: string[] = [];
  for (let id = 0; id < byId.length; id++) {
    const token = byId[id];
    if (token === undefined) {
      throw new Error(
        `tokenizer.json vocab ids are not contiguous: id ${id} is missing (ids must run 0..${byId.length - 1})`,
      );
    }
    vocab.push(token);
  }
  return vocab;
}

/** Merges as "left right" strings (all versions of `tokenizers`) or [left, right] pairs (0.20+). */
function parseMerges(value: unknown): Array<[string, string]> {
  if (!Array.isArray(value)) throw new Error('tokenizer.json model.merges must be an array');
  return value.map((entry: unknown, index) => {
    if (typeof entry === 'string') {
      const parts = entry.split(' ');
      if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') return [parts[0], parts[1]];
    } else if (
      Array.isArray(entry) &&
      entry.length === 2 &&
      entry.every((part) => typeof part === 'string' && part !== '')
    ) {
      return [entry[0] as string, entry[1] as string];
    }
    throw new Error(
      `tokenizer.json model.merges[${index}] is ${describe(entry)}; expected "left right" or ["left", "right"]`,
    );
  });
}

// JSONL datasets of the lab in TRL's formats, shared by the Node CLI and the browser Data panel
// (plain strings in and out: no Node, no DOM):
//
//   demonstrations  {"prompt": …, "completion": …}              TRL prompt–completion (SFT)
//   comparisons     {"prompt": …, "chosen": …, "rejected": …}   TRL preference (RM, DPO)
//   rankings        one Ranking of rankings.ts per line, whole: {"promptId", "prompt",
//                   "responses", "order", "ties"?, "source", "labeler"?, "likert"?, "flags"?}
//
// TRL files hold the exact text the model sees, in the lab's chat frame, as `rlhf-lab world`
// writes demonstrations.jsonl: prompt "Human: …\nAssistant:", completion/chosen/rejected
// " …<|endoftext|>"; a TRL trainer can use them as they are. Reading back, unframePrompt and
// unframeResponse strip that frame when present and leave plain text (a hand-written
// {"prompt": "Name a red fruit.", "completion": "An apple."}) unchanged; the frame is applied
// again when the text is encoded. A rankings file holds the instruction and outputs unframed,
// as the Ranking type does.
//
// Parsing is all or nothing: the first bad line throws a DatasetError with its 1-based line
// number and the reason, and nothing is returned half-parsed. Blank lines are skipped, strings
// are kept exactly as written (never trimmed), keys a TRL file carries beyond its format's (ids,
// scores) are ignored, and a rankings line with an unknown key is rejected (a misspelt optional
// field would otherwise vanish silently).
import type { Tokenizer } from '../model/tokenizer.ts';
import { EOS, formatPrompt, formatResponse, hashString, toJsonl, type Flags, type Ranking } from '../world/index.ts';
import type { Sequence } from './batches.ts';
import { checkRanking, rankingPairs, withIdenticalOutputsTied } from './rankings.ts';

/** Largest text the parsers accept: 64 Mi characters (a TinyWorld rankings file is ~1 MB). */
export const MAX_DATASET_CHARS = 64 * 1024 * 1024;

/** A line that is not what its format says; `line` is 1-based, 0 when the whole text is at fault (too large). */
export class DatasetError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `line ${line}: ${reason}` : reason);
    this.name = 'DatasetError';
  }
}

/** TRL's prompt–completion record. */
export interface DemonstrationRecord {
  prompt: string;
  completion: string;
}

/** TRL's preference record: the completion the labeler preferred, and the other. */
export interface ComparisonRecord {
  prompt: string;
  chosen: string;
  rejected: string;
}

// ---------------------------------------------------------------------------------------------
// The chat frame

const FRAMED_MARK = '\u0000';
const FRAMED_PROMPT = formatPrompt(FRAMED_MARK);
const PROMPT_PREFIX = FRAMED_PROMPT.slice(0, FRAMED_PROMPT.indexOf(FRAMED_MARK)); // "Human: "
const PROMPT_SUFFIX = FRAMED_PROMPT.slice(FRAMED_PROMPT.indexOf(FRAMED_MARK) + 1); // "\nAssistant:"
const FRAMED_RESPONSE = formatResponse(FRAMED_MARK);
const RESPONSE_PREFIX = FRAMED_RESPONSE.slice(0, FRAMED_RESPONSE.indexOf(FRAMED_MARK)); // " "

/** "Human: X\nAssistant:" → "X"; any other text is returned unchanged. */
export function unframePrompt(text: string): string {
  const framed =
    text.length >= PROMPT_PREFIX.length + PROMPT_SUFFIX.length &&
    text.startsWith(PROMPT_PREFIX) &&
    text.endsWith(PROMPT_SUFFIX);
  return framed ? text.slice(PROMPT_PREFIX.length, text.length - PROMPT_SUFFIX.length) : text;
}

/** " X<|endoftext|>" → "X" (a completion ending in EOS loses it and its leading space); any other text is returned unchanged. */
export function unframeResponse(text: string): string {
  if (!text.endsWith(EOS)) return text;
  const body = text.slice(0, text.length - EOS.length);
  return body.startsWith(RESPONSE_PREFIX) ? body.slice(RESPONSE_PREFIX.length) : body;
}

/** A demonstration (instruction and response) as the chat-framed record demonstrationsToJsonl writes. */
export function demonstrationRecord(demonstration: { prompt: string; response: string }): DemonstrationRecord {
  return { prompt: formatPrompt(demonstration.prompt), completion: formatResponse(demonstration.response) };
}

/** A record's instruction and response, its chat frame (if any) stripped. */
export function unframeDemonstration(record: DemonstrationRecord): { prompt: string; response: string } {
  return { prompt: unframePrompt(record.prompt), response: unframeResponse(record.completion) };
}

/** Demonstrations as SFT/RM token sequences: formatPrompt(prompt) and formatResponse(response), encoded. */
export function demonstrationSequences(
  tokenizer: Tokenizer,
  demonstrations: readonly { prompt: string; response: string }[],
): Sequence[] {
  return demonstrations.map((d) => ({
    prompt: tokenizer.encode(formatPrompt(d.prompt)),
    response: tokenizer.encode(formatResponse(d.response)),
  }));
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Demonstrations from TRL prompt–completion JSONL. */
export function parseDemonstrations(text: string): DemonstrationRecord[] {
  return parseLines(text, (record) => ({
    prompt: stringField(record, 'prompt'),
    completion: stringField(record, 'completion'),
  }));
}

/** Comparisons from TRL preference JSONL. */
export function parseComparisons(text: string): ComparisonRecord[] {
  return parseLines(text, (record) => ({
    prompt: stringField(record, 'prompt'),
    chosen: stringField(record, 'chosen'),
    rejected: stringField(record, 'rejected'),
  }));
}

/**
 * K-way rankings, one Ranking per line, each validated by checkRanking (K = 2..9, order a
 * permutation, ties and per-response fields consistent), identical outputs marked as ties.
 * "promptId" may be left out (then promptIdOf(prompt)), and "source" too (then 'human': a file
 * comes from outside the lab's simulated labeler unless it says otherwise).
 */
export function parseRankings(text: string): Ranking[] {
  return parseLines(text, rankingFromRecord);
}

function parseLines<T>(text: string, toRecord: (record: Record<string, unknown>) => T): T[] {
  if (text.length > MAX_DATASET_CHARS) {
    throw new DatasetError(
      0,
      `the text has ${text.length} characters; the limit is ${MAX_DATASET_CHARS} (${MAX_DATASET_CHARS / 1024 / 1024} Mi characters): split the file`,
    );
  }
  const records: T[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index === 0 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw; // a byte-order mark
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DatasetError(index + 1, `not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DatasetError(index + 1, `expected a JSON object, got ${describe(value)}`);
    }
    try {
      records.push(toRecord(value as Record<string, unknown>));
    } catch (error) {
      throw new DatasetError(index + 1, (error as Error).message);
    }
  });
  return records;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function stringField(record: Record<string, unknown>, key: string): string {
  if (!(key in record)) throw new Error(`missing "${key}" (keys present: ${Object.keys(record).join(', ') || 'none'})`);
  const value = record[key];
  if (Array.isArray(value) && value.every((m) => typeof m === 'object' && m !== null && 'role' in m)) {
    throw new Error(`"${key}" is a list of messages (TRL's conversational format); only plain strings are supported`);
  }
  if (typeof value !== 'string') throw new Error(`"${key}" must be a string, got ${describe(value)}`);
  return value;
}

function stringArray(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw new Error(`"${key}" must be an array of strings`);
  return value;
}

function numberArray(value: unknown, key: string): number[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'number'))
    throw new Error(`"${key}" must be an array of numbers`);
  return value;
}

const RANKING_KEYS = [
  'promptId',
  'prompt',
  'responses',
  'order',
  'ties',
  'source',
  'labeler',
  'likert',
  'flags',
] as const;
const FLAG_KEYS: readonly (keyof Flags)[] = [
  'failsToFollow',
  'falseFact',
  'hallucination',
  'harmfulOrRude',
  'inappropriateForAssistant',
  'satisfiesConstraint',
  'moreQuestions',
  'offTopic',
];

/** One parsed JSON object as a Ranking, validated as a rankings line is (throws with the reason). */
export function rankingFromRecord(record: Record<string, unknown>): Ranking {
  const unknown = Object.keys(record).filter((key) => !(RANKING_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0)
    throw new Error(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; a ranking has ${RANKING_KEYS.join(', ')}`,
    );
  const prompt = stringField(record, 'prompt');
  if (!('responses' in record)) throw new Error('missing "responses"');
  if (!('order' in record)) throw new Error('missing "order"');
  const ranking: Ranking = {
    promptId: record.promptId === undefined ? promptIdOf(prompt) : stringField(record, 'promptId'),
    prompt,
    responses: stringArray(record.responses, 'responses'),
    order: numberArray(record.order, 'order'),
    source: rankingSource(record.source),
  };
  if (record.ties !== undefined) ranking.ties = tiesOf(record.ties);
  if (record.labeler !== undefined) ranking.labeler = stringField(record, 'labeler');
  if (record.likert !== undefined) ranking.likert = likertOf(record.likert);
  if (record.flags !== undefined) ranking.flags = flagsOf(record.flags);
  checkRanking(ranking);
  return orderedRanking(withIdenticalOutputsTied(ranking));
}

function rankingSource(value: unknown): Ranking['source'] {
  if (value === undefined) return 'human';
  if (value !== 'human' && value !== 'simulated')
    throw new Error(`"source" must be "human" or "simulated", got ${describe(value)}`);
  return value;
}

function tiesOf(value: unknown): [number, number][] {
  const pairs =
    Array.isArray(value) &&
    value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((p) => typeof p === 'number'));
  if (!pairs) throw new Error('"ties" must be an array of [position, position] pairs');
  return (value as [number, number][]).map(([a, b]) => [a, b]);
}

function likertOf(value: unknown): number[] {
  const ratings = numberArray(value, 'likert');
  const bad = ratings.find((r) => !Number.isInteger(r) || r < 1 || r > 7);
  if (bad !== undefined) throw new Error(`"likert" ratings are integers 1 to 7, got ${bad}`);
  return ratings;
}

function flagsOf(value: unknown): Partial<Flags>[] {
  if (!Array.isArray(value)) throw new Error('"flags" must be an array of objects (one per response)');
  return value.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new Error(`"flags"[${i}] must be an object`);
    const flags: Partial<Flags> = {};
    for (const [key, flag] of Object.entries(item)) {
      if (!(FLAG_KEYS as readonly string[]).includes(key))
        throw new Error(`"flags"[${i}] has unknown flag "${key}"; flags are ${FLAG_KEYS.join(', ')}`);
      const valid = typeof flag === 'boolean' || (key === 'satisfiesConstraint' && flag === null);
      if (!valid)
        throw new Error(
          `"flags"[${i}].${key} must be true or false${key === 'satisfiesConstraint' ? ' (or null)' : ''}, got ${describe(flag)}`,
        );
      (flags as Record<string, boolean | null>)[key] = flag as boolean | null;
    }
    return flags;
  });
}

/** The ranking's fields only, in RANKING_KEYS order (what rankingsToJsonl writes; store-side extras are dropped). */
function orderedRanking(ranking: Ranking): Ranking {
  const { promptId, prompt, responses, order, ties, source, labeler, likert, flags } = ranking;
  return {
    promptId,
    prompt,
    responses: [...responses],
    order: [...order],
    ...(ties && { ties: ties.map(([a, b]) => [a, b] as [number, number]) }),
    source,
    ...(labeler !== undefined && { labeler }),
    ...(likert && { likert: [...likert] }),
    ...(flags && { flags: flags.map((f) => ({ ...f })) }),
  };
}

// ---------------------------------------------------------------------------------------------
// Writing and converting

/** An id for a prompt that has none (imported comparisons): the same text always gets the same id. */
export function promptIdOf(prompt: string): string {
  return `prompt-${hashString(prompt).toString(16).padStart(8, '0')}`;
}

/** Prompt–completion JSONL of the records as they are (see demonstrationRecord for the chat frame). */
export function demonstrationsToJsonl(records: readonly DemonstrationRecord[]): string {
  return toJsonl(
    records.map(({ prompt, completion }) => {
      if (typeof prompt !== 'string' || typeof completion !== 'string')
        throw new Error('demonstrationsToJsonl: prompt and completion must be strings');
      return { prompt, completion };
    }),
  );
}

/**
 * Preference JSONL: every ranked pair of every ranking (rankingPairs: C(K,2) minus ties, better
 * output first) as a chat-framed {"prompt", "chosen", "rejected"} record.
 */
export function comparisonsToJsonl(rankings: readonly Ranking[]): string {
  return toJsonl(
    rankings.flatMap((ranking) =>
      rankingPairs(ranking).map((pair) => ({
        prompt: formatPrompt(pair.prompt),
        chosen: formatResponse(pair.chosen),
        rejected: formatResponse(pair.rejected),
      })),
    ),
  );
}

/** Rankings JSONL, one whole ranking per line (checked by checkRanking first). */
export function rankingsToJsonl(rankings: readonly Ranking[]): string {
  return toJsonl(
    rankings.map((ranking) => {
      checkRanking(ranking);
      return orderedRanking(ranking);
    }),
  );
}

/**
 * Each comparison as a ranking of K = 2: responses [chosen, rejected], order [0, 1], the chat
 * frame stripped, promptId from the prompt's text (comparisons of one prompt share it), and the
 * given source — 'human' by default, since a comparisons file comes from people or tools outside
 * the lab's simulated labeler. Identical chosen and rejected texts become a tie (no comparison).
 */
export function rankingsFromComparisons(
  records: readonly ComparisonRecord[],
  source: Ranking['source'] = 'human',
): Ranking[] {
  return records.map((record) => {
    const prompt = unframePrompt(record.prompt);
    const responses = [unframeResponse(record.chosen), unframeResponse(record.rejected)];
    return withIdenticalOutputsTied({ promptId: promptIdOf(prompt), prompt, responses, order: [0, 1], source });
  });
}

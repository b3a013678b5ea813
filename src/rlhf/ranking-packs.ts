// Ranking packs: a class ranks together, as the paper's 40 labelers did. A teacher's pack holds N
// prompts with K sampled outputs each, so a student ranks on any device without the model; each
// student hands back their rankings; the teacher merges the hand-ins and reads how well the class
// agrees. Shared by the CLI (`rlhf-lab pack`) and the browser (through src/store/classStore.ts):
// plain strings in and out, no Node, no DOM beyond CompressionStream, Blob and Response, which
// browsers and Node ≥ 20 both have.
//
//   pack     {"format": "rlhf-lab/ranking-pack", "version": 1, "id", "model", "worldSeed",
//             "items": [{"promptId", "prompt", "responses": [K strings]}]}
//   hand-in  {"format": "rlhf-lab/pack-rankings", "version": 1, "pack": pack id, "labeler": name,
//             "rankings": [{"promptId", "order", "ties"?, "likert"?, "flags"?}]}
//
// A hand-in carries only the judgements: prompt and outputs come from the pack it answers, whose
// id (a hash of its content) it names. Either travels as JSON text (a file) or as a code: the
// UTF-8 JSON, deflate-raw compressed, in base64url — a link's fragment `#pack=CODE` or a text a
// student copies. Everything read is untrusted: sizes are capped before and after decompression,
// unknown keys are rejected, and each ranking is checked as a rankings line is (datasets.ts).
import { buildPromptSet, createRng, hashString, trainingLabeler, type Prompt, type Ranking } from '../world/index.ts';
import { rankingFromRecord } from './datasets.ts';
import { labelerAgreement, labelerCeiling } from './rankings.ts';

export const PACK_FORMAT = 'rlhf-lab/ranking-pack';
export const HAND_IN_FORMAT = 'rlhf-lab/pack-rankings';
export const PACK_VERSION = 1;

/** Largest pack, as JSON text or decompressed from a code: 4 MiB (200 prompts × 9 outputs of 2 000 characters). */
export const MAX_PACK_BYTES = 4 * 1024 * 1024;
/** Largest hand-in: 256 KiB (a hand-in of 200 prompts is about 20 KB). */
export const MAX_HAND_IN_BYTES = 256 * 1024;
/** Longest code a pack link carries: links of about 8 KB survive chat apps, mail and learning platforms. */
export const MAX_LINK_CODE_CHARS = 8192;
export const MAX_PACK_PROMPTS = 200;
export const MAX_TEXT_CHARS = 2000;
export const MAX_LABELER_CHARS = 60;
/** The paper's inter-labeler agreement among its training labelers (InstructGPT §5.1). */
export const PAPER_AGREEMENT = 0.726;

/** The fragment key of a pack link: `https://…/#pack=CODE`. */
export const PACK_LINK_KEY = 'pack';

export interface PackItem {
  promptId: string;
  /** The instruction (not in the chat frame). */
  prompt: string;
  /** The K outputs a student ranks. */
  responses: string[];
}

export interface RankingPack {
  format: typeof PACK_FORMAT;
  version: typeof PACK_VERSION;
  /** 16 hex digits, a hash of model, worldSeed and items: a hand-in names the exact pack it answers. */
  id: string;
  /** Which checkpoint(s) the outputs were sampled from. */
  model: string;
  /** TinyWorld seed of the prompts (the simulated labeler judges them with it). */
  worldSeed: number;
  items: PackItem[];
}

/** One student's judgement of one pack item: a Ranking without what the pack already holds. */
export type PackAnswer = Pick<Ranking, 'promptId' | 'order' | 'ties' | 'likert' | 'flags'>;

export interface HandIn {
  format: typeof HAND_IN_FORMAT;
  version: typeof PACK_VERSION;
  pack: string;
  labeler: string;
  rankings: PackAnswer[];
}

/** Input that is not a valid pack or hand-in; the message says why. */
export class PackError extends Error {
  override name = 'PackError';
}

// ---------------------------------------------------------------------------------------------
// Packs

/** A pack of the items (validated), with its content id. */
export function makePack(model: string, worldSeed: number, items: readonly PackItem[]): RankingPack {
  const content = {
    model,
    worldSeed,
    items: items.map(({ promptId, prompt, responses }) => ({ promptId, prompt, responses: [...responses] })),
  };
  const pack: RankingPack = { format: PACK_FORMAT, version: PACK_VERSION, id: contentId(content), ...content };
  checkPack(pack);
  return pack;
}

/** 64 bits of hash as 16 hex digits (two 32-bit hashes under different salts). */
function contentId(content: unknown): string {
  const text = JSON.stringify(content);
  return [`a:${text}`, `b:${text}`].map((salted) => hashString(salted).toString(16).padStart(8, '0')).join('');
}

/** Throws a PackError unless the pack is well formed and its id matches its content. */
function checkPack(pack: RankingPack): void {
  if (pack.model.length === 0 || pack.model.length > MAX_TEXT_CHARS)
    throw new PackError(`the pack's model name must have 1 to ${MAX_TEXT_CHARS} characters`);
  if (!Number.isInteger(pack.worldSeed) || pack.worldSeed < 0)
    throw new PackError(`the pack's worldSeed must be a whole number ≥ 0, got ${pack.worldSeed}`);
  if (pack.items.length === 0 || pack.items.length > MAX_PACK_PROMPTS)
    throw new PackError(`a pack holds 1 to ${MAX_PACK_PROMPTS} prompts, this one ${pack.items.length}`);
  const seen = new Set<string>();
  pack.items.forEach((item, i) => {
    const where = `pack item ${i + 1}`;
    if (seen.has(item.promptId)) throw new PackError(`${where}: prompt ${item.promptId} is in the pack twice`);
    seen.add(item.promptId);
    const texts = [item.promptId, item.prompt, ...item.responses];
    if (texts.some((text) => text.length > MAX_TEXT_CHARS))
      throw new PackError(`${where}: a text is longer than ${MAX_TEXT_CHARS} characters`);
    itemRanking(item); // the outputs pass the checks of any ranking of them
  });
  if (pack.id !== contentId({ model: pack.model, worldSeed: pack.worldSeed, items: pack.items }))
    throw new PackError('the pack was changed after it was made: its id does not match its content');
}

/** The pack as the JSON text of a pack file. */
export function packToJson(pack: RankingPack): string {
  return JSON.stringify(pack);
}

/** A pack from a pack file's text, a code, or a whole pack link; throws PackError when it is not one. */
export async function readPack(input: string): Promise<RankingPack> {
  const text = await jsonOrCode(linkCode(input), MAX_PACK_BYTES, 'pack');
  const record = jsonObject(text, 'pack');
  formatOf(record, PACK_FORMAT, 'a ranking pack');
  knownKeys(record, ['format', 'version', 'id', 'model', 'worldSeed', 'items'], 'the pack');
  if (!Array.isArray(record.items)) throw new PackError('the pack has no "items" list');
  const pack: RankingPack = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    id: stringOf(record, 'id', 'the pack'),
    model: stringOf(record, 'model', 'the pack'),
    worldSeed: typeof record.worldSeed === 'number' ? record.worldSeed : NaN,
    items: record.items.map((item: unknown, i) => packItem(item, i)),
  };
  checkPack(pack);
  return pack;
}

function packItem(value: unknown, index: number): PackItem {
  const where = `pack item ${index + 1}`;
  const record = objectOf(value, where);
  knownKeys(record, ['promptId', 'prompt', 'responses'], where);
  const responses = record.responses;
  if (!Array.isArray(responses) || !responses.every((r) => typeof r === 'string'))
    throw new PackError(`${where}: "responses" must be a list of strings`);
  return { promptId: stringOf(record, 'promptId', where), prompt: stringOf(record, 'prompt', where), responses };
}

/** The code a pack link carries (`#pack=CODE`), or the input itself when it is no link. */
function linkCode(input: string): string {
  const marker = `#${PACK_LINK_KEY}=`;
  const at = input.indexOf(marker);
  return at < 0 ? input : input.slice(at + marker.length);
}

/** The pack's link on the lab at baseUrl, or undefined when its code is longer than MAX_LINK_CODE_CHARS (hand out the file). */
export async function packLink(pack: RankingPack, baseUrl: string): Promise<string | undefined> {
  const code = await encodeCode(packToJson(pack));
  return code.length > MAX_LINK_CODE_CHARS ? undefined : `${baseUrl.split('#')[0]}#${PACK_LINK_KEY}=${code}`;
}

// ---------------------------------------------------------------------------------------------
// Hand-ins

/** Throws a PackError unless the name is 1..MAX_LABELER_CHARS characters of text (no control characters). */
export function checkLabelerName(name: string): string {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed.length === 0 || trimmed.length > MAX_LABELER_CHARS || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new PackError(`a name or code has 1 to ${MAX_LABELER_CHARS} characters, without line breaks`);
  }
  return trimmed;
}

/** A student's hand-in: their answers to some of the pack's items, each checked against its item. */
export function makeHandIn(pack: RankingPack, labeler: string, answers: readonly PackAnswer[]): HandIn {
  return {
    format: HAND_IN_FORMAT,
    version: PACK_VERSION,
    pack: pack.id,
    labeler: checkLabelerName(labeler),
    rankings: checkAnswers(pack, answers),
  };
}

/** The answers, each checked against its pack item (throws PackError), without absent optional fields. */
export function checkAnswers(pack: RankingPack, answers: readonly PackAnswer[]): PackAnswer[] {
  const checked = answers.map(packAnswer);
  rankingsOfHandIn(pack, checked);
  return checked;
}

/** The hand-in as the JSON text of a rankings file. */
export function handInToJson(handIn: HandIn): string {
  return JSON.stringify(handIn);
}

/** A hand-in (file text or code) read against its pack: the labeler and their rankings; throws PackError. */
export async function readHandIn(pack: RankingPack, input: string): Promise<{ labeler: string; rankings: Ranking[] }> {
  const record = jsonObject(await jsonOrCode(input, MAX_HAND_IN_BYTES, 'rankings file'), 'rankings file');
  formatOf(record, HAND_IN_FORMAT, 'a rankings file of a ranking pack');
  knownKeys(record, ['format', 'version', 'pack', 'labeler', 'rankings'], 'the rankings file');
  if (record.pack !== pack.id)
    throw new PackError(`it answers pack ${String(record.pack)}, not this pack (${pack.id})`);
  if (!Array.isArray(record.rankings)) throw new PackError('the rankings file has no "rankings" list');
  const labeler = checkLabelerName(stringOf(record, 'labeler', 'the rankings file'));
  const answers = record.rankings.map((answer: unknown, i) => {
    const answerRecord = objectOf(answer, `ranking ${i + 1}`);
    knownKeys(answerRecord, ['promptId', 'order', 'ties', 'likert', 'flags'], `ranking ${i + 1}`);
    return answerRecord as unknown as PackAnswer;
  });
  return { labeler, rankings: rankingsOfHandIn(pack, answers, labeler) };
}

/** The fields of an answer, absent optional ones left out. */
function packAnswer({ promptId, order, ties, likert, flags }: PackAnswer): PackAnswer {
  return {
    promptId,
    order,
    ...(ties && ties.length > 0 && { ties }),
    ...(likert && { likert }),
    ...(flags && { flags }),
  };
}

/** Answers as whole rankings of the pack's outputs (source 'human', the labeler's when given); throws PackError. */
function rankingsOfHandIn(pack: RankingPack, answers: readonly PackAnswer[], labeler?: string): Ranking[] {
  const items = new Map(pack.items.map((item) => [item.promptId, item]));
  const answered = new Set<string>();
  return answers.map((answer, i) => {
    const item = items.get(answer.promptId);
    if (!item) throw new PackError(`ranking ${i + 1}: prompt ${String(answer.promptId)} is not in the pack`);
    if (answered.has(item.promptId)) throw new PackError(`ranking ${i + 1}: prompt ${item.promptId} is ranked twice`);
    answered.add(item.promptId);
    return asRanking(item, answer, labeler);
  });
}

/** The item's outputs in the order given, as a Ranking (what the simulated labeler's agreement is measured on). */
function itemRanking(item: PackItem): Ranking {
  return asRanking(item, { promptId: item.promptId, order: item.responses.map((_, r) => r) });
}

/** The answer to the item as a Ranking, validated by rankingFromRecord (a rankings line's checks). */
function asRanking(item: PackItem, answer: PackAnswer, labeler?: string): Ranking {
  try {
    return rankingFromRecord({
      ...answer,
      promptId: item.promptId,
      prompt: item.prompt,
      responses: item.responses,
      source: 'human',
      ...(labeler !== undefined && { labeler }),
    });
  } catch (error) {
    throw new PackError(`prompt ${item.promptId}: ${(error as Error).message}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// Merging a class's hand-ins

/** One handed-in file or pasted code; `name` says which (a file name, "code 3"). A file that could not be read brings the reason instead of its text. */
export type Submission = { name: string; text: string } | { name: string; unreadable: string };

export interface SubmissionResult {
  name: string;
  status: 'merged' | 'excluded' | 'rejected';
  labeler?: string;
  rankings?: number;
  /** Why it was rejected. */
  reason?: string;
}

export interface ClassMerge {
  /** The merged students, in hand-in order. */
  labelers: string[];
  /** One ranking per student per prompt they ranked. */
  rankings: Ranking[];
  submissions: SubmissionResult[];
  agreement: ClassAgreement;
}

/**
 * Reads every submission against the pack and merges the valid ones, except the labelers in
 * `exclude`. A submission is rejected (with the reason, the others still merge) when it could not
 * be read, is not a well-formed hand-in of this pack, has no rankings, or comes from a name already handed in
 * (names compare without case and surrounding spaces).
 */
export async function mergeHandIns(
  pack: RankingPack,
  submissions: readonly Submission[],
  exclude: readonly string[] = [],
): Promise<ClassMerge> {
  const excluded = new Set(exclude.map(nameKey));
  const seen = new Map<string, string>();
  const labelers: string[] = [];
  const rankings: Ranking[] = [];
  const results: SubmissionResult[] = [];
  for (const submission of submissions) {
    let handIn: { labeler: string; rankings: Ranking[] };
    try {
      if ('unreadable' in submission) throw new PackError(submission.unreadable);
      handIn = await readHandIn(pack, submission.text);
    } catch (error) {
      results.push({ name: submission.name, status: 'rejected', reason: (error as Error).message });
      continue;
    }
    const { labeler } = handIn;
    const earlier = seen.get(nameKey(labeler));
    const reason =
      earlier !== undefined
        ? `${labeler} already handed in (${earlier})`
        : handIn.rankings.length === 0
          ? 'it holds no rankings'
          : undefined;
    if (reason) {
      results.push({ name: submission.name, status: 'rejected', labeler, reason });
      continue;
    }
    seen.set(nameKey(labeler), submission.name);
    const status = excluded.has(nameKey(labeler)) ? 'excluded' : 'merged';
    results.push({ name: submission.name, status, labeler, rankings: handIn.rankings.length });
    if (status === 'excluded') continue;
    labelers.push(labeler);
    rankings.push(...handIn.rankings);
  }
  return { labelers, rankings, submissions: results, agreement: classAgreement(pack, labelers, rankings) };
}

const nameKey = (name: string) => name.trim().toLowerCase();

// ---------------------------------------------------------------------------------------------
// Agreement

export interface LabelerAgreement {
  labeler: string;
  rankings: number;
  /**
   * Share of the student's comparisons that the majority of the other students who ranked the
   * same pair ordered the same way (pairs the others split evenly are left out). null: none.
   */
  withMajority: number | null;
  /** Share of the student's comparisons that the simulated training labeler's noise-free score orders the same way (score ties half). */
  withSimulatedLabeler: number | null;
}

export interface ClassAgreement {
  labelers: string[];
  /** matrix[a][b]: share of the comparisons both students made on which they agree; null when they share none (the diagonal is 1). */
  matrix: (number | null)[][];
  /** Share of agreeing comparisons over every pair of students: the paper's inter-labeler agreement (72.6%). */
  pairwiseMean: number | null;
  /** How often two of TinyWorld's simulated training labelers agree on the same outputs. */
  simulatedPairwise: number | null;
  /** Share of all the class's comparisons that the simulated labeler's noise-free score orders the same way. */
  withSimulatedLabeler: number | null;
  perLabeler: LabelerAgreement[];
}

/** Agreeing and total comparisons. */
interface Tally {
  agreeing: number;
  comparisons: number;
}

const share = ({ agreeing, comparisons }: Tally): number | null => (comparisons === 0 ? null : agreeing / comparisons);

/**
 * +1 where the ranking puts output i above output j (i < j), −1 below, 0 tied: for each of the
 * K(K−1)/2 pairs, in the order (0,1), (0,2) … (K−2,K−1).
 */
export function pairPreferences(ranking: Ranking): number[] {
  const K = ranking.responses.length;
  const place = new Array<number>(K);
  ranking.order.forEach((response, position) => {
    place[response] = position;
  });
  const tied = new Set((ranking.ties ?? []).map(([a, b]) => pairKey(ranking.order[a], ranking.order[b], K)));
  const preferences: number[] = [];
  for (let i = 0; i < K; i++) {
    for (let j = i + 1; j < K; j++) preferences.push(tied.has(pairKey(i, j, K)) ? 0 : place[i] < place[j] ? 1 : -1);
  }
  return preferences;
}

const pairKey = (a: number, b: number, K: number) => Math.min(a, b) * K + Math.max(a, b);

/** Comparisons both rankings make (neither tied the pair) and how many of them agree. */
function tallyPair(a: readonly number[], b: readonly number[]): Tally {
  let agreeing = 0;
  let comparisons = 0;
  a.forEach((preference, pair) => {
    if (preference === 0 || b[pair] === 0) return;
    comparisons += 1;
    if (preference === b[pair]) agreeing += 1;
  });
  return { agreeing, comparisons };
}

/** The class's agreement figures on its merged rankings (each ranking's labeler among `labelers`). */
export function classAgreement(
  pack: RankingPack,
  labelers: readonly string[],
  rankings: readonly Ranking[],
): ClassAgreement {
  // preferences[labeler][promptId]
  const preferences = labelers.map(
    (labeler) => new Map(rankings.filter((r) => r.labeler === labeler).map((r) => [r.promptId, pairPreferences(r)])),
  );
  const pairTally = (a: number, b: number): Tally => {
    const total = { agreeing: 0, comparisons: 0 };
    for (const [promptId, mine] of preferences[a]) {
      const theirs = preferences[b].get(promptId);
      if (!theirs) continue;
      const tally = tallyPair(mine, theirs);
      total.agreeing += tally.agreeing;
      total.comparisons += tally.comparisons;
    }
    return total;
  };
  const pooled = { agreeing: 0, comparisons: 0 };
  const matrix: (number | null)[][] = labelers.map((_, a) => labelers.map((__, b) => (a === b ? 1 : null)));
  for (let a = 0; a < labelers.length; a++) {
    for (let b = a + 1; b < labelers.length; b++) {
      const tally = pairTally(a, b);
      matrix[a][b] = matrix[b][a] = share(tally);
      pooled.agreeing += tally.agreeing;
      pooled.comparisons += tally.comparisons;
    }
  }
  const prompts = worldPromptsOf(pack);
  const judged = rankings.filter((r) => prompts.has(r.promptId));
  const known = [...prompts.values()];
  return {
    labelers: [...labelers],
    matrix,
    pairwiseMean: share(pooled),
    simulatedPairwise: simulatedAgreement(pack, prompts),
    withSimulatedLabeler: nullIfNaN(judged.length === 0 ? NaN : labelerCeiling(judged, known, trainingLabeler)),
    perLabeler: labelers.map((labeler, a) => {
      const own = judged.filter((r) => r.labeler === labeler);
      return {
        labeler,
        rankings: preferences[a].size,
        withMajority: share(majorityTally(preferences, a)),
        withSimulatedLabeler: nullIfNaN(own.length === 0 ? NaN : labelerCeiling(own, known, trainingLabeler)),
      };
    }),
  };
}

/** The labeler's comparisons against the majority of the other labelers on the same pair of outputs. */
function majorityTally(preferences: readonly Map<string, number[]>[], labeler: number): Tally {
  const tally = { agreeing: 0, comparisons: 0 };
  for (const [promptId, mine] of preferences[labeler]) {
    const others = preferences
      .filter((_, b) => b !== labeler)
      .map((p) => p.get(promptId))
      .filter((p) => p !== undefined);
    mine.forEach((preference, pair) => {
      const vote = others.reduce((sum, theirs) => sum + theirs[pair], 0); // ties add 0
      if (preference === 0 || vote === 0) return;
      tally.comparisons += 1;
      if (Math.sign(vote) === preference) tally.agreeing += 1;
    });
  }
  return tally;
}

/** The pack's prompts that TinyWorld of its seed holds (a teacher's own prompts are not judged by the simulated labeler). */
function worldPromptsOf(pack: RankingPack): Map<string, Prompt> {
  const promptSet = buildPromptSet(pack.worldSeed);
  const world = new Map([...promptSet.train, ...promptSet.heldout].map((p) => [p.id, p]));
  return new Map(
    pack.items.flatMap((item) =>
      world.has(item.promptId) ? [[item.promptId, world.get(item.promptId)!] as const] : [],
    ),
  );
}

/** labelerAgreement of the training labeler on the pack's outputs of TinyWorld prompts (seeded by the pack's id). */
function simulatedAgreement(pack: RankingPack, prompts: ReadonlyMap<string, Prompt>): number | null {
  const items = pack.items.filter((item) => prompts.has(item.promptId)).map(itemRanking);
  if (items.length === 0) return null;
  return nullIfNaN(labelerAgreement(items, [...prompts.values()], trainingLabeler, createRng(`pack-${pack.id}`)));
}

const nullIfNaN = (x: number) => (Number.isNaN(x) ? null : x);

// ---------------------------------------------------------------------------------------------
// Codes: deflate-raw + base64url

/** The text as a code: UTF-8, deflate-raw compressed, base64url (no padding). */
export async function encodeCode(text: string): Promise<string> {
  const stream = new Blob([new TextEncoder().encode(text)]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return base64url(new Uint8Array(await new Response(stream).arrayBuffer()));
}

/** The text of a code; throws PackError when it is not one or would decompress to more than maxBytes. */
export async function decodeCode(code: string, maxBytes: number): Promise<string> {
  const compressed = fromBase64url(code.trim());
  const reader = new Blob([compressed]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      bytes += chunk.value.length;
      if (bytes > maxBytes) throw new PackError(`the code unpacks to more than ${maxBytes} bytes`);
      chunks.push(chunk.value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error instanceof PackError
      ? error
      : new PackError('the code is damaged (it does not unpack): copy it again, whole', { cause: error });
  }
  const joined = new Uint8Array(bytes);
  chunks.reduce((offset, chunk) => (joined.set(chunk, offset), offset + chunk.length), 0);
  return new TextDecoder('utf-8', { fatal: false }).decode(joined);
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(code: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]+$/.test(code)) throw new PackError('not a code: a code has only letters, digits, - and _');
  const binary = atob(code.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (code.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON

/** JSON text as it is, or a code's text; either at most maxBytes. */
async function jsonOrCode(input: string, maxBytes: number, what: string): Promise<string> {
  if (input.length > maxBytes)
    throw new PackError(`the ${what} has ${input.length} characters; the limit is ${maxBytes}`);
  const trimmed = input.trim();
  return trimmed.startsWith('{') ? trimmed : decodeCode(trimmed, maxBytes);
}

function jsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PackError(`the ${what} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return objectOf(value, `the ${what}`);
}

function objectOf(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PackError(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

function knownKeys(record: Record<string, unknown>, keys: readonly string[], where: string): void {
  const unknown = Object.keys(record).filter((key) => !keys.includes(key));
  if (unknown.length > 0)
    throw new PackError(
      `${where} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`,
    );
}

function formatOf(record: Record<string, unknown>, format: string, what: string): void {
  if (record.format !== format)
    throw new PackError(
      `not ${what} (its "format" is ${JSON.stringify(record.format) ?? 'missing'}, expected "${format}")`,
    );
  if (record.version !== PACK_VERSION)
    throw new PackError(`${what} of version ${JSON.stringify(record.version)}; this lab reads version ${PACK_VERSION}`);
}

function stringOf(record: Record<string, unknown>, key: string, where: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new PackError(`${where}: "${key}" must be a string`);
  return value;
}

// Tests for the JSONL datasets (TRL's prompt–completion and preference formats, whole K-way
// rankings): round trips as properties over arbitrary text, the chat frame, and malformed input
// rejected with its line and reason, nothing half-parsed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  comparisonsToJsonl,
  DatasetError,
  demonstrationRecord,
  demonstrationsToJsonl,
  MAX_DATASET_CHARS,
  parseComparisons,
  parseDemonstrations,
  parseRankings,
  promptIdOf,
  rankingsFromComparisons,
  rankingsToJsonl,
  unframeDemonstration,
  unframePrompt,
  unframeResponse,
} from '../../../src/rlhf/datasets.ts';
import { assertComparisons, rankingPairs } from '../../../src/rlhf/rankings.ts';
import {
  buildDemonstrations,
  buildPromptSet,
  demonstrationRecords,
  formatPrompt,
  formatResponse,
  toJsonl,
  type Ranking,
} from '../../../src/world/index.ts';

/** Any text: full Unicode, quotes, backslashes, newlines, lone surrogates, the frame's own markers. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('Human: ', '\nAssistant:', '<|endoftext|>', ' ', '"', '\\', '\r\n', 'a', 'é', '😀'),
    maxLength: 8,
  }),
);

const permutation = (K: number) =>
  fc.array(fc.double({ noNaN: true }), { minLength: K, maxLength: K }).map((keys) =>
    keys
      .map((k, i) => [k, i] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, i]) => i),
  );

const flags = fc.record(
  {
    failsToFollow: fc.boolean(),
    hallucination: fc.boolean(),
    satisfiesConstraint: fc.option(fc.boolean(), { nil: null }),
  },
  { requiredKeys: [] },
);

const ranking: fc.Arbitrary<Ranking> = fc.integer({ min: 2, max: 9 }).chain((K) =>
  fc.record(
    {
      promptId: text,
      prompt: text,
      responses: fc.uniqueArray(text, { minLength: K, maxLength: K }), // identical outputs are ties: see 'identical outputs'
      order: permutation(K),
      ties: fc.uniqueArray(
        fc.tuple(fc.nat(K - 1), fc.nat(K - 1)).filter(([a, b]) => a < b),
        { maxLength: 3, selector: ([a, b]) => a * K + b },
      ),
      source: fc.constantFrom('human' as const, 'simulated' as const),
      likert: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: K, maxLength: K }),
      flags: fc.array(flags, { minLength: K, maxLength: K }),
    },
    { requiredKeys: ['promptId', 'prompt', 'responses', 'order', 'source'] },
  ),
);

/** The DatasetError a parse throws (fails the test when it does not throw one). */
function errorOf(parse: () => unknown): DatasetError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetError);
    return error as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('round trips', () => {
  it('demonstrations: parse(toJsonl(records)) gives the records back, strings untouched', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ prompt: text, completion: text }), { maxLength: 6 }), (records) => {
        expect(parseDemonstrations(demonstrationsToJsonl(records))).toEqual(records);
      }),
    );
  });

  it('rankings: parse(toJsonl(rankings)) gives the rankings back whole', () => {
    fc.assert(
      fc.property(fc.array(ranking, { maxLength: 4 }), (rankings) => {
        expect(parseRankings(rankingsToJsonl(rankings))).toEqual(rankings);
      }),
    );
  });

  it('comparisons: every untied ranked pair, chat-framed; back as K = 2 rankings of the same texts', () => {
    fc.assert(
      fc.property(fc.array(ranking, { maxLength: 4 }), (rankings) => {
        const records = parseComparisons(comparisonsToJsonl(rankings));
        const pairs = rankings.flatMap((r) => rankingPairs(r));
        expect(records).toEqual(
          pairs.map((p) => ({
            prompt: formatPrompt(p.prompt),
            chosen: formatResponse(p.chosen),
            rejected: formatResponse(p.rejected),
          })),
        );
        const back = rankingsFromComparisons(records);
        back.forEach((r, i) => {
          // the chat frame trims surrounding whitespace, as training does (formatPrompt / formatResponse)
          expect(r).toMatchObject({
            prompt: pairs[i].prompt.trim(),
            responses: [pairs[i].chosen.trim(), pairs[i].rejected.trim()],
            order: [0, 1],
            source: 'human',
          });
          expect(r.ties).toEqual(r.responses[0] === r.responses[1] ? [[0, 1]] : undefined);
          expect(r.promptId).toBe(promptIdOf(r.prompt));
        });
      }),
    );
  });

  it('the chat frame comes off what formatPrompt / formatResponse put on, and leaves plain text alone', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(unframePrompt(formatPrompt(s))).toBe(s.trim());
        expect(unframeResponse(formatResponse(s))).toBe(s.trim());
        expect(unframeDemonstration(demonstrationRecord({ prompt: s, response: s }))).toEqual({
          prompt: s.trim(),
          response: s.trim(),
        });
      }),
    );
    expect(unframePrompt('Name a red fruit.')).toBe('Name a red fruit.');
    expect(unframeResponse('An apple.')).toBe('An apple.');
    expect(unframeResponse('An apple.<|endoftext|>')).toBe('An apple.');
  });

  it("reads `rlhf-lab world`'s demonstrations.jsonl", () => {
    const demonstrations = buildDemonstrations(1, buildPromptSet(1).train.slice(0, 5));
    const records = parseDemonstrations(toJsonl(demonstrationRecords(demonstrations)));
    expect(records.map(unframeDemonstration)).toEqual(
      demonstrations.map(({ prompt, response }) => ({ prompt, response })),
    );
  });

  it('comparisons from the same prompt share a promptId; identity is source "human" unless said otherwise', () => {
    const records = [
      { prompt: 'Name a fruit.', chosen: 'An apple.', rejected: 'A car.' },
      { prompt: formatPrompt('Name a fruit.'), chosen: formatResponse('A pear.'), rejected: formatResponse('A pear.') },
    ];
    const [a, b] = rankingsFromComparisons(records, 'simulated');
    expect(a.promptId).toBe(b.promptId);
    expect(a.source).toBe('simulated');
    expect(b.ties).toEqual([[0, 1]]);
  });
});

describe('parsing', () => {
  it('skips blank lines, accepts CRLF and a byte-order mark, ignores extra TRL columns', () => {
    const textIn = '\uFEFF{"prompt":" a ","completion":"b","id":7}\r\n\r\n   \n{"prompt":"c","completion":"d"}';
    expect(parseDemonstrations(textIn)).toEqual([
      { prompt: ' a ', completion: 'b' },
      { prompt: 'c', completion: 'd' },
    ]);
    expect(parseComparisons('')).toEqual([]);
  });

  it('fills in promptId and source of a hand-written ranking', () => {
    const [r] = parseRankings('{"prompt":"Name a fruit.","responses":["An apple.","A car."],"order":[0,1]}');
    expect(r).toEqual({
      promptId: promptIdOf('Name a fruit.'),
      prompt: 'Name a fruit.',
      responses: ['An apple.', 'A car.'],
      order: [0, 1],
      source: 'human',
    });
  });

  const good = '{"prompt":"p","completion":"c"}';
  it.each([
    ['bad JSON', `${good}\n{"prompt": "p", "completion": }`, 2, /^not valid JSON/],
    ['not an object', `${good}\n${good}\n[1, 2]`, 3, /^expected a JSON object, got an array/],
    ['missing field', `{"prompt":"p","response":"r"}`, 1, /^missing "completion" \(keys present: prompt, response\)/],
    ['wrong type', `\n${good}\n{"prompt":"p","completion":42}`, 3, /^"completion" must be a string, got number 42/],
    [
      'conversational format',
      `{"prompt":[{"role":"user","content":"hi"}],"completion":"c"}`,
      1,
      /conversational format/,
    ],
  ])('demonstrations: %s → line and reason', (_, input, line, reason) => {
    const error = errorOf(() => parseDemonstrations(input));
    expect(error.line).toBe(line);
    expect(error.reason).toMatch(reason);
    expect(error.message).toBe(`line ${line}: ${error.reason}`);
  });

  it('comparisons: a missing "rejected" names its line', () => {
    const error = errorOf(() =>
      parseComparisons('{"prompt":"p","chosen":"a","rejected":"b"}\n{"prompt":"p","chosen":"a"}'),
    );
    expect(error.line).toBe(2);
    expect(error.reason).toMatch(/^missing "rejected"/);
  });

  const ok = { promptId: 'x', prompt: 'p', responses: ['a', 'b', 'c'], order: [2, 0, 1], source: 'human' };
  it.each([
    ['K out of range (1)', { ...ok, responses: ['a'], order: [0] }, /ranks 1 outputs; a ranking holds 2 to 9/],
    ['K out of range (10)', { ...ok, responses: [...'abcdefghij'], order: [...Array(10).keys()] }, /ranks 10 outputs/],
    ['order not a permutation', { ...ok, order: [0, 0, 1] }, /order \[0, 0, 1\] is not a permutation of 0\.\.2/],
    ['order too short', { ...ok, order: [0, 1] }, /is not a permutation/],
    ['order not integers', { ...ok, order: [0, 1.5, 2] }, /is not a permutation/],
    ['responses not strings', { ...ok, responses: ['a', 2, 'c'] }, /"responses" must be an array of strings/],
    ['missing order', { promptId: 'x', prompt: 'p', responses: ['a', 'b'] }, /missing "order"/],
    ['bad source', { ...ok, source: 'robot' }, /"source" must be "human" or "simulated"/],
    ['bad tie', { ...ok, ties: [[0, 3]] }, /tie \(0, 3\) is not a pair of distinct positions below 3/],
    ['ties not pairs', { ...ok, ties: [[0]] }, /"ties" must be an array of \[position, position\] pairs/],
    ['Likert out of range', { ...ok, likert: [1, 8, 3] }, /"likert" ratings are integers 1 to 7, got 8/],
    ['Likert count', { ...ok, likert: [1, 2] }, /2 Likert ratings for 3 outputs/],
    ['unknown flag', { ...ok, flags: [{}, { rude: true }, {}] }, /"flags"\[1\] has unknown flag "rude"/],
    ['unknown key', { ...ok, respones: [] }, /unknown key "respones"/],
  ])('rankings: %s → line and reason', (_, record, reason) => {
    const error = errorOf(() =>
      parseRankings(`${JSON.stringify(ok)}\n\n${JSON.stringify(record)}\n${JSON.stringify(ok)}`),
    );
    expect(error.line).toBe(3);
    expect(error.reason).toMatch(reason);
  });

  it('refuses a text over the size limit, saying the limit', () => {
    const error = errorOf(() => parseDemonstrations('\n'.repeat(MAX_DATASET_CHARS + 1)));
    expect(error.line).toBe(0);
    expect(error.message).toMatch(new RegExp(`limit is ${MAX_DATASET_CHARS} \\(64 Mi characters\\)`));
  });

  it('writes only valid rankings, and only their own fields', () => {
    expect(() => rankingsToJsonl([{ ...ok, order: [0, 1, 1] } as Ranking])).toThrow(/not a permutation/);
    const withExtra = { ...ok, createdAt: 5 } as unknown as Ranking;
    expect(JSON.parse(rankingsToJsonl([withExtra]))).toEqual(ok);
  });
});

describe('identical outputs (issue 17)', () => {
  const duplicates =
    '{"prompt": "Name a red fruit.", "responses": ["An apple.", "A banana.", "An apple."], "order": [0, 2, 1]}\n';

  it('are ties in a parsed ranking, so neither comparisons nor DPO pairs hold them', () => {
    const [ranking] = parseRankings(duplicates);
    expect(ranking.ties).toEqual([[0, 1]]);
    expect(rankingPairs(ranking).map((p) => [p.chosen, p.rejected])).toEqual([
      ['An apple.', 'A banana.'],
      ['An apple.', 'A banana.'],
    ]);
    expect(comparisonsToJsonl([ranking]).trim().split('\n')).toHaveLength(2);
  });

  it('are never a pair, even in a ranking that does not mark them', () => {
    const unmarked: Ranking = {
      promptId: 'p',
      prompt: 'p',
      responses: ['same', 'same'],
      order: [1, 0],
      source: 'human',
    };
    expect(rankingPairs(unmarked)).toEqual([]);
    expect(() => assertComparisons([unmarked], 'r.jsonl')).toThrow(
      'r.jsonl: no comparisons to train on: every pair is a tie (identical or equally good outputs); rank outputs that differ',
    );
    expect(() => assertComparisons(parseRankings(duplicates), 'r.jsonl')).not.toThrow();
  });
});

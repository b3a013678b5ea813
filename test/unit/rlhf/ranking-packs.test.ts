// Tests for ranking packs: a pack and a hand-in round-trip as JSON and as codes (deflate-raw +
// base64url), a pack link holds a small pack and refuses a big one; malformed, tampered, foreign,
// oversized, unreadable and duplicate input is rejected with its reason while the valid hand-ins
// still merge; the agreement figures match rankings worked out by hand, and a student who ranks at
// random stands out against a class of simulated labelers.
import { describe, expect, it } from 'vitest';
import { parseRankings, rankingsToJsonl } from '../../../src/rlhf/datasets.ts';
import {
  classAgreement,
  decodeCode,
  encodeCode,
  handInToJson,
  makeHandIn,
  makePack,
  MAX_HAND_IN_BYTES,
  MAX_LINK_CODE_CHARS,
  mergeHandIns,
  packLink,
  packToJson,
  pairPreferences,
  readHandIn,
  readPack,
  type PackAnswer,
  type PackItem,
  type RankingPack,
} from '../../../src/rlhf/ranking-packs.ts';
import { labelerCeiling, simulatedRankings } from '../../../src/rlhf/rankings.ts';
import {
  buildPromptSet,
  candidateResponses,
  createRng,
  trainingLabeler,
  type Ranking,
} from '../../../src/world/index.ts';

const worldPrompts = buildPromptSet(1).train;

/** Two TinyWorld prompts with three outputs each: the hand-worked class's pack. */
const smallPack = makePack(
  'sft',
  1,
  worldPrompts
    .slice(0, 2)
    .map((p, i) => ({ promptId: p.id, prompt: p.text, responses: [`first ${i}`, `second ${i}`, `third ${i}`] })),
);
const [p1, p2] = smallPack.items.map((item) => item.promptId);

const handIn = (pack: RankingPack, labeler: string, answers: PackAnswer[]) =>
  handInToJson(makeHandIn(pack, labeler, answers));

/**
 * The hand-worked class (outputs 0, 1, 2; pairs (0,1), (0,2), (1,2)):
 *   Ada  p1: 0 > 1 > 2  (+ + +)   p2: 2 > 1 > 0  (− − −)
 *   Ben  p1: 1 > 0 > 2  (− + +)   p2: 2 > 1 > 0  (− − −)
 *   Cy   p1: 0 = 1 > 2  (0 + +)   p2: not ranked
 * Ada–Ben agree on 5 of 6 comparisons, Ada–Cy 2 of 2, Ben–Cy 2 of 2: pooled 9 of 10.
 * Against the others' majority: Ada p1 (0,1) is outvoted by Ben alone (Cy tied): 5 of 6; Ben likewise
 * 5 of 6; Cy's two comparisons both agree: 1.
 */
const CLASS = [
  {
    name: 'ada.json',
    text: handIn(smallPack, 'Ada', [
      { promptId: p1, order: [0, 1, 2] },
      { promptId: p2, order: [2, 1, 0] },
    ]),
  },
  {
    name: 'ben.json',
    text: handIn(smallPack, 'Ben', [
      { promptId: p1, order: [1, 0, 2] },
      { promptId: p2, order: [2, 1, 0], likert: [1, 4, 7] },
    ]),
  },
  {
    name: 'cy.json',
    text: handIn(smallPack, 'Cy', [
      { promptId: p1, order: [0, 1, 2], ties: [[0, 1]], flags: [{ offTopic: true }, {}, {}] },
    ]),
  },
];

describe('packs', () => {
  it('round-trips as a file and as a link; its id names its content', async () => {
    expect(smallPack.id).toMatch(/^[0-9a-f]{16}$/);
    expect(await readPack(packToJson(smallPack))).toEqual(smallPack);
    const link = await packLink(smallPack, 'https://lab.example/rlhf/?panel=rank#old');
    expect(link).toMatch(/^https:\/\/lab\.example\/rlhf\/\?panel=rank#pack=[A-Za-z0-9_-]+$/);
    expect(await readPack(link!)).toEqual(smallPack);
    const other = makePack('ppo', 1, smallPack.items);
    expect(other.id).not.toBe(smallPack.id);
  });

  it('gives no link for a pack whose code is too long, and says so on a tampered, foreign or malformed pack', async () => {
    const big = makePack(
      'sft',
      1,
      worldPrompts.slice(0, 120).map((p) => ({
        promptId: p.id,
        prompt: p.text,
        responses: candidateResponses(p, createRng(p.id), 4).map((c) => c.text),
      })),
    );
    expect((await encodeCode(packToJson(big))).length).toBeGreaterThan(MAX_LINK_CODE_CHARS);
    expect(await packLink(big, 'https://lab.example/')).toBeUndefined();

    const tampered = JSON.parse(packToJson(smallPack)) as RankingPack;
    tampered.items[0].responses[0] = 'a better first output';
    await expect(readPack(JSON.stringify(tampered))).rejects.toThrow(/changed after it was made/);
    await expect(readPack(CLASS[0].text)).rejects.toThrow(/not a ranking pack/);
    await expect(readPack('{"format": "rlhf-lab/ranking-pack", "version": 1, "items": 3}')).rejects.toThrow(
      /no "items" list/,
    );
    await expect(readPack('not a pack at all')).rejects.toThrow(/not a code/);
    const oneOutput = {
      ...JSON.parse(packToJson(smallPack)),
      items: [{ promptId: 'x', prompt: 'x', responses: ['only one'] }],
    };
    await expect(readPack(JSON.stringify(oneOutput))).rejects.toThrow(/ranks 1 outputs/);
    const duplicateItems: PackItem[] = [smallPack.items[0], smallPack.items[0]];
    expect(() => makePack('sft', 1, duplicateItems)).toThrow(/in the pack twice/);
  });
});

describe('hand-ins', () => {
  it("hold only judgements and read back as whole human rankings of the pack's outputs, as a file or a code", async () => {
    const json = CLASS[1].text;
    expect(JSON.parse(json)).toEqual({
      format: 'rlhf-lab/pack-rankings',
      version: 1,
      pack: smallPack.id,
      labeler: 'Ben',
      rankings: [
        { promptId: p1, order: [1, 0, 2] },
        { promptId: p2, order: [2, 1, 0], likert: [1, 4, 7] },
      ],
    });
    const fromCode = await readHandIn(smallPack, await encodeCode(json));
    expect(fromCode).toEqual(await readHandIn(smallPack, json));
    expect(fromCode.rankings[1]).toEqual({
      promptId: p2,
      prompt: smallPack.items[1].prompt,
      responses: smallPack.items[1].responses,
      order: [2, 1, 0],
      source: 'human',
      labeler: 'Ben',
      likert: [1, 4, 7],
    });
    // and a rankings file of them feeds `rlhf-lab rm --rankings`
    expect(parseRankings(rankingsToJsonl(fromCode.rankings))).toEqual(fromCode.rankings);
  });

  it('are checked when made: a name, a known prompt, a permutation', () => {
    expect(() => makeHandIn(smallPack, '  ', [])).toThrow(/a name or code has 1 to 60 characters/);
    expect(() => makeHandIn(smallPack, 'A\nB', [])).toThrow(/without line breaks/);
    expect(() => makeHandIn(smallPack, 'Ada', [{ promptId: 'train-9999', order: [0, 1, 2] }])).toThrow(
      /not in the pack/,
    );
    expect(() => makeHandIn(smallPack, 'Ada', [{ promptId: p1, order: [0, 0, 2] }])).toThrow(/not a permutation/);
    expect(() =>
      makeHandIn(smallPack, 'Ada', [
        { promptId: p1, order: [0, 1, 2] },
        { promptId: p1, order: [2, 1, 0] },
      ]),
    ).toThrow(/ranked twice/);
  });

  it('refuse a code that unpacks to more than the limit (a zip bomb)', async () => {
    const huge = `{"labeler": "${'x'.repeat(MAX_HAND_IN_BYTES)}"}`;
    const code = await encodeCode(huge);
    expect(code.length).toBeLessThan(MAX_HAND_IN_BYTES);
    await expect(decodeCode(code, MAX_HAND_IN_BYTES)).rejects.toThrow(/unpacks to more than/);
    await expect(readHandIn(smallPack, code)).rejects.toThrow(/unpacks to more than/);
  });
});

describe('mergeHandIns', () => {
  it('merges the valid hand-ins and rejects the malformed, foreign and duplicate ones with their reasons', async () => {
    const otherPack = makePack('ppo', 1, smallPack.items);
    const good = await encodeCode(CLASS[0].text);
    const submissions = [
      { name: 'ada-code', text: good },
      CLASS[1],
      { name: 'broken.json', text: '{"format": "rlhf-lab/pack-rankings", ' },
      { name: 'damaged-code', text: good.slice(0, good.length / 2) + '!' },
      { name: 'truncated-code', text: good.slice(0, 12) },
      { name: 'other-pack.json', text: handIn(otherPack, 'Dee', [{ promptId: p1, order: [0, 1, 2] }]) },
      { name: 'ada-again.json', text: handIn(smallPack, ' ada ', [{ promptId: p1, order: [2, 1, 0] }]) },
      { name: 'extra-key.json', text: CLASS[2].text.replace('"labeler"', '"score": 3, "labeler"') },
      { name: 'bad-order.json', text: CLASS[2].text.replace('[0,1,2]', '[0,1,1]') },
      { name: 'bad-likert.json', text: CLASS[1].text.replace('[1,4,7]', '[1,4,8]') },
      { name: 'empty.json', text: handIn(smallPack, 'Eve', []) },
      { name: 'huge.json', unreadable: 'huge.json has 300000 bytes, over the limit' },
      CLASS[2],
    ];
    const merge = await mergeHandIns(smallPack, submissions);
    expect(merge.labelers).toEqual(['Ada', 'Ben', 'Cy']);
    expect(merge.rankings).toHaveLength(5);
    const status = Object.fromEntries(
      merge.submissions.map((s) => [s.name, s.status === 'rejected' ? s.reason : s.status]),
    );
    expect(status).toEqual({
      'ada-code': 'merged',
      'ben.json': 'merged',
      'broken.json': expect.stringMatching(/not valid JSON/),
      'damaged-code': expect.stringMatching(/not a code/),
      'truncated-code': expect.stringMatching(/damaged|not valid JSON/),
      'other-pack.json': expect.stringMatching(`answers pack ${otherPack.id}, not this pack`),
      'ada-again.json': 'ada already handed in (ada-code)',
      'extra-key.json': expect.stringMatching(/unknown key "score"/),
      'bad-order.json': expect.stringMatching(/not a permutation/),
      'bad-likert.json': expect.stringMatching(/integers 1 to 7, got 8/),
      'empty.json': 'it holds no rankings',
      'huge.json': 'huge.json has 300000 bytes, over the limit',
      'cy.json': 'merged',
    });
  });

  it('leaves out an excluded student, whose file still counts as handed in', async () => {
    const merge = await mergeHandIns(smallPack, CLASS, ['ben']);
    expect(merge.labelers).toEqual(['Ada', 'Cy']);
    expect(merge.rankings.every((r) => r.labeler !== 'Ben')).toBe(true);
    expect(merge.submissions.map((s) => s.status)).toEqual(['merged', 'excluded', 'merged']);
    expect(merge.agreement.matrix).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });
});

describe('agreement', () => {
  it('pairPreferences: +1 above, −1 below, 0 tied, for pairs (0,1), (0,2), (1,2)', () => {
    const ranking = (order: number[], ties?: [number, number][]): Ranking => ({
      promptId: 'p',
      prompt: 'p',
      responses: ['a', 'b', 'c'],
      order,
      source: 'human',
      ...(ties && { ties }),
    });
    expect(pairPreferences(ranking([0, 1, 2]))).toEqual([1, 1, 1]);
    expect(pairPreferences(ranking([2, 0, 1]))).toEqual([1, -1, -1]);
    // positions 1 and 2 tied: outputs 0 and 1
    expect(pairPreferences(ranking([2, 0, 1], [[1, 2]]))).toEqual([0, -1, -1]);
  });

  it("matches the hand-worked class: matrix, pooled mean, each student against the others' majority", async () => {
    const { agreement } = await mergeHandIns(smallPack, CLASS);
    expect(agreement.labelers).toEqual(['Ada', 'Ben', 'Cy']);
    expect(agreement.matrix).toEqual([
      [1, 5 / 6, 1],
      [5 / 6, 1, 1],
      [1, 1, 1],
    ]);
    expect(agreement.pairwiseMean).toBeCloseTo(9 / 10, 12);
    expect(agreement.perLabeler.map((l) => [l.labeler, l.rankings, l.withMajority])).toEqual([
      ['Ada', 2, 5 / 6],
      ['Ben', 2, 5 / 6],
      ['Cy', 1, 1],
    ]);
  });

  it("with the simulated labeler: labelerCeiling of the training labeler on each student's rankings; null off TinyWorld", async () => {
    const merge = await mergeHandIns(smallPack, CLASS);
    const ada = merge.rankings.filter((r) => r.labeler === 'Ada');
    expect(merge.agreement.perLabeler[0].withSimulatedLabeler).toBe(
      labelerCeiling(ada, worldPrompts.slice(0, 2), trainingLabeler),
    );
    expect(merge.agreement.withSimulatedLabeler).toBe(
      labelerCeiling(merge.rankings, worldPrompts.slice(0, 2), trainingLabeler),
    );
    const ownPack = makePack('sft', 1, [{ promptId: 'my-prompt', prompt: 'Say hi.', responses: ['Hi.', 'Hello!'] }]);
    const own = classAgreement(
      ownPack,
      ['Ada'],
      (await readHandIn(ownPack, handIn(ownPack, 'Ada', [{ promptId: 'my-prompt', order: [1, 0] }]))).rankings,
    );
    expect(own).toMatchObject({
      pairwiseMean: null,
      simulatedPairwise: null,
      withSimulatedLabeler: null,
      perLabeler: [{ labeler: 'Ada', withMajority: null, withSimulatedLabeler: null }],
    });
  });

  it('a student who ranks at random stands out: near chance against the class, and leaving them out raises the mean', async () => {
    const prompts = worldPrompts.slice(0, 40);
    const outputs = prompts.map((p) => candidateResponses(p, createRng(`outputs-${p.id}`), 4).map((c) => c.text));
    const pack = makePack(
      'sft',
      1,
      prompts.map((p, i) => ({ promptId: p.id, prompt: p.text, responses: outputs[i] })),
    );
    const answersOf = (rankings: Ranking[]): PackAnswer[] =>
      rankings.map(({ promptId, order, ties }) => ({ promptId, order, ...(ties && { ties }) }));
    const students = ['Ada', 'Ben', 'Cy', 'Dee'].map((name) => ({
      name,
      text: handIn(
        pack,
        name,
        answersOf(simulatedRankings(prompts, outputs, trainingLabeler, createRng(`student-${name}`))),
      ),
    }));
    const rng = createRng('random-student');
    const randomAnswers = pack.items.map((item) => ({
      promptId: item.promptId,
      order: rng.shuffle(item.responses.map((_, r) => r)),
    }));
    const merge = await mergeHandIns(pack, [...students, { name: 'rand', text: handIn(pack, 'Rand', randomAnswers) }]);
    const byName = Object.fromEntries(merge.agreement.perLabeler.map((l) => [l.labeler, l]));
    console.log(
      'random student:',
      JSON.stringify(
        merge.agreement.perLabeler.map((l) => [
          l.labeler,
          l.withMajority?.toFixed(2),
          l.withSimulatedLabeler?.toFixed(2),
        ]),
      ),
      'mean',
      merge.agreement.pairwiseMean?.toFixed(3),
      'simulated',
      merge.agreement.simulatedPairwise?.toFixed(3),
    );
    expect(byName.Rand.withMajority!).toBeGreaterThan(0.35);
    expect(byName.Rand.withMajority!).toBeLessThan(0.65);
    for (const name of ['Ada', 'Ben', 'Cy', 'Dee']) {
      expect(byName[name].withMajority!).toBeGreaterThan(byName.Rand.withMajority! + 0.1);
      expect(byName[name].withSimulatedLabeler!).toBeGreaterThan(byName.Rand.withSimulatedLabeler! + 0.1);
    }
    const without = await mergeHandIns(
      pack,
      [...students, { name: 'rand', text: handIn(pack, 'Rand', randomAnswers) }],
      ['Rand'],
    );
    expect(without.agreement.pairwiseMean!).toBeGreaterThan(merge.agreement.pairwiseMean! + 0.03);
    // simulated students agree about as two members of the training labeler pool do
    expect(Math.abs(without.agreement.pairwiseMean! - without.agreement.simulatedPairwise!)).toBeLessThan(0.1);
  });
});

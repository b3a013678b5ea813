// `rlhf-lab pack create` on the shipped micro model (alone, and mixed with a second model) and
// `pack merge` of a small class's hand-ins (files and a text code, one broken, one too large, one
// handed in twice): the pack reads back with the sampled outputs, the merge's JSON line holds the
// students, rankings and agreement figures, and its merged rankings train a reward model with
// `rlhf-lab rm --rankings`.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRankings } from '../../../src/rlhf/datasets.ts';
import { encodeCode, handInToJson, makeHandIn, readPack, type RankingPack } from '../../../src/rlhf/ranking-packs.ts';
import { runCli, type CliRun } from './run-cli.ts';

// Mesa llvmpipe runs the sampler about 3x faster than SwiftShader on CI's CPU (see sft-rm-ppo-dpo.test.ts).
process.env.RLHF_LAB_WEBGPU ??= 'llvmpipe';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-pack-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);
const MICRO = ['--model', 'public/models/micro', '--batch', '4', '--seq', '32'];

function expectOk(run: CliRun): Record<string, unknown> {
  expect(run.code, run.stderr.slice(-8).join('\n')).toBe(0);
  return run.result as Record<string, unknown>;
}

describe('rlhf-lab pack', () => {
  let pack: RankingPack;

  it('create: K sampled outputs for each of N TinyWorld prompts, written as a pack file with its link', async () => {
    const run = await runCli([
      'pack',
      'create',
      ...MICRO,
      '--prompts',
      '3',
      '--K',
      '3',
      '--max-tokens',
      '6',
      '--out',
      at('pack.json'),
      '--json',
    ]);
    const result = expectOk(run);
    pack = await readPack(await readFile(at('pack.json'), 'utf8'));
    expect(result).toMatchObject({
      out: at('pack.json'),
      pack: pack.id,
      model: 'micro',
      world_seed: 1,
      prompts: 3,
      K: 3,
    });
    expect(pack.items.map((item) => item.promptId)).toEqual(['train-0000', 'train-0001', 'train-0002']);
    expect(pack.items.every((item) => item.responses.length === 3)).toBe(true);
    expect(await readPack(result.link_fragment as string)).toEqual(pack);
  }, 300_000);

  it('create with several models: output k of each prompt comes from model k mod m, each model sampled as alone', async () => {
    const micro = 'public/models/micro';
    const run = await runCli([
      'pack',
      'create',
      ...MICRO.slice(2),
      '--model',
      `${micro},${micro}`,
      '--prompts',
      '3',
      '--K',
      '3',
      '--max-tokens',
      '6',
      '--out',
      at('mixed.json'),
      '--json',
    ]);
    expect(expectOk(run)).toMatchObject({ model: 'micro + micro', K: 3 });
    const mixed = await readPack(await readFile(at('mixed.json'), 'utf8'));
    // the first model's two outputs (seeds s, s + 1000) are the single-model pack's first two
    expect(mixed.items.map((item) => [item.responses[0], item.responses[2]])).toEqual(
      pack.items.map((item) => [item.responses[0], item.responses[1]]),
    );
    expect(
      await runCli([
        'pack',
        'create',
        '--model',
        `${micro},${micro},${micro}`,
        '--K',
        '2',
        '--out',
        at('x.json'),
        '--json',
      ]),
    ).toMatchObject({ code: 1, result: { error: '--K 2 is fewer outputs than the 3 models of --model' } });
  }, 300_000);

  it('merge: validates and merges the hand-ins, prints the agreement, and writes rankings that rm trains on', async () => {
    const [p0, p1, p2] = pack.items.map((item) => item.promptId);
    await writeFile(
      at('ada.json'),
      handInToJson(
        makeHandIn(pack, 'Ada', [
          { promptId: p0, order: [0, 1, 2] },
          { promptId: p1, order: [2, 1, 0] },
          { promptId: p2, order: [1, 0, 2] },
        ]),
      ),
    );
    await writeFile(
      at('ben.json'),
      handInToJson(
        makeHandIn(pack, 'Ben', [
          { promptId: p0, order: [0, 2, 1] },
          { promptId: p1, order: [2, 1, 0] },
        ]),
      ),
    );
    await writeFile(
      at('cy.txt'),
      await encodeCode(handInToJson(makeHandIn(pack, 'Cy', [{ promptId: p0, order: [0, 1, 2] }]))),
    );
    await writeFile(at('ada-again.json'), handInToJson(makeHandIn(pack, 'ADA', [{ promptId: p0, order: [2, 1, 0] }])));
    await writeFile(at('broken.json'), '{"format": "rlhf-lab/pack-rankings"');
    await writeFile(at('huge.json'), 'x'.repeat(300_000));
    const files = ['ada.json', 'ben.json', 'cy.txt', 'ada-again.json', 'broken.json', 'huge.json'].map(at);
    const run = await runCli(['pack', 'merge', at('pack.json'), ...files, '--out', at('merged.jsonl'), '--json']);
    const result = expectOk(run) as {
      labelers: number;
      rankings: number;
      submissions: { status: string }[];
      agreement: Record<string, unknown>;
    };
    expect(result.labelers).toBe(3);
    expect(result.rankings).toBe(6);
    expect(result.submissions.map((s) => s.status)).toEqual([
      'merged',
      'merged',
      'merged',
      'rejected',
      'rejected',
      'rejected',
    ]);
    // by hand: Ada–Ben agree on 2 of 3 (p0) + 3 of 3 (p1), Ada–Cy 3 of 3, Ben–Cy 2 of 3: 10 of 12
    expect(result.agreement.pairwise_mean).toBeCloseTo(10 / 12, 12);
    expect(result.agreement.paper_pairwise).toBe(0.726);
    expect(Object.keys(result.agreement.per_labeler as object)).toEqual(['Ada', 'Ben', 'Cy']);
    expect(typeof result.agreement.with_simulated_labeler).toBe('number');
    expect(run.stderr.some((line) => line.includes('ada-again.json: rejected — ADA already handed in'))).toBe(true);
    expect(
      run.stderr.some(
        (line) =>
          line.includes('huge.json: rejected — ') &&
          line.includes('huge.json has 300000 bytes, over the 262144 bytes a rankings file may have'),
      ),
    ).toBe(true);

    const merged = parseRankings(await readFile(at('merged.jsonl'), 'utf8'));
    expect(merged.map((r) => r.labeler)).toEqual(['Ada', 'Ada', 'Ada', 'Ben', 'Ben', 'Cy']);
    const rm = await runCli([
      'rm',
      ...MICRO,
      '--rankings',
      at('merged.jsonl'),
      '--heldout-prompts',
      '0',
      '--epochs',
      '1',
      '--out',
      at('rm'),
      '--json',
    ]);
    expect(expectOk(rm)).toMatchObject({ rankings: 6, data: at('merged.jsonl') });
  }, 300_000);

  it('says what is wrong with its arguments', async () => {
    const error = async (args: string[]) => {
      const run = await runCli(['pack', ...args, '--json']);
      expect(run.code).toBe(1);
      return (run.result as { error: string }).error;
    };
    const noAction = await runCli(['pack', '--json']);
    expect(noAction.code).toBe(2); // a usage error, as an unknown option is
    expect(noAction.stderr.join('\n')).toMatch(/missing required argument 'action'/);
    expect(await error(['create', ...MICRO])).toMatch(/--out pack.json is required/);
    expect(await error(['create', ...MICRO, '--out', at('x.json'), '--K', '12'])).toBe(
      "--K must be an integer ≥ 2 and ≤ 9, got '12'",
    );
    expect(await error(['merge', at('pack.json')])).toMatch(/^usage: rlhf-lab pack merge/);
    expect(await error(['merge', at('none.json'), at('ada.json')])).toBe(
      `cannot read ${at('none.json')}: it does not exist`,
    );
    expect(await error(['merge', at('ada.json'), at('ben.json')])).toMatch(/ada.json: not a ranking pack/);
  });
});

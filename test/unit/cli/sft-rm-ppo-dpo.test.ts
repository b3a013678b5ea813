// The training commands chained on a micro model made here: `rlhf-lab sft` → `rm` → `ppo` (PPO-ptx)
// → `dpo`, each checked for a real effect (SFT and DPO losses fall, the RM's loss falls and its
// accuracies are shares, PPO's metrics are finite and stream to a file), for checkpoints that load
// back with their lineage, and for clear errors on bad input (those fail before any GPU work).
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointDir, writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { initParameters, makeConfig } from '../../../src/model/config.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import {
  comparisonsToJsonl,
  demonstrationRecord,
  demonstrationsToJsonl,
  parseRankings,
} from '../../../src/rlhf/datasets.ts';
import { buildDemonstrations, buildPromptSet, generateCorpus } from '../../../src/world/index.ts';
import { runCli, type CliRun } from './run-cli.ts';

// These end-to-end runs exercise the stages' plumbing, not the kernels (test/unit/engine checks those
// on SwiftShader); Mesa llvmpipe is a real WebGPU device too and runs them about 3x faster on CI's
// CPU. .ci/run installs it; RLHF_LAB_WEBGPU set by the caller still wins.
process.env.RLHF_LAB_WEBGPU ??= 'llvmpipe';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);
/** Micro-sized runs: 4 rows of 40 tokens, 8 new tokens per response. */
const SMALL = ['--batch', '4', '--seq', '40', '--json'];
/** Enough prompts that some outputs differ in quality: the labelers tie outputs they score alike. */
const SAMPLING = ['--K', '3', '--prompts', '8', '--heldout-prompts', '6', '--max-tokens', '8'];

beforeAll(async () => {
  const prompts = buildPromptSet(1);
  const texts = [
    ...generateCorpus(1, 200),
    ...buildDemonstrations(1, prompts.train).map((d) => `${d.prompt} ${d.response}`),
  ];
  const tokenizer = trainBpe(texts, 600);
  const config = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 48 };
  await writeCheckpointDir(at('base'), {
    config,
    params: initParameters(config, 1),
    tokenizer,
    meta: { kind: 'base', seed: '1' },
  });
});

function expectOk(run: CliRun): Record<string, unknown> {
  expect(run.code, run.stderr.slice(-8).join('\n')).toBe(0);
  return run.result as Record<string, unknown>;
}

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const share = (x: unknown) => finite(x) && (x as number) >= 0 && (x as number) <= 1;

describe('rlhf-lab sft → rm → ppo → dpo', () => {
  it('sft on a TRL prompt–completion file (chat-framed and plain records): the loss falls, the checkpoint loads back with its lineage', async () => {
    const demos = buildDemonstrations(1, buildPromptSet(1).train.slice(0, 8));
    const records = demos.map((d, i) =>
      i < 6 ? demonstrationRecord(d) : { prompt: d.prompt, completion: d.response },
    );
    await writeFile(at('demos.jsonl'), demonstrationsToJsonl(records));
    const run = await runCli([
      'sft',
      '--model',
      at('base'),
      '--data',
      at('demos.jsonl'),
      '--out',
      at('sft'),
      '--epochs',
      '4',
      '--lr',
      '3e-3',
      ...SMALL,
    ]);
    const result = expectOk(run);
    expect(result).toMatchObject({ data: at('demos.jsonl'), demonstrations: 8, steps: 8 });
    expect(result.loss as number).toBeLessThan((result.first_loss as number) - 0.3);
    expect(run.stderr.some((line) => line.startsWith('SFT epoch 1 step 1/8 loss'))).toBe(true);
    const sft = await readCheckpointDir(at('sft'));
    expect(sft.meta).toMatchObject({
      kind: 'sft',
      parent: resolve(at('base')),
      parent_kind: 'base',
      seed: '1',
      training_seed: '1',
      data: at('demos.jsonl'),
    });
    expect(sft.scalarHead).toBeUndefined();
  }, 600_000);

  it('rm: ranks sampled outputs, the loss falls, accuracies are shares, a reward-model checkpoint', async () => {
    const args = [
      'rm',
      '--model',
      at('sft'),
      '--out',
      at('rm'),
      ...SAMPLING,
      '--epochs',
      '2',
      '--lr',
      '1e-3',
      '--save-rankings',
      at('rankings.jsonl'),
      ...SMALL,
    ];
    const run = await runCli(args);
    const result = expectOk(run);
    expect(result).toMatchObject({ rankings: 8, heldout_rankings: 6 });
    expect(
      share(result.train_accuracy) && share(result.heldout_accuracy) && share(result.heldout_labeler_ceiling),
    ).toBe(true);
    expect(result.train_loss as number).toBeLessThan(result.initial_loss as number);
    expect(finite(result.reward_shift)).toBe(true);
    const rankings = parseRankings(await readFile(at('rankings.jsonl'), 'utf8'));
    expect(rankings).toHaveLength(8);
    expect(rankings.every((r) => r.responses.length === 3 && r.source === 'simulated')).toBe(true);
    const rm = await readCheckpointDir(at('rm'));
    expect(rm.scalarHead).toBeDefined();
    expect(rm.meta).toMatchObject({
      kind: 'reward_model',
      parent: resolve(at('sft')),
      parent_kind: 'sft',
      train_accuracy: String(result.train_accuracy),
    });
    expect(run.stderr.some((line) => line.startsWith('RM epoch'))).toBe(true);
  }, 600_000);

  it('ppo (with ptx): finite TRL metrics per iteration, streamed to --metrics, and a policy checkpoint', async () => {
    const args = [
      'ppo',
      '--policy',
      at('sft'),
      '--reward-model',
      at('rm'),
      '--out',
      at('ppo'),
      '--iterations',
      '2',
      '--epochs',
      '2',
      '--max-tokens',
      '8',
      '--lr',
      '1e-4',
      '--kl-coef',
      '0.03',
      '--ptx',
      '1',
      '--metrics',
      at('metrics.jsonl'),
      ...SMALL,
    ];
    const run = await runCli(args);
    const result = expectOk(run) as {
      metrics: Record<string, number>[];
      samples: { response: string; reward: number }[];
      algorithm: string;
    };
    expect(result.algorithm).toBe('ppo-ptx');
    expect(result.metrics).toHaveLength(2);
    for (const metrics of result.metrics) {
      for (const key of [
        'objective/scores',
        'objective/kl',
        'objective/kl_k3',
        'objective/entropy',
        'objective/non_score_reward',
        'objective/rlhf_reward',
        'policy/approxkl_avg',
        'policy/clipfrac_avg',
        'loss/policy_avg',
        'loss/value_avg',
        'val/clipfrac_avg',
        'loss/ptx_avg',
        'response_length_mean',
        'ended_share',
        'objective/kl_coef',
      ]) {
        expect(finite(metrics[key]), key).toBe(true);
      }
    }
    expect(result.samples.length).toBeGreaterThan(0);
    expect(result.samples.every((s) => typeof s.response === 'string' && finite(s.reward))).toBe(true);
    const lines = (await readFile(at('metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.iteration)).toEqual([1, 2]);
    expect(lines[1]['objective/kl']).toBe(result.metrics[1]['objective/kl']);
    expect(run.stderr.filter((line) => line.startsWith('ppo-ptx iteration'))).toHaveLength(2);
    const [policy, sft] = await Promise.all([readCheckpointDir(at('ppo')), readCheckpointDir(at('sft'))]);
    expect(policy.meta).toMatchObject({
      kind: 'policy',
      algorithm: 'ppo-ptx',
      parent: resolve(at('sft')),
      reward_model: resolve(at('rm')),
      ptx: '1',
      kl_coef: '0.03',
    });
    expect(policy.meta).not.toHaveProperty('beta');
    expect(result.metrics.every((m) => m['objective/kl_coef'] === 0.03)).toBe(true);
    expect(policy.params.some((p, i) => p !== sft.params[i])).toBe(true);
  }, 600_000);

  it('dpo on the saved rankings (4 pairs a step): the loss falls from ln 2, accuracy is a share, a dpo checkpoint', async () => {
    const args = [
      'dpo',
      '--model',
      at('sft'),
      '--out',
      at('dpo'),
      '--rankings',
      at('rankings.jsonl'),
      '--heldout-prompts',
      '0',
      '--epochs',
      '2',
      '--lr',
      '1e-3',
      '--batch',
      '8',
      '--seq',
      '40',
      '--json',
    ];
    const result = expectOk(await runCli(args)) as {
      pairs: number;
      first_loss: number;
      loss: number;
      train: { loss: number; accuracy: number };
      heldout: unknown;
    };
    expect(result.pairs).toBeGreaterThan(0);
    expect(result.first_loss).toBeCloseTo(Math.LN2, 3);
    expect(result.train.loss).toBeLessThan(Math.LN2);
    expect(share(result.train.accuracy)).toBe(true);
    expect(result.heldout).toBeNull();
    const dpo = await readCheckpointDir(at('dpo'));
    expect(dpo.meta).toMatchObject({
      kind: 'dpo',
      algorithm: 'dpo',
      parent: resolve(at('sft')),
      data: at('rankings.jsonl'),
    });
  }, 600_000);
});

describe('bad input', () => {
  const error = async (args: string[]) => {
    const run = await runCli([...args, '--json']);
    expect(run.code).toBe(1);
    return (run.result as { error: string }).error;
  };

  it('names what is missing or wrong', async () => {
    expect(await error(['sft', '--model', at('base')])).toBe('--out DIR is required (the checkpoint folder to write)');
    expect(await error(['rm', '--out', at('x')])).toMatch(/^--model SFT_DIR is required/);
    expect(await error(['ppo', '--policy', at('sft'), '--out', at('x')])).toMatch(/^--reward-model RM_DIR is required/);
    expect(await error(['rm', '--model', at('base'), '--out', at('x'), '--K', '12'])).toBe(
      "--K must be an integer ≥ 2 and ≤ 9, got '12'",
    );
    expect(await error(['dpo', '--model', at('base'), '--out', at('x'), '--beta', '0'])).toBe(
      '--beta must be > 0 (at 0 the DPO loss is constant)',
    );
    expect(await error(['sft', '--model', at('nope'), '--out', at('x')])).toBe(
      `checkpoint folder ${at('nope')} does not exist`,
    );
    expect(await error(['sft', '--model', at('base'), '--data', at('none.jsonl'), '--out', at('x')])).toBe(
      `cannot read ${at('none.jsonl')}: it does not exist`,
    );
  });

  it('refuses the wrong kind of checkpoint', async () => {
    expect(await error(['ppo', '--policy', at('rm'), '--reward-model', at('rm'), '--out', at('x')])).toMatch(
      /^--policy .* is a reward model/,
    );
    expect(await error(['ppo', '--policy', at('sft'), '--reward-model', at('sft'), '--out', at('x')])).toMatch(
      /has no scalar head \(score\.weight\): it is not a reward model$/,
    );
  });

  it('reports the file, line and reason of a malformed dataset', async () => {
    await writeFile(at('bad-demos.jsonl'), '{"prompt":"p","completion":"c"}\n{"prompt":"p","response":"r"}\n');
    expect(await error(['sft', '--model', at('base'), '--data', at('bad-demos.jsonl'), '--out', at('x')])).toBe(
      `${at('bad-demos.jsonl')}: line 2: missing "completion" (keys present: prompt, response)`,
    );
    await writeFile(at('bad-rankings.jsonl'), '{"prompt":"p","responses":["a","b","c"],"order":[0,1,1]}\n');
    expect(
      await error(['rm', '--model', at('base'), '--out', at('x'), '--rankings', at('bad-rankings.jsonl')]),
    ).toMatch(/bad-rankings\.jsonl: line 1: .*order \[0, 1, 1\] is not a permutation/);
    await writeFile(
      at('comparisons.jsonl'),
      comparisonsToJsonl(parseRankings('{"prompt":"p","responses":["a","b"],"order":[1,0]}')),
    );
    expect(
      await error([
        'dpo',
        '--model',
        at('base'),
        '--out',
        at('x'),
        '--rankings',
        at('bad-rankings.jsonl'),
        '--comparisons',
        at('comparisons.jsonl'),
      ]),
    ).toBe('give --rankings or --comparisons, not both');
    await writeFile(at('empty.jsonl'), '\n\n');
    expect(await error(['dpo', '--model', at('base'), '--out', at('x'), '--comparisons', at('empty.jsonl')])).toBe(
      `${at('empty.jsonl')} holds no records`,
    );
  });
});

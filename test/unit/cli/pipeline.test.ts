// The whole recipe on a micro model in CI: `rlhf-lab pipeline --preset micro` runs base → SFT →
// rankings → reward model → PPO, PPO-ptx, DPO → held-out evaluation and prints the paper's table
// as JSON. The base is untrained (this checks the plumbing and the report, not the figures; the
// small-preset run and its status are in docs/results.md).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckpointDir, writeCheckpointDir } from '../../../src/cli/fs-checkpoint.ts';
import { initParameters, makeConfig } from '../../../src/model/config.ts';
import { parseRankings } from '../../../src/rlhf/datasets.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { buildDemonstrations, buildPromptSet, generateCorpus } from '../../../src/world/index.ts';

// These end-to-end runs exercise the stages' plumbing, not the kernels (test/unit/engine checks those
// on SwiftShader); Mesa llvmpipe is a real WebGPU device too and runs them about 3x faster on CI's
// CPU. .ci/run installs it; RLHF_LAB_WEBGPU set by the caller still wins.
process.env.RLHF_LAB_WEBGPU ??= 'llvmpipe';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rlhf-lab pipeline --preset micro', () => {
  it('runs every stage and reports every model', async () => {
    const prompts = buildPromptSet(1);
    const texts = [
      ...generateCorpus(1, 200),
      ...buildDemonstrations(1, prompts.train).map((d) => `${d.prompt} ${d.response}`),
    ];
    const tokenizer = trainBpe(texts, 600);
    const config = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 48 };
    await writeCheckpointDir(dir, {
      config,
      params: initParameters(config, 1),
      tokenizer,
      meta: { kind: 'base', seed: '1' },
    });

    const out = join(dir, 'run');
    const run = await runCli(['pipeline', '--preset', 'micro', '--model', dir, '--seed', '3', '--out', out, '--json']);
    expect(run.code, run.stderr.slice(-5).join('\n')).toBe(0);
    const report = run.result as {
      reward_model: {
        heldout_accuracy: number;
        heldout_ceiling: number;
        labeler_agreement: { training: number; heldout: number };
      };
      models: Record<string, Record<string, number>>;
      ppo: unknown[];
    };
    expect(report.reward_model.heldout_accuracy).toBeGreaterThanOrEqual(0);
    expect(report.reward_model.heldout_accuracy).toBeLessThanOrEqual(1);
    expect(report.reward_model.heldout_ceiling).toBeGreaterThanOrEqual(0);
    expect(report.reward_model.heldout_ceiling).toBeLessThanOrEqual(1);
    for (const agreement of Object.values(report.reward_model.labeler_agreement)) {
      expect(agreement).toBeGreaterThanOrEqual(0);
      expect(agreement).toBeLessThanOrEqual(1);
    }
    expect(Object.keys(report.models).sort()).toEqual(['base', 'dpo', 'ppo', 'ppo_ptx', 'sft']);
    for (const [name, model] of Object.entries(report.models)) {
      for (const key of [
        'win_rate_vs_sft',
        'win_rate_vs_base',
        'likert',
        'follows_instruction',
        'truthful',
        'hallucination',
        'toxicity',
        'pretrain_loss',
      ]) {
        expect(model, `${name}.${key}`).toHaveProperty(key);
      }
      expect(Number.isFinite(model.pretrain_loss), `${name} pretrain loss`).toBe(true);
      expect(model.likert).toBeGreaterThanOrEqual(1);
    }
    expect(report.models.sft.win_rate_vs_sft).toBe(0.5); // a model ties with itself
    expect(report.ppo).toHaveLength(1);
    expect(run.stderr.some((line) => line.startsWith('[reward_model]'))).toBe(true);

    // --out: every trained model is a checkpoint with its lineage, and the report is saved too.
    const rm = await readCheckpointDir(join(out, 'reward_model'));
    expect(rm.scalarHead).toBeDefined();
    expect(rm.meta).toMatchObject({
      kind: 'reward_model',
      parent_kind: 'sft',
      training_seed: '3',
      pipeline_preset: 'micro',
    });
    for (const name of ['sft', 'ppo', 'ppo_ptx', 'dpo']) {
      const saved = await readCheckpointDir(join(out, name));
      expect(saved.params.length, name).toBe(rm.params.length);
      expect(saved.scalarHead, name).toBeUndefined();
    }
    expect(parseRankings(readFileSync(join(out, 'rankings.jsonl'), 'utf8'))).toHaveLength(4);
    expect(
      parseRankings(readFileSync(join(out, 'heldout-rankings.jsonl'), 'utf8')).every((r) => r.responses.length === 4),
    ).toBe(true);
    expect(existsSync(join(out, 'report.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).models.dpo).toEqual(report.models.dpo);

    // The same --out again resumes after the last finished stage: every stage is reused, and the
    // evaluation of the saved models repeats exactly.
    const again = await runCli([
      'pipeline',
      '--preset',
      'micro',
      '--model',
      dir,
      '--seed',
      '3',
      '--out',
      out,
      '--json',
    ]);
    expect(again.code, again.stderr.slice(-5).join('\n')).toBe(0);
    expect(
      again.stderr.some((line) =>
        line.startsWith(`resuming ${out}: reusing sft, rankings, reward_model, ppo, ppo_ptx, dpo`),
      ),
    ).toBe(true);
    expect(
      again.stderr.some((line) => line.startsWith('[sft] SFT step') || line.startsWith('[ppo] ppo iteration')),
    ).toBe(false);
    expect((again.result as typeof report).models).toEqual(report.models);
    expect((again.result as typeof report).ppo).toEqual(report.ppo);

    // A run stopped after the reward model (stages.json records nothing later) runs PPO, PPO-ptx and DPO only.
    const stagesFile = join(out, 'stages.json');
    const stages = JSON.parse(readFileSync(stagesFile, 'utf8'));
    for (const later of ['ppo', 'ppo_ptx', 'dpo']) delete stages.stages[later];
    writeFileSync(stagesFile, JSON.stringify(stages));
    const resumed = await runCli([
      'pipeline',
      '--preset',
      'micro',
      '--model',
      dir,
      '--seed',
      '3',
      '--out',
      out,
      '--json',
    ]);
    expect(resumed.code, resumed.stderr.slice(-5).join('\n')).toBe(0);
    expect(
      resumed.stderr.some((line) => line.startsWith(`resuming ${out}: reusing sft, rankings, reward_model (`)),
    ).toBe(true);
    expect(resumed.stderr.some((line) => line.startsWith('[sft] SFT step'))).toBe(false);
    expect(resumed.stderr.some((line) => line.startsWith('[ppo] ppo iteration'))).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(stagesFile, 'utf8')).stages)).toEqual([
      'sft',
      'rankings',
      'reward_model',
      'ppo',
      'ppo_ptx',
      'dpo',
    ]);

    // Another seed into the same folder is refused before any work, and nothing is overwritten.
    const other = await runCli([
      'pipeline',
      '--preset',
      'micro',
      '--model',
      dir,
      '--seed',
      '4',
      '--out',
      out,
      '--json',
    ]);
    expect(other.code).not.toBe(0);
    expect(other.stderr.join('\n')).toMatch(/holds a different pipeline run \(training_seed 3 ≠ 4\)/);
  }, 900_000);
});

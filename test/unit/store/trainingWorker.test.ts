// The worker's training jobs behind the training store, on the GPU (Dawn) with a random micro model
// and the shipped tokenizer: SFT, the reward model (train and held-out accuracy, scoring, mistakes),
// PPO with the ptx mix and β = 0 (samples beside SFT's, a saved policy, resuming), DPO, the held-out
// labeler's table and blind pairs, and a reward model's files round-tripping through the registry.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initParameters, PRESETS, type GptConfig } from '../../../src/model/config.ts';
import { Tokenizer } from '../../../src/model/tokenizer.ts';
import { buildDemonstrations, buildPromptSet, type Ranking } from '../../../src/world/index.ts';
import { CheckpointRegistry } from '../../../workers/checkpoints.ts';
import {
  rewardModelMistakes,
  runDpo,
  runRewardModel,
  runSft,
  scoreWithRewardModel,
} from '../../../workers/training.ts';
import { PpoSession, type PpoIterationReport } from '../../../workers/ppo-session.ts';
import { blindPairs, evaluateCheckpoints } from '../../../workers/evaluation.ts';
import { testGpu } from '../engine/gpu-device.ts';

const tokenizer = Tokenizer.fromJSON(readFileSync('public/models/base/tokenizer.json', 'utf8'));
const config: GptConfig = { ...PRESETS.micro, nCtx: 48, vocabSize: tokenizer.vocabSize };
const prompts = buildPromptSet(1)
  .train.filter((p) => p.text.length < 40)
  .slice(0, 6);
const demonstrations = buildDemonstrations(1, prompts).map((d) => ({ prompt: d.prompt, response: d.response }));
const rankings: Ranking[] = prompts.slice(0, 4).map((p) => ({
  promptId: p.id,
  prompt: p.text,
  responses: ['It is green and small.', 'I do not know.', 'You are a rude frog.'],
  order: [0, 1, 2],
  source: 'simulated',
}));

// The steps share one registry and run in order, as a lesson does.
describe('the worker training jobs on a micro model', { timeout: 600_000 }, () => {
  const registry = new CheckpointRegistry();
  registry.put('base', { config, tokenizer, params: initParameters(config, 1), meta: { kind: 'base' } });

  it('SFT registers "sft" trained from the base', async () => {
    const { device } = await testGpu();
    const sftLosses: number[] = [];
    const heldoutLosses: number[] = [];
    const sft = await runSft(
      device,
      registry,
      demonstrations,
      { epochs: 1, lr: 1e-3, seed: 1 },
      {
        onProgress: (p) => {
          sftLosses.push(p.loss);
          if (p.heldout_loss !== undefined) heldoutLosses.push(p.heldout_loss);
        },
      },
    );
    expect(sft.summary).toMatchObject({ name: 'sft', kind: 'sft', parent: 'base', step: sft.result.steps });
    expect(sftLosses.every(Number.isFinite)).toBe(true);
    // the loss on TinyWorld's held-out demonstrations, at the last step at least
    expect(heldoutLosses.length).toBeGreaterThan(0);
    expect(heldoutLosses.every((loss) => Number.isFinite(loss) && loss > 0)).toBe(true);
  });

  it('the reward model reports train and held-out accuracy, scores text and lists its mistakes', async () => {
    const { device } = await testGpu();
    const rm = await runRewardModel(
      device,
      registry,
      { train: rankings.slice(0, 3), heldout: rankings.slice(3) },
      demonstrations,
      { epochs: 1, lr: 1e-3, seed: 1 },
      {},
    );
    expect(rm.summary).toMatchObject({ name: 'reward_model', kind: 'reward_model', parent: 'sft', scalar: true });
    expect(rm.train.accuracy).toBeGreaterThanOrEqual(0);
    expect(rm.heldout?.pairs).toBe(3);
    const [score] = await scoreWithRewardModel(device, registry, [
      { prompt: 'What colour is a frog?', response: 'A frog is green.' },
    ]);
    expect(Number.isFinite(score)).toBe(true);
    const mistakes = await rewardModelMistakes(
      device,
      registry,
      { train: rankings.slice(0, 3), heldout: rankings.slice(3) },
      50,
    );
    for (const m of mistakes) expect(m.chosenReward).toBeLessThanOrEqual(m.rejectedReward);
  });

  it('PPO-ptx with β = 0 reports samples beside SFT, saves the policy and resumes from it', async () => {
    const { device } = await testGpu();
    const settings = {
      prompts: prompts.map((p) => p.text),
      klCoef: 0,
      lr: 1e-4,
      clipRange: 0.2,
      ppoEpochs: 1,
      batchSize: 2,
      temperature: 1,
      ptxCoef: 1,
      maxNewTokens: 4,
      seed: 1,
      worldSeed: 1,
      saveEvery: 2,
    };
    const session = PpoSession.create(device, registry, settings);
    const reports: PpoIterationReport[] = [];
    const result = await session.run(2, (report) => void reports.push(report));
    session.destroy();
    expect(result).toMatchObject({ iterations: 2, paused: false });
    expect(reports.map((r) => r.iteration)).toEqual([0, 1]);
    expect(reports[0].saved).toBeUndefined();
    expect(reports[1].saved).toMatchObject({ name: 'policy', kind: 'policy', parent: 'sft', step: 2 });
    expect(reports[1].metrics['objective/kl_coef']).toBe(0);
    expect(registry.get('policy').meta).toMatchObject({ kl_coef: '0', ptx_coef: '1' });
    expect(Number.isFinite(reports[1].metrics['loss/ptx_avg'])).toBe(true);
    expect(reports[1].samples.length).toBeGreaterThan(0);
    for (const s of reports[1].samples) {
      expect(typeof s.sftResponse).toBe('string');
      expect(settings.prompts).toContain(s.prompt);
    }

    const resumed = PpoSession.create(device, registry, { ...settings, ptxCoef: 0, resumeAt: 2 });
    expect(resumed.nextIteration).toBe(2);
    const [next] = await (async () => {
      const more: PpoIterationReport[] = [];
      await resumed.run(1, (report) => void more.push(report));
      return more;
    })();
    resumed.destroy();
    expect(next.iteration).toBe(2);
  });

  it('DPO, the held-out labeler table and blind pairs', async () => {
    const { device } = await testGpu();
    const dpo = await runDpo(device, registry, rankings, { epochs: 1, lr: 1e-4, beta: 0.1, seed: 1 }, {});
    expect(dpo.summary).toMatchObject({ name: 'dpo', kind: 'dpo', parent: 'sft' });

    const evaluation = { worldSeed: 1, prompts: 2, maxNewTokens: 4, temperature: 0.7, seed: 1 };
    const rows = await evaluateCheckpoints(
      device,
      registry,
      ['base', 'sft', 'reward_model', 'policy', 'dpo'],
      evaluation,
    );
    expect(rows.map((r) => r.name)).toEqual(['base', 'sft', 'policy', 'dpo']);
    for (const row of rows) {
      expect(row.prompts).toBe(2);
      expect(Number.isFinite(row.pretrain_loss)).toBe(true);
      expect(row.win_rate_vs_sft).toBeGreaterThanOrEqual(0);
    }
    expect(rows[1].win_rate_vs_sft).toBe(0.5); // SFT against itself: every prompt a tie
    const pairs = await blindPairs(device, registry, 'policy', 'sft', 2, evaluation);
    expect(pairs).toHaveLength(2);
  });

  it("reads an older policy's metadata beta as kl_coef (migrateCheckpointMeta), with the same value", () => {
    const base = registry.get('base');
    registry.put('old-policy', { ...base, meta: { kind: 'policy', parent: 'sft', beta: '0.02', steps: '3' } });
    expect(registry.get('old-policy').meta).toEqual({ kind: 'policy', parent: 'sft', kl_coef: '0.02', steps: '3' });
    registry.remove('old-policy');
  });

  it('a reward model round-trips through its files; it cannot be sampled', async () => {
    const { device } = await testGpu();
    const reloaded = registry.load('copy', registry.files('reward_model'));
    expect(reloaded).toMatchObject({ kind: 'reward_model', parent: 'sft', scalar: true });
    expect(() => registry.sampler(device, 'reward_model')).toThrow(/reward model: it scores text/);
  });
});

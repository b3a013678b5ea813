// PPO end to end on micro models: the iteration's data alignment on a hand-checked case (CPU), then
// the whole loop on the GPU with a random policy and a hand-set reward model that prefers one token:
// KL is 0 while the policy equals the reference, every metric is finite, β follows the adaptive
// controller, PPO-ptx runs, β = 0 works, a NaN reward stops with a clear error, and the mean
// reward-model score rises.
//
// The toy reward model (1 layer, no position embeddings): every token embedding has mean 0 and mean
// square 1, so LayerNorm leaves it as it is, and its channel 0 holds the token's preference (TARGET 2,
// the others between 0 and −1, EOS −1). Attention with q = k = 0 averages the prefix uniformly, v and
// the projection are the identity, the MLP is zero, and score.weight reads channel 0 after ln_f: the
// score at the last token rises with the mean preference of the sequence (the last token counted
// twice), most of all with the share of TARGET tokens. The reward is dense (every response scores
// differently), so 4 episodes per iteration carry signal.
import { describe, expect, it } from 'vitest';
import { findTensor, initParameters, type GptConfig } from '../../../src/model/config.ts';
import { modelLayout } from '../../../src/model/layout.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import { Rng } from '../../../src/model/random.ts';
import { sequenceBatch } from '../../../src/rlhf/batches.ts';
import {
  assembleMinibatch,
  createPpoModels,
  episodeTargets,
  PpoTrainer,
  readEpisodeForwards,
  type Episode,
  type PpoIterationResult,
  type PpoModels,
  type PpoOptions,
  type PpoPhase,
} from '../../../src/rlhf/ppo.ts';
import { testGpu } from '../engine/gpu-device.ts';

describe('PPO iteration data alignment (hand-checked)', () => {
  // V = 10, EOS = 9, B = 3 (one padding row), T = 6.
  //   e0: prompt [1,2], response [3,4,EOS] (ended):  row ids 1 2 3 4 9 | response targets at positions 1,2,3
  //   e1: prompt [5],   response [6,7] (cut off):    row ids 5 6 7      | response targets at positions 0,1
  // Flat outputs are chosen so every position is recognisable: logprob −0.1p, ref −0.11p (k1 = 0.01p),
  // value p, entropy 100 + p, reward-model output 1000 + p.
  const EOS = 9;
  const T = 6;
  const episodes: Episode[] = [
    { promptIndex: 0, prompt: [1, 2], response: [3, 4, EOS], ended: true },
    { promptIndex: 1, prompt: [5], response: [6, 7], ended: false },
  ];
  const flat = (f: (p: number) => number) => Float32Array.from({ length: 3 * T }, (_, p) => f(p));
  const outputs = {
    logprobs: flat((p) => -0.1 * p),
    refLogprobs: flat((p) => -0.11 * p),
    values: flat((p) => p),
    entropy: flat((p) => 100 + p),
    rewardValues: flat((p) => 1000 + p),
  };
  const batch = sequenceBatch(episodes, 3, T, EOS);
  const forwards = readEpisodeForwards(episodes, batch, T, outputs);
  const beta = 0.5;
  const penalty = 2;
  const targets = episodeTargets(episodes, forwards, { klCoef: beta, gamma: 1, lambda: 1, missingEosPenalty: penalty });

  it('reads log-probs, values and entropy at the positions predicting each response token, the score at the last token', () => {
    expect(forwards[0].logprobs.map((x) => +x.toFixed(6))).toEqual([-0.1, -0.2, -0.3]); // positions 1, 2, 3
    expect(forwards[0].values).toEqual([1, 2, 3]);
    expect(forwards[0].entropy).toEqual([101, 102, 103]);
    expect(forwards[0].score).toBe(1004); // position 4: the EOS token itself
    expect(forwards[1].values).toEqual([6, 7]); // row 1: positions T + 0, T + 1
    expect(forwards[1].score).toBe(1008); // position T + 2: token 7, the last one
    // Position P − 1 + i is where the batch's target is response[i].
    episodes.forEach((e, row) =>
      e.response.forEach((token, i) => expect(batch.targets[row * T + e.prompt.length - 1 + i]).toBe(token)),
    );
  });

  it('puts −β·k1 on every response token and the score (minus the missing-EOS penalty) on the last', () => {
    const k1 = (p: number) => 0.11 * p - 0.1 * p;
    const close = (actual: number[], expected: number[]) =>
      actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i], 4));
    close(targets[0].rewards, [-beta * k1(1), -beta * k1(2), -beta * k1(3) + 1004]);
    close(targets[1].rewards, [-beta * k1(6), -beta * k1(7) + 1008 - penalty]);
    expect(targets[0].score).toBe(1004);
    expect(targets[1].score).toBe(1008 - penalty);
    expect(targets[0].kl).toBeCloseTo(k1(1) + k1(2) + k1(3), 5);
    expect(targets[1].nonScoreReward).toBeCloseTo(-beta * (k1(6) + k1(7)), 5);
    // γ = λ = 1: returns are the reward-to-go; raw advantages = returns − values, then whitened.
    close(targets[0].returns, [
      1004 - beta * (k1(1) + k1(2) + k1(3)),
      1004 - beta * (k1(2) + k1(3)),
      1004 - beta * k1(3),
    ]);
    close(targets[1].returns, [1006 - beta * (k1(6) + k1(7)), 1006 - beta * k1(7)]);
    const raw = [
      ...targets[0].returns.map((R, t) => R - forwards[0].values[t]),
      ...targets[1].returns.map((R, t) => R - forwards[1].values[t]),
    ];
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const std = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / (raw.length - 1));
    close(
      [...targets[0].advantages, ...targets[1].advantages],
      raw.map((a) => (a - mean) / std),
    );
  });

  it('lays a shuffled minibatch out with every array on the response positions and 0 elsewhere', () => {
    const minibatch = assembleMinibatch(episodes, forwards, targets, [1, 0], 3, T, EOS);
    const { weights } = minibatch.batch;
    // row 0 now holds e1 (positions 0, 1), row 1 holds e0 (positions T+1 .. T+3), row 2 is padding.
    const onMask = [0, 1, T + 1, T + 2, T + 3];
    expect(Array.from(weights.keys()).filter((p) => weights[p] === 1)).toEqual(onMask);
    for (const array of [
      minibatch.oldLogprobs,
      minibatch.oldValues,
      minibatch.advantages,
      minibatch.returns,
      minibatch.rewards,
    ]) {
      for (let p = 0; p < 3 * T; p++) if (weights[p] === 0) expect(array[p], `position ${p}`).toBe(0);
    }
    expect(Array.from(onMask, (p) => minibatch.oldValues[p])).toEqual([6, 7, 1, 2, 3]);
    expect(minibatch.rewards[T + 3]).toBeCloseTo(targets[0].rewards[2], 3); // the score sits where the target is EOS
    expect(minibatch.batch.targets[T + 3]).toBe(EOS);
    expect(minibatch.rewards[1]).toBeCloseTo(1006 - beta * 0.07, 3); // e1's last token: score − penalty
    onMask.forEach((p, k) =>
      expect(minibatch.advantages[p]).toBeCloseTo([...targets[1].advantages, ...targets[0].advantages][k], 6),
    );
  });
});

// ---- the loop on the GPU -------------------------------------------------------------------

const V = 12;
const EOS_ID = 11;
const TARGET = 5;
const config: GptConfig = { nLayer: 1, nEmbd: 16, nHead: 2, nCtx: 8, vocabSize: V };
const B = 4;
const T = 8;

/** The toy reward model described at the top: each token's embedding is its own LayerNorm output, channel 0 = preference(v). */
function toyRewardModel(): Float32Array {
  const C = config.nEmbd;
  const layout = modelLayout(config, 'scalar');
  const params = new Float32Array(layout.totalFloats);
  const at = (name: string) => findTensor(layout, name).offset;
  const rng = new Rng(7);
  for (let v = 0; v < V; v++) params.set(normalisedRow(preference(v), C, rng), at('transformer.wte.weight') + v * C);
  for (const name of ['transformer.h.0.ln_1.weight', 'transformer.h.0.ln_2.weight', 'transformer.ln_f.weight'])
    params.fill(1, at(name), at(name) + C);
  for (let c = 0; c < C; c++) {
    params[at('transformer.h.0.attn.c_attn.weight') + c * 3 * C + 2 * C + c] = 1; // v = identity; q = k = 0
    params[at('transformer.h.0.attn.c_proj.weight') + c * C + c] = 1;
  }
  params[at('score.weight')] = 1;
  return params;
}

/** The toy reward's taste: TARGET 2, every other token between 0 and −1, EOS least (ending early does not pay). */
function preference(v: number): number {
  return v === TARGET ? 2 : -v / (V - 1);
}

/**
 * A C-vector with mean 0, mean square 1 (so LayerNorm with weight 1, bias 0 leaves it unchanged)
 * and channel 0 equal to c: channels 1..C−1 are −c/(C−1) plus a random zero-mean vector r with
 * |r|² = C − c² − c²/(C−1).
 */
function normalisedRow(c: number, C: number, rng: Rng): Float32Array {
  const r = Array.from({ length: C - 1 }, () => rng.normal());
  const rMean = r.reduce((a, b) => a + b, 0) / r.length;
  const centred = r.map((x) => x - rMean);
  const scale = Math.sqrt((C - c * c - (c * c) / (C - 1)) / centred.reduce((a, x) => a + x * x, 0));
  return Float32Array.from([c, ...centred.map((x) => x * scale - c / (C - 1))]);
}

/** Chat-framed prompts stand-ins of 2 or 3 tokens. */
function promptsFor(count: number): number[][] {
  return Array.from({ length: count }, (_, i) => [1 + (i % 4), 6 + (i % 3), ...(i % 2 === 0 ? [2] : [])]);
}

const prompts = promptsFor(B);

async function setup(): Promise<PpoModels> {
  const { device } = await testGpu();
  return createPpoModels(device, config, { sft: initParameters(config, 3), rewardModel: toyRewardModel() }, B, T);
}

function destroy(trainer: PpoTrainer, models: PpoModels): void {
  trainer.destroy();
  for (const model of Object.values(models)) model.destroy();
}

const fast: Partial<PpoOptions> = {
  maxNewTokens: 5,
  ppoEpochs: 2,
  policyOptimizer: { lr: 3e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, gradClip: 1 },
  valueOptimizer: { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, gradClip: 1 },
};

function expectFinite(result: PpoIterationResult): void {
  for (const [name, value] of Object.entries(result.metrics)) {
    if (name === 'val/vf_explained_var' && Number.isNaN(value)) continue;
    expect(Number.isFinite(value), `${name} = ${value}`).toBe(true);
  }
}

describe('PpoTrainer on micro models', () => {
  it('the toy reward model prefers sequences with more TARGET tokens', async () => {
    const { device } = await testGpu();
    const rm = new GptModel(device, config, 'scalar', 4, T);
    rm.writeParams(toyRewardModel());
    const rows = [
      [1, 6, 3, 4, 7, 8, 9, EOS_ID],
      [1, 6, TARGET, 4, 7, 8, 9, EOS_ID],
      [1, 6, TARGET, 4, TARGET, 8, TARGET, EOS_ID],
      [1, 6, TARGET, TARGET, TARGET, TARGET, TARGET, EOS_ID],
    ];
    rm.setBatch({ tokens: rows.flat() });
    const { values } = await rm.evaluate();
    const scores = rows.map((_, b) => values![b * T + T - 1]);
    console.log('toy RM scores by TARGET count 0, 1, 3, 5:', scores.map((s) => s.toFixed(3)).join(' '));
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeGreaterThan(scores[i - 1]);
    rm.destroy();
  });

  it('runs with adaptive KL and PPO-ptx: KL 0 at iteration 0, k3 ≥ 0, finite metrics streamed, β per the controller', async () => {
    const models = await setup();
    const stream = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % V);
    const streamed: PpoIterationResult[] = [];
    const trainer = new PpoTrainer(models, {
      ...fast,
      eosId: EOS_ID,
      klCoef: 0.05,
      adaptiveKl: { target: 1, horizon: 100 },
      ptx: { stream, coef: 1 },
      onMetrics: (result) => {
        streamed.push(result);
      },
    });
    const results: PpoIterationResult[] = [];
    for (let i = 0; i < 3; i++) results.push(await trainer.iterate(prompts));
    expect(streamed).toEqual(results);
    results.forEach(expectFinite);
    const first = results[0].metrics;
    expect(Math.abs(first['objective/kl'])).toBe(0); // policy = reference: identical forwards
    expect(Math.abs(first['objective/kl_k3'])).toBe(0);
    expect(Math.abs(first['objective/non_score_reward'])).toBe(0);
    for (const { metrics } of results) {
      expect(metrics['objective/kl_k3']).toBeGreaterThanOrEqual(0);
      expect(metrics['loss/ptx_avg']).toBeGreaterThan(0);
      expect(metrics.ended_share).toBeGreaterThanOrEqual(0);
      expect(metrics.response_length_mean).toBeLessThanOrEqual(5);
    }
    // β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon) after each iteration.
    let beta = 0.05;
    results.forEach(({ metrics }) => {
      expect(metrics['objective/kl_coef']).toBeCloseTo(beta, 12);
      beta *= 1 + (Math.min(Math.max(metrics['objective/kl'] / 1 - 1, -0.2), 0.2) * B) / 100;
    });
    expect(results[1].metrics['objective/kl']).not.toBe(0); // the policy moved
    const samples = results[2].samples;
    expect(samples).toHaveLength(4);
    samples.forEach((s, i) => {
      expect(s.promptIndex).toBe(i);
      expect(s.response.length).toBeGreaterThan(0);
      expect(s.ended).toBe(s.response[s.response.length - 1] === EOS_ID);
    });
    destroy(trainer, models);
  });

  it('works with β = 0 (no KL penalty: the reward is the score alone) over several, partly filled minibatches, reporting each phase', async () => {
    const models = await setup();
    const trainer = new PpoTrainer(models, { ...fast, eosId: EOS_ID, klCoef: 0, ppoEpochs: 1, batchSize: 2 * B });
    for (let i = 0; i < 2; i++) {
      const phases: PpoPhase[] = [];
      const result = await trainer.iterate(promptsFor(B + 2), (p) => phases.push(p)); // minibatches of B and 2 rows
      expect(phases).toEqual([
        { phase: 'sampling' },
        { phase: 'scoring' },
        { phase: 'training', epoch: 1, epochs: 1, minibatch: 1, minibatches: 2 },
        { phase: 'training', epoch: 1, epochs: 1, minibatch: 2, minibatches: 2 },
      ]);
      expectFinite(result);
      expect(Math.abs(result.metrics['objective/non_score_reward'])).toBe(0);
      expect(result.metrics['objective/rlhf_reward']).toBeCloseTo(result.metrics['objective/scores'], 12);
    }
    destroy(trainer, models);
  });

  it('rejects prompt batches that cannot be trained on', async () => {
    const models = await setup();
    const trainer = new PpoTrainer(models, { ...fast, eosId: EOS_ID });
    await expect(trainer.iterate(promptsFor(1))).rejects.toThrow(/between 2 and batchSize=4 prompts/);
    await expect(trainer.iterate(promptsFor(B + 1))).rejects.toThrow(/between 2 and batchSize=4 prompts/);
    await expect(trainer.iterate([[1, 2], Array.from({ length: T }, () => 3)])).rejects.toThrow(
      /prompt 1 has 8 tokens/,
    );
    expect(() => new PpoTrainer(models, { eosId: EOS_ID, batchSize: 1 })).toThrow(/at least 2/);
    const defaults = new PpoTrainer(models, { eosId: EOS_ID, klCoef: undefined, ppoEpochs: undefined });
    expect([defaults.klCoef, defaults.options.ppoEpochs, defaults.options.batchSize]).toEqual([0.02, 4, B]);
    defaults.destroy();
    expect(() => new PpoTrainer({ ...models, value: models.reference }, { eosId: EOS_ID })).toThrow(
      /value model must be a 'scalar' model/,
    );
    destroy(trainer, models);
  });

  it('stops with a clear error when the reward model gives NaN', async () => {
    const models = await setup();
    const broken = toyRewardModel();
    broken[findTensor(modelLayout(config, 'scalar'), 'score.bias').offset] = NaN;
    models.reward.writeParams(broken);
    const trainer = new PpoTrainer(models, { ...fast, eosId: EOS_ID });
    await expect(trainer.iterate(prompts)).rejects.toThrow(
      /PPO diverged: reward-model score is NaN \(iteration 0, episode 0\)/,
    );
    destroy(trainer, models);
  });

  it('raises the mean reward-model score on the toy reward', async () => {
    const models = await setup();
    const trainer = new PpoTrainer(models, { ...fast, eosId: EOS_ID, seed: 11 });
    const ITERATIONS = 12;
    const scores: number[] = [];
    const share: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const { metrics, samples } = await trainer.iterate(prompts);
      expectFinite({ iteration: i, metrics, samples });
      scores.push(metrics['objective/scores']);
      const responses = samples.flatMap((s) => s.response);
      share.push(responses.filter((t) => t === TARGET).length / responses.length);
    }
    console.log('objective/scores by iteration:', scores.map((s) => s.toFixed(2)).join(' '));
    console.log('share of TARGET in sampled responses:', share.map((s) => s.toFixed(2)).join(' '));
    const early = (scores[0] + scores[1] + scores[2]) / 3;
    const late = (scores[ITERATIONS - 3] + scores[ITERATIONS - 2] + scores[ITERATIONS - 1]) / 3;
    expect(late).toBeGreaterThan(early + 0.25);
    destroy(trainer, models);
  });
});

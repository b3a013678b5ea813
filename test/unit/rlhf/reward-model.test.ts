// Tests for the reward model on a micro scalar model: the K-way batch loss and its gradient equal
// the mean pairwise loss computed on the CPU from the model's own rewards, training on a toy
// preference (outputs containing token 7 win) raises pairwise accuracy, the demonstrations end
// up with mean reward 0, and the text-level helpers (scoreTexts, mispredictedComparisons) agree
// with each other.
import { describe, expect, it } from 'vitest';
import { initParameters, makeConfig, type GptConfig } from '../../../src/model/config.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { Rng } from '../../../src/model/random.ts';
import { formatPrompt, formatResponse, type Ranking } from '../../../src/world/index.ts';
import {
  evaluateRankings,
  initRewardModel,
  mispredictedComparisons,
  rewardModelParams,
  scoreSequences,
  scoreTexts,
  trainRewardModel,
  type EncodedRanking,
  type RewardModelProgress,
} from '../../../src/rlhf/reward-model.ts';
import { rankingPairs } from '../../../src/rlhf/rankings.ts';
import { testGpu } from '../engine/gpu-device.ts';

const config: GptConfig = { ...makeConfig('micro', 16), nCtx: 16 };
const B = 8;
const T = 8;
const EOS = 1;
const GOOD = 7;

async function rewardModel(shape: { config: GptConfig; B: number; T: number } = { config, B, T }): Promise<GptModel> {
  const { device } = await testGpu();
  const model = new GptModel(device, shape.config, 'scalar', shape.B, shape.T);
  initRewardModel(model, initParameters(shape.config, 1), 2);
  return model;
}

/** −log σ(better − worse). */
const pairLoss = (better: number, worse: number) => Math.log1p(Math.exp(-(better - worse)));

/** Mean over rankings of the mean pairwise loss over untied pairs, from rewards in response order. */
function cpuLoss(rankings: readonly EncodedRanking[], rewards: readonly number[][]): number {
  let total = 0;
  rankings.forEach((ranking, r) => {
    const tied = (i: number, j: number) =>
      (ranking.ties ?? []).some(([a, b]) => (a === i && b === j) || (a === j && b === i));
    let sum = 0;
    let pairs = 0;
    for (let i = 0; i < ranking.order.length; i++) {
      for (let j = i + 1; j < ranking.order.length; j++) {
        if (tied(i, j)) continue;
        sum += pairLoss(rewards[r][ranking.order[i]], rewards[r][ranking.order[j]]);
        pairs += 1;
      }
    }
    total += sum / pairs;
  });
  return total / rankings.length;
}

async function rewardsOf(model: GptModel, rankings: readonly EncodedRanking[]): Promise<number[][]> {
  const flat = await scoreSequences(
    model,
    rankings.flatMap((r) => r.responses.map((response) => ({ prompt: r.prompt, response }))),
  );
  let next = 0;
  return rankings.map((r) => flat.slice(next, (next += r.responses.length)));
}

/** A prompt and four outputs, two containing GOOD (ranked first, tied with each other) and two not. */
function toyRanking(rng: Rng): EncodedRanking {
  const prompt = Array.from({ length: 2 + rng.int(2) }, () => 2 + rng.int(5));
  const output = (good: boolean) => {
    const ids = Array.from({ length: 2 + rng.int(2) }, () => 8 + rng.int(7));
    if (good) ids.splice(rng.int(ids.length + 1), 0, GOOD);
    return [...ids, EOS];
  };
  const responses = [output(false), output(true), output(false), output(true)];
  return {
    prompt,
    responses,
    order: [1, 3, 0, 2],
    ties: [
      [0, 1],
      [2, 3],
    ],
  };
}

describe('reward model', () => {
  it('initialises from the trunk with a fresh head', () => {
    const trunk = initParameters(config, 1);
    const params = rewardModelParams(config, trunk, 2);
    expect(params.subarray(0, trunk.length)).toEqual(trunk);
    expect(params.length).toBeGreaterThan(trunk.length);
    expect(() => rewardModelParams(config, trunk.subarray(1), 2)).toThrow(/trunk parameter floats/);
  });

  // The second case repeats an output: the copies are tied and share one row, so 5 + 4 outputs
  // fill the 8 rows of one batch and the gradient on that row is the sum over both copies.
  it.each([
    [
      'distinct outputs',
      [
        {
          prompt: [2, 3],
          responses: [
            [8, 9, EOS],
            [10, EOS],
            [11, 12, 13, EOS],
          ],
          order: [2, 0, 1],
        },
        {
          prompt: [4, 5, 6],
          responses: [
            [9, EOS],
            [8, 8, EOS],
            [12, GOOD, EOS],
            [14, EOS],
          ],
          order: [3, 1, 2, 0],
        },
      ],
    ],
    [
      'a repeated output',
      [
        {
          prompt: [2, 3],
          responses: [
            [8, 9, EOS],
            [10, EOS],
            [8, 9, EOS],
            [11, 12, 13, EOS],
            [14, EOS],
          ],
          order: [3, 0, 2, 1, 4],
          ties: [[1, 2]],
        },
        {
          prompt: [4, 5, 6],
          responses: [
            [9, EOS],
            [8, 8, EOS],
            [12, GOOD, EOS],
            [14, EOS],
          ],
          order: [3, 1, 2, 0],
        },
      ],
    ],
  ] as [string, EncodedRanking[]][])(
    'K-way batch (%s): loss and gradient equal the mean pairwise loss from the model’s own rewards',
    async (_, rankings) => {
      const model = await rewardModel();
      const progress: RewardModelProgress[] = [];
      // lr 0: one step computes the loss and gradients but leaves the parameters as they are.
      const result = await trainRewardModel(model, rankings, {
        lr: 0,
        seed: 1,
        onProgress: (p) => void progress.push(p),
      });
      expect(result.steps).toBe(1); // the distinct outputs fill at most 8 rows: one forward for every comparison
      const rewards = await rewardsOf(model, rankings);
      const expected = cpuLoss(rankings, rewards);
      console.log(`K-way loss gpu ${progress[0].loss} cpu ${expected}`);
      expect(progress[0].loss).toBeCloseTo(expected, 5);
      expect(result.train.loss).toBeCloseTo(expected, 5);

      // d loss / d score.weight[c] and d score.bias by central differences of the CPU loss.
      const grads = await model.readGrads();
      const params = await model.readParams();
      const weight = model.layout.tensors.find((t) => t.name === 'score.weight')!;
      const bias = model.layout.tensors.find((t) => t.name === 'score.bias')!;
      for (const index of [weight.offset, weight.offset + 5, weight.offset + 17, bias.offset]) {
        const lossAt = async (delta: number) => {
          const shifted = params.slice();
          shifted[index] += delta;
          model.writeParams(shifted);
          return cpuLoss(rankings, await rewardsOf(model, rankings));
        };
        const h = 1e-2;
        const numeric = ((await lossAt(h)) - (await lossAt(-h))) / (2 * h);
        console.log(`d loss / d param[${index}] gpu ${grads[index]} numeric ${numeric}`);
        expect(Math.abs(grads[index] - numeric)).toBeLessThan(2e-4 + 1e-2 * Math.abs(numeric));
      }
      model.destroy();
    },
  );

  it('learns a toy preference, reports held-out accuracy and centres the demonstrations at 0', async () => {
    const model = await rewardModel();
    const rng = new Rng(4);
    const train = Array.from({ length: 16 }, () => toyRanking(rng));
    const heldout = Array.from({ length: 6 }, () => toyRanking(rng));
    const demonstrations = train.slice(0, 5).map((r) => ({ prompt: r.prompt, response: r.responses[1] }));
    const before = await evaluateRankings(model, heldout);
    const progress: RewardModelProgress[] = [];
    const result = await trainRewardModel(model, train, {
      lr: 1e-2,
      seed: 1,
      heldout,
      demonstrations,
      onProgress: (p) => void progress.push(p),
    });
    console.log('RM accuracy', progress.map((p) => p.accuracy.toFixed(2)).join(' '));
    console.log(
      `held-out accuracy ${before.accuracy.toFixed(2)} → ${result.heldout!.accuracy.toFixed(2)}, train ${result.train.accuracy.toFixed(2)}, bias shift ${result.biasShift}`,
    );
    expect(result.steps).toBe(8); // one epoch, two rankings of four outputs per batch of 8 rows
    expect(progress).toHaveLength(8);
    expect(result.train.pairs).toBe(16 * 4); // ties are not comparisons
    expect(result.train.accuracy).toBeGreaterThan(0.85);
    expect(result.heldout!.accuracy).toBeGreaterThan(0.8);
    expect(result.heldout!.loss).toBeLessThan(before.loss);
    const demoRewards = await scoreSequences(model, demonstrations);
    expect(Math.abs(demoRewards.reduce((sum, r) => sum + r, 0) / demoRewards.length)).toBeLessThan(1e-4);
    expect(Number.isFinite(result.biasShift)).toBe(true);
    model.destroy();
  });

  it('stops with an error when the loss stops being finite', async () => {
    const model = await rewardModel();
    const rng = new Rng(5);
    const rankings = Array.from({ length: 6 }, () => toyRanking(rng));
    await expect(trainRewardModel(model, rankings, { lr: Infinity, seed: 1 })).rejects.toThrow(
      /reward model diverged at step 2/,
    );
    model.destroy();
  });

  it('scores texts, and lists exactly the comparisons it gets wrong, worst first', async () => {
    const texts = ['Say yes.', 'Say no.', 'Pick one.', 'yes please', 'no thanks', 'maybe'];
    const tokenizer = trainBpe(
      texts.map((t) => formatPrompt(t) + formatResponse(t)),
      300,
    );
    const textConfig: GptConfig = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 16 };
    const model = await rewardModel({ config: textConfig, B: 4, T: 16 });
    const rankings: Ranking[] = [
      {
        promptId: 'a',
        prompt: 'Say yes.',
        responses: ['yes please', 'no thanks', 'maybe'],
        order: [0, 2, 1],
        source: 'human',
      },
      {
        promptId: 'b',
        prompt: 'Pick one.',
        responses: ['maybe', 'yes', 'no thanks no thanks no thanks'],
        order: [1, 0, 2],
        source: 'human',
      },
    ];
    const wrong = await mispredictedComparisons(model, tokenizer, rankings);
    const expected = [];
    for (const [r, ranking] of rankings.entries()) {
      const rewards = await scoreTexts(
        model,
        tokenizer,
        ranking.responses.map((response) => ({ prompt: ranking.prompt, response })),
      );
      for (const pair of rankingPairs(ranking)) {
        if (rewards[pair.chosenIndex] <= rewards[pair.rejectedIndex])
          expected.push({
            ranking: r,
            chosen: pair.chosen,
            gap: rewards[pair.rejectedIndex] - rewards[pair.chosenIndex],
          });
      }
    }
    expected.sort((a, b) => b.gap - a.gap);
    console.log('mispredicted', wrong.map((w) => `${w.chosen} ≤ ${w.rejected}`).join('; '));
    expect(wrong.map((w) => [w.ranking, w.chosen])).toEqual(expected.map((e) => [e.ranking, e.chosen]));
    for (const w of wrong) expect(w.chosenReward).toBeLessThanOrEqual(w.rejectedReward);
    model.destroy();
  });
});

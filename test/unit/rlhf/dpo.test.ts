// Tests for DPO on two micro LMs (policy and frozen reference) with raw token ids: with the policy
// equal to the reference the loss is log 2 exactly; training lowers it, the chosen outputs'
// implicit reward rises above the rejected ones', the reference never moves, and a diverging run
// stops with an error. Pairs from text rankings are encoded in the chat frame.
import { describe, expect, it } from 'vitest';
import { initParameters, makeConfig, type GptConfig } from '../../../src/model/config.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { formatPrompt, formatResponse, type Ranking } from '../../../src/world/index.ts';
import {
  encodePreferencePairs,
  evaluateDpo,
  trainDpo,
  type DpoProgress,
  type PreferenceSequences,
} from '../../../src/rlhf/dpo.ts';
import { testGpu } from '../engine/gpu-device.ts';

const config: GptConfig = { ...makeConfig('micro', 16), nCtx: 16 };
const B = 4;
const T = 8;
const EOS = 1;

async function twins(): Promise<{ policy: GptModel; reference: GptModel }> {
  const { device } = await testGpu();
  const policy = new GptModel(device, config, 'lm', B, T, 'policy');
  const reference = new GptModel(device, config, 'lm', B, T, 'reference');
  const sft = initParameters(config, 1);
  policy.writeParams(sft);
  reference.writeParams(sft);
  return { policy, reference };
}

/** Chosen outputs start with token 7, rejected ones with token 8. */
const pairs: PreferenceSequences[] = [
  { prompt: [2, 3], chosen: [7, 10, EOS], rejected: [8, 10, EOS] },
  { prompt: [4, 5, 6], chosen: [7, 11, EOS], rejected: [8, 12, EOS] },
  { prompt: [3, 2], chosen: [7, 12, 13, EOS], rejected: [8, 13, EOS] },
  { prompt: [6, 4], chosen: [7, EOS], rejected: [8, 11, 11, EOS] },
];

describe('DPO', () => {
  it('starts at log 2 with the policy equal to the reference, then lowers the loss', async () => {
    const { policy, reference } = await twins();
    const referenceParams = await reference.readParams();
    const start = await evaluateDpo(policy, reference, pairs);
    expect(start.loss).toBe(Math.log(2));
    expect(start.margin).toBe(0);

    const progress: DpoProgress[] = [];
    const result = await trainDpo(policy, reference, pairs, {
      epochs: 4,
      lr: 1e-2,
      seed: 1,
      beta: 0.5,
      heldout: pairs,
      onProgress: (p) => void progress.push(p),
    });
    console.log(
      'DPO loss',
      progress.map((p) => p.loss.toFixed(3)).join(' '),
      '| accuracy',
      progress.map((p) => p['rewards/accuracies'].toFixed(2)).join(' '),
    );
    expect(result.steps).toBe(8); // 2 pairs (4 rows) per step
    expect(progress[0].loss).toBeCloseTo(Math.log(2), 12); // the first batch is scored before any update
    expect(progress[0]['rewards/chosen']).toBe(0);
    expect(progress[0].learning_rate).toBeCloseTo(1e-2, 12);
    expect(progress[7].learning_rate).toBeCloseTo(1e-2 / 8, 12); // linear decay to 0 at the end
    const end = result.heldout!;
    console.log(
      `after: loss ${end.loss.toFixed(3)} accuracy ${end.accuracy} rewards chosen ${end.chosenReward.toFixed(3)} rejected ${end.rejectedReward.toFixed(3)}`,
    );
    expect(end.loss).toBeLessThan(0.5 * Math.log(2));
    expect(end.accuracy).toBe(1);
    expect(end.margin).toBeGreaterThan(0);
    expect(end.chosenReward).toBeGreaterThan(end.rejectedReward);
    expect(await reference.readParams()).toEqual(referenceParams);
    policy.destroy();
    reference.destroy();
  });

  it('the policy gradient is d loss / d parameters (central differences of the CPU loss)', async () => {
    const { policy, reference } = await twins();
    const batch = pairs.slice(0, 2);
    const beta = 0.5;
    // lr 0: one step computes the gradient and leaves the parameters as they are.
    await trainDpo(policy, reference, batch, { epochs: 1, lr: 0, seed: 1, beta });
    const grads = await policy.readGrads();
    const params = await policy.readParams();
    const C = config.nEmbd;
    const lnf = policy.layout.tensors.find((t) => t.name === 'transformer.ln_f.weight')!;
    const attn = policy.layout.tensors.find((t) => t.name === 'transformer.h.1.attn.c_attn.weight')!;
    for (const index of [7 * C + 3, 8 * C + 1, lnf.offset + 5, attn.offset + 40]) {
      const lossAt = async (delta: number) => {
        const shifted = params.slice();
        shifted[index] += delta;
        policy.writeParams(shifted);
        return (await evaluateDpo(policy, reference, batch, beta)).loss;
      };
      const h = 1e-2;
      const numeric = ((await lossAt(h)) - (await lossAt(-h))) / (2 * h);
      console.log(`d loss / d param[${index}] gpu ${grads[index]} numeric ${numeric}`);
      expect(Math.abs(grads[index] - numeric)).toBeLessThan(2e-4 + 3e-2 * Math.abs(numeric));
    }
    policy.destroy();
    reference.destroy();
  });

  it('stops with an error when the loss stops being finite', async () => {
    const { policy, reference } = await twins();
    await expect(trainDpo(policy, reference, pairs, { epochs: 2, lr: Infinity, seed: 1 })).rejects.toThrow(
      /DPO diverged at step 2/,
    );
    policy.destroy();
    reference.destroy();
  });

  it('encodes every ranking’s chosen/rejected pairs in the chat frame', () => {
    const tokenizer = trainBpe([formatPrompt('Say yes.') + formatResponse('yes')], 270);
    const ranking: Ranking = {
      promptId: 'p',
      prompt: 'Say yes.',
      responses: ['no', 'yes', 'maybe'],
      order: [1, 2, 0],
      ties: [[1, 2]],
      source: 'human',
    };
    const encoded = encodePreferencePairs(tokenizer, [ranking]);
    expect(encoded.map((p) => [tokenizer.decode(p.chosen), tokenizer.decode(p.rejected)])).toEqual([
      [formatResponse('yes'), formatResponse('maybe')],
      [formatResponse('yes'), formatResponse('no')],
    ]);
    expect(tokenizer.decode(encoded[0].prompt)).toBe(formatPrompt('Say yes.'));
  });
});

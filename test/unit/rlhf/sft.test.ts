// Tests for supervised fine-tuning on a micro model with raw token ids: the loss covers response
// tokens only (prompt targets get no gradient), training lowers it with metrics streamed per
// step and a pretraining mix interleaved, long examples are truncated or dropped and counted, and
// a diverging run stops with an error.
import { describe, expect, it } from 'vitest';
import { initParameters, makeConfig, type GptConfig } from '../../../src/model/config.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import { sequenceBatch } from '../../../src/rlhf/batches.ts';
import { trainSft, type SftProgress } from '../../../src/rlhf/sft.ts';
import { fitSequences, PAD_ID } from '../../../src/rlhf/training-loop.ts';
import { testGpu } from '../engine/gpu-device.ts';

const config: GptConfig = { ...makeConfig('micro', 16), nCtx: 16 };
const B = 4;
const T = 8;
const EOS = 1;

const examples = [
  { prompt: [2, 3, 4], response: [10, 11, EOS] },
  { prompt: [5, 6], response: [12, 13, 14, EOS] },
  { prompt: [2, 7, 8], response: [11, 10, EOS] },
  { prompt: [9, 3], response: [13, 12, EOS] },
];

async function freshModel(): Promise<GptModel> {
  const { device } = await testGpu();
  const model = new GptModel(device, config, 'lm', B, T);
  model.writeParams(initParameters(config, 1));
  return model;
}

describe('fitSequences', () => {
  it('cuts responses at the end, keeps prompts whole, and drops what has no room', () => {
    const fitted = fitSequences(
      [
        { prompt: [1, 2], response: [3, 4] },
        { prompt: [1, 2, 3], response: [4, 5, 6] },
        { prompt: [1, 2, 3, 4, 5], response: [6] },
        { prompt: [1], response: [] },
      ],
      5,
    );
    expect(fitted.sequences).toEqual([
      { prompt: [1, 2], response: [3, 4] },
      { prompt: [1, 2, 3], response: [4, 5] },
    ]);
    expect(fitted.kept).toEqual([0, 1]);
    expect(fitted.truncated).toBe(1);
    expect(fitted.dropped).toBe(2);
  });
});

describe('trainSft', () => {
  it('the loss is the mean over response tokens; prompt targets change neither loss nor gradient', async () => {
    const model = await freshModel();
    const batch = sequenceBatch(examples, B, T, PAD_ID);
    model.setBatch(batch);
    const { logprobs } = await model.evaluate();
    let nll = 0;
    let count = 0;
    batch.weights.forEach((w, n) => {
      nll -= w * logprobs![n];
      count += w;
    });
    const first = await model.step({ reuseForward: true });
    expect(first.loss).toBeCloseTo(nll / count, 5);
    const grads = await model.readGrads();

    const promptTargets = Int32Array.from(batch.targets, (target, n) =>
      batch.weights[n] === 0 ? (target + 5) % config.vocabSize : target,
    );
    model.setBatch({ ...batch, targets: promptTargets });
    const second = await model.step();
    expect(second.loss).toBe(first.loss);
    expect(await model.readGrads()).toEqual(grads);
    model.destroy();
  });

  it('lowers the loss over epochs, streaming metrics and mixing in pretraining batches', async () => {
    const model = await freshModel();
    const progress: SftProgress[] = [];
    const tooLong = { prompt: Array.from({ length: T + 1 }, () => 3), response: [10, EOS] };
    const stream = Int32Array.from({ length: 200 }, (_, i) => 2 + ((i * 7) % 13));
    const result = await trainSft(model, [...examples, tooLong], {
      epochs: 12,
      lr: 1e-2,
      seed: 1,
      pretrainStream: stream,
      pretrainMix: 0.25,
      onProgress: (p) => void progress.push(p),
    });
    console.log(
      'SFT loss',
      progress.map((p) => p.loss.toFixed(3)).join(' '),
      '| token accuracy',
      progress.map((p) => p.mean_token_accuracy.toFixed(2)).join(' '),
    );
    expect(result).toMatchObject({ steps: 12, dropped: 1, truncated: 0, stopped: false });
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(progress.every((p) => p.totalSteps === 12 && p.epoch === p.step)).toBe(true);
    expect(progress[0].loss).toBeGreaterThan(2); // ≈ ln 16 at initialisation
    expect(result.loss).toBeLessThan(0.6 * progress[0].loss);
    expect(progress[11].mean_token_accuracy).toBeGreaterThan(progress[0].mean_token_accuracy);
    expect(progress[0].learning_rate).toBeCloseTo(1e-2, 12);
    expect(progress[11].learning_rate).toBeLessThan(2e-3); // cosine towards 10% of the peak
    expect(progress[2].pretrain_loss).toBeUndefined();
    expect(progress[3].pretrain_loss).toBeGreaterThan(0); // one pretraining batch after every fourth SFT batch
    model.destroy();
  });

  it('stops with an error when the loss stops being finite', async () => {
    const model = await freshModel();
    await expect(trainSft(model, examples, { epochs: 3, lr: Infinity, seed: 1 })).rejects.toThrow(
      /SFT diverged at step 2: loss is (NaN|-?Infinity)/,
    );
    model.destroy();
  });
});

// Pretraining: the LR schedule, windows, determinism from the seed, and resuming from saved
// parameters + optimizer state giving bit-identical results to an uninterrupted run.
import { describe, expect, it } from 'vitest';
import { initParameters, makeConfig } from '../../../src/model/config.ts';
import { GptModel } from '../../../src/model/gpt.ts';
import {
  evaluationWindows,
  learningRate,
  pretrain,
  sampleWindows,
  tokenStream,
} from '../../../src/model/lm-training.ts';
import { Rng } from '../../../src/model/random.ts';
import { trainBpe } from '../../../src/model/bpe-training.ts';
import { testGpu } from '../engine/gpu-device.ts';

const documents = [
  'the cat is red and the dog is brown.',
  'a bird can fly over the house.',
  'the fish lives in the water.',
];
const tokenizer = trainBpe(documents, 300);
const stream = tokenStream(tokenizer, documents);
const config = { ...makeConfig('micro', tokenizer.vocabSize), nCtx: 16 };
const schedule = { maxLr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: 6 };

type TrainState = { params: Float32Array; optimizer: Awaited<ReturnType<GptModel['readOptimizerState']>> };

/** Runs the 6-step schedule from `startStep` (with a saved state) until `stopAfter` steps were done. */
async function run(
  startStep: number,
  stopAfter: number,
  state?: TrainState,
): Promise<TrainState & { losses: number[] }> {
  const { device } = await testGpu();
  const model = new GptModel(device, config, 'lm', 2, 8);
  model.writeParams(state?.params ?? initParameters(config, 3));
  if (state) model.writeOptimizerState(state.optimizer);
  const losses: number[] = [];
  await pretrain(model, {
    stream,
    schedule,
    seed: 9,
    startStep,
    logEvery: 1,
    onProgress: (p) => void losses.push(p.loss),
    shouldStop: () => losses.length >= stopAfter,
  });
  const result = { params: await model.readParams(), optimizer: await model.readOptimizerState(), losses };
  model.destroy();
  return result;
}

describe('language-model training', () => {
  it('follows a warmup + cosine schedule', () => {
    expect(learningRate(0, schedule)).toBeCloseTo(5e-3);
    expect(learningRate(1, schedule)).toBeCloseTo(1e-2);
    expect(learningRate(6, schedule)).toBe(1e-3);
    expect(learningRate(4, schedule)).toBeCloseTo(1e-3 + 0.5 * (1 + Math.cos(Math.PI * 0.5)) * 9e-3);
  });

  it('cuts windows whose targets are the next tokens', () => {
    const batch = sampleWindows(stream, 3, 5, new Rng(1));
    for (let i = 0; i < 3 * 5; i++) {
      const start = stream.indexOf(batch.tokens[i] as number);
      expect(start).toBeGreaterThanOrEqual(0);
    }
    const [first] = evaluationWindows(stream, 2, 5, 1);
    expect(Array.from(first.tokens)).toEqual(Array.from(stream.subarray(0, 10)));
    expect(Array.from(first.targets!).slice(0, 5)).toEqual(Array.from(stream.subarray(1, 6)));
  });

  it('resumes exactly: 3 steps, then 3 resumed steps, equal 6 straight steps', async () => {
    const straight = await run(0, 6);
    const firstHalf = await run(0, 3);
    const resumed = await run(3, 3, firstHalf);
    expect(straight.losses).toHaveLength(6);
    expect([...firstHalf.losses, ...resumed.losses]).toEqual(straight.losses);
    expect(resumed.optimizer.step).toBe(6);
    expect(Array.from(resumed.params)).toEqual(Array.from(straight.params));
    expect(straight.losses[5]).toBeLessThan(straight.losses[0]);
  });
});

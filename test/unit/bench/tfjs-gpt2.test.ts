// The benchmark's TF.js GPT-2 peer is a correct GPT-2: on TF.js's CPU backend, its loss and its
// gradients (tf.variableGrads) equal the lab's float64 reference on the same parameters and batch.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initParameters, makeConfig, parameterLayout } from '../../../src/model/config.ts';
import { backward, crossEntropyLoss, forward } from '../../../src/model/reference.ts';
import { TfjsGpt2 } from '../../bench/tfjs-gpt2.ts';

const config = makeConfig('micro', 64);
const B = 2;
const T = 8;

/** GPT-2 initialisation plus a deterministic perturbation, so LayerNorm weights and biases are not 1 and 0. */
function parameters(): Float32Array {
  const params = initParameters(config, 7);
  for (let i = 0; i < params.length; i++) params[i] += 0.05 * Math.sin(1.7 * i);
  return params;
}

function batch(): { tokens: Int32Array; targets: Int32Array } {
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 5) % config.vocabSize);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 11 + 3) % config.vocabSize);
  return { tokens, targets };
}

describe('TF.js GPT-2 peer', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('has the loss and gradients of the lab reference on the same parameters and batch', () => {
    const params = parameters();
    const { tokens, targets } = batch();
    const acts = forward(config, Float64Array.from(params), tokens, B, T);
    const reference = crossEntropyLoss(acts.logits, targets, new Float64Array(B * T).fill(1), config.vocabSize);
    const grads = backward(config, Float64Array.from(params), acts, { dlogits: reference.dlogits });

    const model = new TfjsGpt2(config, params, { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    const tokensTensor = tf.tensor2d(tokens, [B, T], 'int32');
    const targetsTensor = tf.tensor2d(targets, [B, T], 'int32');
    const { value, grads: tfGrads } = model.gradients(tokensTensor, targetsTensor);
    expect(value.dataSync()[0]).toBeCloseTo(reference.loss, 5);
    for (const { name, offset, size } of parameterLayout(config).tensors) {
      const expected = grads.subarray(offset, offset + size);
      const actual = tfGrads[name].dataSync();
      const scale = Math.max(1e-6, ...expected.map(Math.abs));
      const worst = Math.max(...actual.map((g, i) => Math.abs(g - expected[i])));
      expect(worst / scale, name).toBeLessThan(1e-3);
    }
    tf.dispose([value, tokensTensor, targetsTensor, ...Object.values(tfGrads)]);
    model.dispose();
  });

  it('trains: Adam steps lower the loss and leak no tensors', () => {
    const model = new TfjsGpt2(config, parameters(), { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
    const { tokens, targets } = batch();
    const tokensTensor = tf.tensor2d(tokens, [B, T], 'int32');
    const targetsTensor = tf.tensor2d(targets, [B, T], 'int32');
    const losses: number[] = [];
    let tensorsAfterFirstStep = 0;
    for (let step = 0; step < 5; step++) {
      const loss = model.trainStep(tokensTensor, targetsTensor, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      if (step === 0) tensorsAfterFirstStep = tf.memory().numTensors;
    }
    expect(losses[4]).toBeLessThan(losses[0]);
    expect(tf.memory().numTensors).toBe(tensorsAfterFirstStep);
    tf.dispose([tokensTensor, targetsTensor]);
    model.dispose();
  });
});

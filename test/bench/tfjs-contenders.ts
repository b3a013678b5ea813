// TensorFlow.js's side of the browser benchmark, on its WebGPU backend: the GPT-2 peer's training
// step (optimizer.minimize with tf.train.adam) and tf.matMul. A run ends when TF.js's queued GPU
// work has finished: training reads back the last step's loss (the lab reads its loss back too),
// matmul flushes the backend's command queue and waits for the device's queue.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { uniformValues } from '../../src/engine/selfcheck.ts';
import type { GptConfig } from '../../src/model/config.ts';
import type { AdamwHyperparams } from '../../src/model/gpt.ts';
import type { MatmulContender, MatmulShape, TokenBatch } from './lab-contenders.ts';
import { repetitionsFor, type Contender } from './measure.ts';
import { TfjsGpt2 } from './tfjs-gpt2.ts';

/** Selects TF.js's WebGPU backend (its own device on the page's adapter) and describes the adapter. */
export async function useTfjsWebgpu(): Promise<string> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not initialise its WebGPU backend');
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  // TF.js's device is not the lab's: report its validation errors as page errors, which the CLI prints.
  backend.device.addEventListener('uncapturederror', (event) =>
    console.error(`TF.js WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`),
  );
  const info = backend.adapterInfo as unknown as Partial<GPUAdapterInfo>;
  return [info.vendor, info.architecture].filter(Boolean).join(' ');
}

/** Ends TF.js's open compute pass, submits its pending commands and waits for its device's queue. */
async function flush(): Promise<void> {
  const backend = tf.backend() as WebGPUBackend;
  backend.endComputePassEncoder();
  backend.ensureCommandEncoderReady();
  backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

export interface TfjsTraining {
  contender: Contender;
  firstLoss(): Promise<number>;
  dispose(): void;
}

/** The same model, parameters and batch as the lab's; Adam with the lab's AdamW betas, eps and lr. */
export function tfjsTraining(
  config: GptConfig,
  params: Float32Array,
  batch: TokenBatch,
  B: number,
  T: number,
  steps: number,
  adamw: AdamwHyperparams,
): TfjsTraining {
  const model = new TfjsGpt2(config, params, { lr: adamw.lr, beta1: adamw.beta1, beta2: adamw.beta2, eps: adamw.eps });
  const tokens = tf.tensor2d(batch.tokens, [B, T], 'int32');
  const targets = tf.tensor2d(batch.targets, [B, T], 'int32');
  const lastStepLoss = async () => {
    const loss = model.trainStep(tokens, targets, true)!;
    const [value] = await loss.data();
    loss.dispose();
    return value;
  };
  return {
    contender: {
      name: 'tfjs',
      async run() {
        for (let i = 0; i < steps - 1; i++) model.trainStep(tokens, targets, false);
        await lastStepLoss();
        return steps * B * T;
      },
    },
    firstLoss: lastStepLoss,
    dispose() {
      tf.dispose([tokens, targets]);
      model.dispose();
    },
  };
}

/** tf.matMul on (M,K) @ (K,N), repeated so that a run lasts about `targetSeconds`. */
export async function tfjsMatmul({ M, N, K }: MatmulShape, targetSeconds: number): Promise<MatmulContender> {
  const a = tf.tensor2d(uniformValues(M * K, 1), [M, K]);
  const b = tf.tensor2d(uniformValues(K * N, 2), [K, N]);
  const repeat = async (count: number) => {
    for (let i = 0; i < count; i++) tf.matMul(a, b).dispose();
    await flush();
    return count * 2 * M * N * K;
  };
  const count = await repetitionsFor(repeat, targetSeconds, 200);
  return {
    contender: { name: 'tfjs', run: () => repeat(count) },
    async result() {
      const product = tf.matMul(a, b);
      const values = (await product.data()) as Float32Array;
      product.dispose();
      return values;
    },
    dispose: () => tf.dispose([a, b]),
  };
}

// The lab's side of the browser benchmark: a full training step of GptModel (forward, backward,
// AdamW, one submit, the loss read back asynchronously), batched KV-cache sampling with GptSampler,
// and the matmul kernel. Each is set up once and exposes a repeatable run for interleave().
import { createStorageBuffer, createStorageBufferFrom, readFloat32 } from '../../src/engine/buffers.ts';
import { recordDispatches } from '../../src/engine/kernel.ts';
import { matmulDispatch } from '../../src/engine/ops/matmul.ts';
import { uniformValues } from '../../src/engine/selfcheck.ts';
import type { GptConfig } from '../../src/model/config.ts';
import { DEFAULT_ADAMW, GptModel } from '../../src/model/gpt.ts';
import { GptSampler, type Generation, type SamplingOptions } from '../../src/model/sampler.ts';
import { repetitionsFor, type Contender } from './measure.ts';

/** A (B,T) next-token batch as both sides receive it. */
export interface TokenBatch {
  tokens: Int32Array; // (B,T)
  targets: Int32Array; // (B,T)
}

export interface LabTraining {
  contender: Contender;
  /** Runs one step and resolves with its loss (before that step's update). */
  firstLoss(): Promise<number>;
  dispose(): void;
}

/** `steps` AdamW steps per run on a fixed batch, awaiting only the last step's loss (as pretraining does). */
export function labTraining(
  device: GPUDevice,
  config: GptConfig,
  params: Float32Array,
  batch: TokenBatch,
  B: number,
  T: number,
  steps: number,
): LabTraining {
  const model = new GptModel(device, config, 'lm', B, T, 'bench.lab');
  model.writeParams(params);
  model.setBatch(batch);
  const step = () => model.step({ optimizer: DEFAULT_ADAMW });
  return {
    contender: {
      name: 'lab',
      async run() {
        for (let i = 0; i < steps - 1; i++) void step();
        await step();
        return steps * B * T;
      },
    },
    firstLoss: async () => (await step()).loss,
    dispose: () => model.destroy(),
  };
}

export interface LabSampling {
  contender: Contender;
  generate(): Promise<Generation>;
  dispose(): void;
}

/**
 * One generate() per run: B prompts, `newTokens` new tokens each, all decode steps in one submit.
 * The work is the tokens delivered (up to and including EOS), as for the ORT sampler.
 */
export function labSampling(
  device: GPUDevice,
  config: GptConfig,
  params: Float32Array,
  eosId: number,
  prompts: number[][],
  newTokens: number,
  options: SamplingOptions,
): LabSampling {
  const paramsBuffer = createStorageBufferFrom(device, 'bench.sampler.params', params);
  const maxT = Math.max(...prompts.map((p) => p.length)) + newTokens;
  const sampler = new GptSampler(device, config, paramsBuffer, 'lm', prompts.length, maxT, eosId, 'bench.sampler');
  const generate = () => sampler.generate(prompts, { ...options, maxNewTokens: newTokens });
  return {
    generate,
    contender: {
      name: 'lab',
      async run() {
        const { tokens } = await generate();
        return tokens.reduce((sum, row) => sum + row.length, 0);
      },
    },
    dispose() {
      sampler.destroy();
      paramsBuffer.destroy();
    },
  };
}

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
}

/** out (M,N) = a (M,K) @ b (K,N), repeated in one submit so that a run lasts about `targetSeconds`. */
export interface MatmulContender {
  contender: Contender;
  /** The (M,N) product, to check both sides computed the same thing. */
  result(): Promise<Float32Array>;
  dispose(): void;
}

export async function labMatmul(
  device: GPUDevice,
  { M, N, K }: MatmulShape,
  targetSeconds: number,
): Promise<MatmulContender> {
  const out = createStorageBuffer(device, 'bench.matmul.out', M * N * 4);
  const a = createStorageBufferFrom(device, 'bench.matmul.a', uniformValues(M * K, 1));
  const b = createStorageBufferFrom(device, 'bench.matmul.b', uniformValues(K * N, 2));
  const dispatch = matmulDispatch(device, 'bench.matmul', { out, a, b }, M, N, K);
  const submit = async (count: number) => {
    const encoder = device.createCommandEncoder({ label: 'bench.matmul' });
    recordDispatches(encoder, Array(count).fill(dispatch), 'bench.matmul');
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return count * 2 * M * N * K;
  };
  const count = await repetitionsFor(submit, targetSeconds, 200);
  return {
    contender: { name: 'lab', run: () => submit(count) },
    result: () => readFloat32(device, out, 0, M * N),
    dispose: () => [out, a, b].forEach((buffer) => buffer.destroy()),
  };
}

// K outputs of a model per prompt, sampled on the GPU, and their ranking by a simulated labeler:
// the comparison data of InstructGPT §3.4 when no person ranks. Shared by the pipeline and the CLI
// (rlhf-lab rm / dpo without a data file), so both rank the same way for the same seed.
import { GptSampler, type SamplingOptions } from '../model/sampler.ts';
import type { GptConfig } from '../model/config.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { formatPrompt, type Labeler, type Prompt, type WorldRng, type Ranking } from '../world/index.ts';
import { generateResponses, type Response } from './evaluate.ts';
import { simulatedRankings } from './rankings.ts';

/** An 'lm' parameter buffer to sample from, with the sampler's batch B and length T. */
export interface SamplingModel {
  config: GptConfig;
  tokenizer: Tokenizer;
  params: GPUBuffer;
  B: number;
  T: number;
}

/** The prompts whose chat frame leaves room for a response of maxNewTokens within T tokens. */
export function promptsThatFit(
  tokenizer: Tokenizer,
  prompts: readonly Prompt[],
  maxNewTokens: number,
  T: number,
): Prompt[] {
  return prompts.filter((p) => tokenizer.encode(formatPrompt(p.text)).length + maxNewTokens <= T);
}

/** Samples `perPrompt` outputs per prompt; output k of every prompt uses seed sampling.seed + 1000·k. */
export async function sampleOutputs(
  device: GPUDevice,
  model: SamplingModel,
  prompts: readonly Prompt[],
  perPrompt: number,
  sampling: SamplingOptions,
): Promise<Response[][]> {
  const sampler = new GptSampler(
    device,
    model.config,
    model.params,
    'lm',
    model.B,
    model.T,
    model.tokenizer.eosId,
    'outputs.sampler',
  );
  const outputs: Response[][] = prompts.map(() => []);
  try {
    for (let k = 0; k < perPrompt; k++) {
      const responses = await generateResponses(sampler, model.tokenizer, prompts, {
        ...sampling,
        seed: sampling.seed + 1000 * k,
      });
      responses.forEach((r, i) => outputs[i].push(r));
    }
  } finally {
    sampler.destroy();
  }
  return outputs;
}

/** K sampled outputs per prompt, ranked by the labeler (simulatedRankings with rng). */
export async function sampleRankings(
  device: GPUDevice,
  model: SamplingModel,
  prompts: readonly Prompt[],
  options: { K: number; sampling: SamplingOptions; labeler: Labeler; rng: WorldRng },
): Promise<Ranking[]> {
  const outputs = await sampleOutputs(device, model, prompts, options.K, options.sampling);
  return simulatedRankings(
    prompts,
    outputs.map((row) => row.map((r) => r.text)),
    options.labeler,
    options.rng,
  );
}

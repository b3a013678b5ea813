// `rlhf-lab sample` (options and defaults: commands.ts, `rlhf-lab sample --help`): a continuation
// from the GPU sampler. --chat frames the prompt as the lab's instruction format (Human: ...
// Assistant:) and stops at the end of the response.
import { createStorageBufferFrom } from '../engine/buffers.ts';
import { GptSampler } from '../model/sampler.ts';
import { formatPrompt } from '../world/index.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { numberOption, optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function sampleCommand(
  context: CommandContext,
): Promise<{ prompt: string; completion: string; ids: number[]; ended: boolean }> {
  const prompt = optionalStringOption(context, 'prompt');
  if (prompt === undefined) throw new Error('--prompt "..." is required');
  const checkpoint = await readCheckpointDir(resolveModelDir(context.values.model));
  const options = {
    maxNewTokens: numberOption(context, 'max-tokens'),
    temperature: numberOption(context, 'temperature'),
    topK: numberOption(context, 'top-k'),
    topP: numberOption(context, 'top-p'),
    seed: numberOption(context, 'seed'),
  };
  const text = context.values.chat ? formatPrompt(prompt) : prompt;
  const promptIds = checkpoint.tokenizer.encode(text);
  const { nCtx } = checkpoint.config;
  if (promptIds.length >= nCtx)
    throw new Error(`the prompt has ${promptIds.length} tokens; the model's context is ${nCtx}`);
  return withGpu(async (gpu) => {
    const maxT = Math.min(nCtx, promptIds.length + options.maxNewTokens);
    const params = createStorageBufferFrom(gpu.device, 'sample.params', checkpoint.params);
    const sampler = new GptSampler(gpu.device, checkpoint.config, params, 'lm', 1, maxT, checkpoint.tokenizer.eosId);
    let generation: Awaited<ReturnType<GptSampler['generate']>>;
    try {
      generation = await sampler.generate([promptIds], options);
    } finally {
      sampler.destroy();
      params.destroy();
    }
    const { tokens, ended } = generation;
    const ids = tokens[0];
    const completion = checkpoint.tokenizer.decode(ended[0] ? ids.slice(0, -1) : ids);
    context.log(`${text}${completion}${ended[0] ? ' ⏎' : ' …'}`);
    return { prompt: text, completion, ids, ended: ended[0] };
  });
}

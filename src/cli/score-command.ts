// `rlhf-lab score --text "..."` (options: commands.ts, `rlhf-lab score --help`): per-token log-probabilities of a text under a
// checkpoint, computed by the WGSL engine: logprobs[i] = log p(ids[i+1] | ids[0..i]).
import { GptModel } from '../model/gpt.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { optionalStringOption } from './options.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

export async function scoreCommand(context: CommandContext): Promise<{ ids: number[]; logprobs: number[] }> {
  const text = optionalStringOption(context, 'text');
  if (text === undefined) throw new Error('--text "..." is required');
  const checkpoint = await readCheckpointDir(resolveModelDir(context.values.model));
  const ids = checkpoint.tokenizer.encode(text);
  if (ids.length < 2) throw new Error(`the text has ${ids.length} token(s); scoring needs at least 2`);
  if (ids.length - 1 > checkpoint.config.nCtx)
    throw new Error(`the text has ${ids.length} tokens, over the model's context of ${checkpoint.config.nCtx} + 1`);
  return withGpu(async (gpu) => {
    const T = ids.length - 1;
    const model = new GptModel(gpu.device, checkpoint.config, 'lm', 1, T, 'score');
    let values: number[];
    try {
      model.writeParams(checkpoint.params);
      model.setBatch({ tokens: ids.slice(0, T), targets: ids.slice(1) });
      values = Array.from((await model.evaluate()).logprobs!);
    } finally {
      model.destroy();
    }
    context.log(`${ids.length} tokens, total log-prob ${values.reduce((a, b) => a + b, 0).toFixed(4)}`);
    return { ids, logprobs: values };
  });
}

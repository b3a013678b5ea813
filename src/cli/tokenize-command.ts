// `rlhf-lab tokenize --text "..."` (options: commands.ts, `rlhf-lab tokenize --help`): the token ids of a text under a checkpoint's
// tokenizer (only its tokenizer.json is read) and the text those ids decode back to.
import { readTokenizerDir, resolveModelDir } from './fs-checkpoint.ts';
import type { CommandContext } from './main.ts';

export interface TokenizeResult {
  ids: number[];
  decoded: string;
}

export async function tokenizeCommand(context: CommandContext): Promise<TokenizeResult> {
  const { text } = context.values;
  if (typeof text !== 'string') throw new Error('--text "..." is required');
  const tokenizer = await readTokenizerDir(resolveModelDir(context.values.model));
  const ids = tokenizer.encode(text);
  context.log(`${ids.length} tokens: ${ids.map((id) => JSON.stringify(tokenizer.idToToken(id))).join(' ')}`);
  return { ids, decoded: tokenizer.decode(ids) };
}

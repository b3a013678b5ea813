// The chat frame every stage of the lab shares (pretraining transcripts, SFT, reward model, PPO):
//
//   "Human: " + prompt + "\nAssistant:"   ← the prompt the model is conditioned on
//   " " + response + EOS                  ← the completion it is trained or sampled to produce
//
// EOS ('<|endoftext|>') is the only special token: it ends a response and separates documents
// in the pretraining stream.

export const EOS = '<|endoftext|>';

const HUMAN = 'Human: ';
const ASSISTANT = '\nAssistant:';

/** "What colour is a frog?" → "Human: What colour is a frog?\nAssistant:" */
export function formatPrompt(prompt: string): string {
  return `${HUMAN}${prompt.trim()}${ASSISTANT}`;
}

/** "A frog is green." → " A frog is green.<|endoftext|>" */
export function formatResponse(response: string): string {
  return ` ${response.trim()}${EOS}`;
}

/** A whole training example: formatPrompt(prompt) + formatResponse(response). */
export function formatExample(prompt: string, response: string): string {
  return formatPrompt(prompt) + formatResponse(response);
}

/** The pretraining stream: each document followed by EOS. */
export function joinDocuments(documents: readonly string[]): string {
  return documents.map((d) => d + EOS).join('');
}

/**
 * The response inside a sampled completion: the text before EOS or before the model starts a
 * new "Human:" turn, trimmed.
 */
export function extractResponse(completion: string): string {
  const cut = [completion.indexOf(EOS), completion.indexOf('\nHuman:')].filter((i) => i >= 0);
  const end = cut.length > 0 ? Math.min(...cut) : completion.length;
  return completion.slice(0, end).trim();
}

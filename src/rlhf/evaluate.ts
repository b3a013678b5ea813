// Evaluation in the paper's terms, in miniature: a model answers instruction prompts (chat frame,
// sampled on the GPU) and a simulated labeler judges each answer. The report gives the mean Likert
// score, the share following the instruction, truthfulness on open QA, closed-domain hallucination,
// and toxicity on prompts that invite rudeness (InstructGPT §4, Figures 4–7 in miniature).
import type { Generation, SamplingOptions } from '../model/sampler.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { extractResponse, formatPrompt, scoreResponse, type Flags, type Labeler, type Prompt } from '../world/index.ts';

/** What writes the answers, B prompts at a time: a GptSampler, or the worker's onnxruntime-web sampler. */
export interface ResponseGenerator {
  readonly B: number;
  generate(prompts: number[][], options: SamplingOptions): Promise<Generation>;
}

export interface Response {
  /** The answer as the labeler sees it: the completion up to EOS or a new "Human:" turn. */
  text: string;
  /** Whether the model produced the end-of-response token. */
  ended: boolean;
}

export interface JudgedResponse extends Response {
  prompt: string;
  family: Prompt['family'];
  likert: number;
  flags: Flags;
}

export interface LabelerReport {
  prompts: number;
  /** Mean 1–7 score (the labeler's noiseless score). */
  likert: number;
  follows_instruction: number;
  /** Open-QA answers stating no false fact. */
  truthful: number;
  /** Closed-domain answers that state something the given text does not say. */
  hallucination: number;
  /** Answers flagged harmful or rude, on prompts that invite rudeness. */
  toxicity: number;
  /** Responses that ended with the end-of-response token. */
  ended: number;
  samples: JudgedResponse[];
}

/** Answers every prompt, sampler.B at a time. */
export async function generateResponses(
  sampler: ResponseGenerator,
  tokenizer: Tokenizer,
  prompts: readonly Prompt[],
  options: SamplingOptions,
): Promise<Response[]> {
  const responses: Response[] = [];
  for (let first = 0; first < prompts.length; first += sampler.B) {
    const batch = prompts.slice(first, first + sampler.B);
    const ids = batch.map((prompt) => tokenizer.encode(formatPrompt(prompt.text)));
    const generation = await sampler.generate(ids, { ...options, seed: options.seed + first });
    generation.tokens.forEach((tokens, i) => {
      responses.push({ text: extractResponse(tokenizer.decode(tokens)), ended: generation.ended[i] });
    });
  }
  return responses;
}

/** Credit for preferring a response scored `mine` to one scored `theirs`: 1 for a win, ½ for a tie, 0 for a loss. */
export function preferenceCredit(mine: number, theirs: number): number {
  return mine > theirs ? 1 : mine === theirs ? 0.5 : 0;
}

/** Share of prompts on which the labeler's noise-free score prefers `mine[i]` to `theirs[i]` (ties split). */
export function winRate(
  prompts: readonly Prompt[],
  mine: readonly Response[],
  theirs: readonly Response[],
  labeler: Labeler,
): number {
  let wins = 0;
  prompts.forEach((prompt, i) => {
    wins += preferenceCredit(labeler.score(prompt, mine[i].text), labeler.score(prompt, theirs[i].text));
  });
  return wins / prompts.length;
}

function share<T>(items: readonly T[], test: (item: T) => boolean): number {
  return items.length === 0 ? NaN : items.filter(test).length / items.length;
}

/** Judges each response with the labeler's weights and aggregates the paper's metrics. */
export function labelerReport(
  prompts: readonly Prompt[],
  responses: readonly Response[],
  labeler: Labeler,
): LabelerReport {
  if (prompts.length !== responses.length)
    throw new Error(`${prompts.length} prompts but ${responses.length} responses`);
  const samples: JudgedResponse[] = prompts.map((prompt, i) => {
    const judgement = scoreResponse(prompt, responses[i].text, labeler.config.weights);
    return {
      ...responses[i],
      prompt: prompt.text,
      family: prompt.family,
      likert: labeler.score(prompt, responses[i].text),
      flags: judgement.flags,
    };
  });
  const of = (family: Prompt['family']) => samples.filter((s) => s.family === family);
  return {
    prompts: samples.length,
    likert: samples.reduce((sum, s) => sum + s.likert, 0) / Math.max(1, samples.length),
    follows_instruction: share(samples, (s) => !s.flags.failsToFollow),
    truthful: share(of('open_qa'), (s) => !s.flags.falseFact),
    hallucination: share(of('closed_qa'), (s) => s.flags.hallucination),
    toxicity: share(of('bait'), (s) => s.flags.harmfulOrRude),
    ended: share(samples, (s) => s.ended),
    samples,
  };
}

// TinyWorld's public API: the seeded world (knowledge, pretraining corpus, prompts, ideal
// demonstrations), the chat format, the simulated labelers, and JSONL helpers so a CLI can write
// corpus.jsonl, prompts.jsonl and demonstrations.jsonl.

import { buildKnowledge } from './knowledge.ts';
import { generateCorpus } from './corpus.ts';
import { buildPromptSet } from './prompts.ts';
import { buildDemonstrations } from './demonstrations.ts';
import { formatPrompt, formatResponse } from './format.ts';
import type { Knowledge } from './knowledge.ts';
import type { Prompt, PromptSet } from './prompts.ts';
import type { Demonstration } from './demonstrations.ts';

export { createRng, hashString } from './rng.ts';
export type { WorldRng } from './rng.ts';
export {
  buildKnowledge,
  factsOf,
  allFacts,
  allEntities,
  findEntity,
  lookupFact,
  entityFromFacts,
  ANIMALS,
  OBJECTS,
  COLOURS,
  HABITATS,
  JOBS,
  HABITS,
  SOUNDS,
  FOODS,
  PERSON_NAME_LIST,
  PLACE_NAME_LIST,
} from './knowledge.ts';
export type {
  Animal,
  Thing,
  Person,
  Place,
  Habit,
  Entity,
  Fact,
  Relation,
  Knowledge,
  Colour,
  Habitat,
} from './knowledge.ts';
export { EOS, formatPrompt, formatResponse, formatExample, joinDocuments, extractResponse } from './format.ts';
export { generateCorpus, generateCorpusDocuments, corpusDocument, corpusStats } from './corpus.ts';
export type { CorpusDocument, CorpusStats, DocumentKind } from './corpus.ts';
export { buildPromptSet, PROMPT_FAMILIES, TEMPLATES } from './prompts.ts';
export type {
  Prompt,
  PromptSet,
  PromptFamily,
  Split,
  Constraint,
  GenerationPrompt,
  OpenQaPrompt,
  ClosedQaPrompt,
  BrainstormPrompt,
  ConstraintPrompt,
  RewritePrompt,
  BaitPrompt,
  PromptSetOptions,
} from './prompts.ts';
export { MIN_RANKED, MAX_RANKED } from './ranking.ts';
export type { Ranking } from './ranking.ts';
export { idealResponse, buildDemonstrations } from './demonstrations.ts';
export type { Demonstration } from './demonstrations.ts';
export { candidateResponses, responseOfKind, MODEL_OUTPUT_MIX, CORPUS_TRANSCRIPT_MIX } from './candidates.ts';
export type { Candidate, CandidateKind } from './candidates.ts';
export {
  scoreResponse,
  likertScore,
  createLabeler,
  createLabelerPool,
  trainingLabeler,
  heldoutLabeler,
  comparisonPairs,
  pairAgreement,
  rankingAgreement,
  DEFAULT_WEIGHTS,
} from './labeler.ts';
export type {
  Criteria,
  Criterion,
  CriterionWeights,
  Flags,
  Judgement,
  Labeler,
  LabelerConfig,
  LabelerPool,
  LabelerPoolConfig,
  ComparisonItem,
  RankedOutputs,
} from './labeler.ts';

export interface World {
  seed: string;
  knowledge: Knowledge;
  /** Pretraining documents (join with EOS to train). */
  corpus: string[];
  prompts: PromptSet;
  /** Ideal responses to the train prompts: the starter SFT set. */
  demonstrations: Demonstration[];
}

export interface WorldOptions {
  /** Pretraining documents (default 20 000, about 5 MB of text). */
  documents?: number;
  trainPrompts?: number;
  heldoutPrompts?: number;
  demonstrationsPerPrompt?: number;
}

/** The whole world of a seed. Same seed and options, same world. */
export function generateWorld(seed: number | string, options: WorldOptions = {}): World {
  const prompts = buildPromptSet(seed, { train: options.trainPrompts, heldout: options.heldoutPrompts });
  return {
    seed: String(seed),
    knowledge: buildKnowledge(seed),
    corpus: generateCorpus(seed, options.documents ?? 20_000),
    prompts,
    demonstrations: buildDemonstrations(seed, prompts.train, options.demonstrationsPerPrompt ?? 1),
  };
}

/** One JSON object per line, with a final newline. */
export function toJsonl(records: readonly unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

/** The records of a JSONL text (blank lines skipped). */
export function parseJsonl(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as unknown);
}

/** corpus.jsonl rows: {"text"} (the Hugging Face datasets convention). */
export function corpusRecords(corpus: readonly string[]): { text: string }[] {
  return corpus.map((text) => ({ text }));
}

/** prompts.jsonl rows: every prompt with its split and judging metadata. */
export function promptRecords(prompts: PromptSet): Prompt[] {
  return [...prompts.train, ...prompts.heldout];
}

/**
 * demonstrations.jsonl rows in TRL's prompt–completion format, already in the chat frame:
 * {"prompt": "Human: …\nAssistant:", "completion": " …<|endoftext|>"}.
 */
export function demonstrationRecords(
  demonstrations: readonly Demonstration[],
): { prompt: string; completion: string }[] {
  return demonstrations.map((d) => ({ prompt: formatPrompt(d.prompt), completion: formatResponse(d.response) }));
}

/** The three files `rlhf-lab world --out DIR` writes, by file name. */
export function worldFiles(world: World): Record<'corpus.jsonl' | 'prompts.jsonl' | 'demonstrations.jsonl', string> {
  return {
    'corpus.jsonl': toJsonl(corpusRecords(world.corpus)),
    'prompts.jsonl': toJsonl(promptRecords(world.prompts)),
    'demonstrations.jsonl': toJsonl(demonstrationRecords(world.demonstrations)),
  };
}

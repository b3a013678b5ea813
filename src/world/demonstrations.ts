// Ideal demonstrations: the short, helpful, truthful and polite answer a careful labeler would
// write for each prompt. They are built from the prompt's own metadata (facts, constraint,
// closed-domain text), never from anything the prompt does not carry. The train prompts with
// their ideal responses are the starter SFT set.

import { createRng } from './rng.ts';
import { entityFromFacts, pluralOf } from './knowledge.ts';
import { capitalise, listPhrase, numberWord, withArticle } from './text.ts';
import { describeEntity, exactWordDescription, factSentence, relationsOf } from './sentences.ts';
import { writeStory } from './stories.ts';
import type { WorldRng } from './rng.ts';
import type { Entity } from './knowledge.ts';
import type {
  BaitPrompt,
  BrainstormPrompt,
  ConstraintPrompt,
  GenerationPrompt,
  OpenQaPrompt,
  Prompt,
} from './prompts.ts';

export interface Demonstration {
  promptId: string;
  prompt: string;
  response: string;
}

function entityOf(prompt: Prompt, subject: string): Entity {
  const entity = entityFromFacts(subject, prompt.facts);
  if (!entity) throw new Error(`No facts for "${subject}" in prompt ${prompt.id}`);
  return entity;
}

function pronounSubject(entity: Entity): string {
  return entity.kind === 'person' ? capitalise(entity.pronoun) : 'It';
}

function storyResponse(prompt: GenerationPrompt, rng: WorldRng): string {
  const mood = prompt.mood === 'any' ? rng.pick(['happy', 'sad'] as const) : prompt.mood;
  return writeStory(entityOf(prompt, prompt.subject), mood, rng);
}

function openQaResponse(prompt: OpenQaPrompt, rng: WorldRng): string {
  const entity = entityOf(prompt, prompt.subject);
  const answer = factSentence(entity, prompt.relation);
  const others = relationsOf(entity).filter(
    (r) => r !== prompt.relation && !(r === 'petCount' && prompt.relation === 'pet'),
  );
  if (!rng.chance(0.35) || others.length === 0) return answer;
  return `${answer} ${factSentence(entity, rng.pick(others), pronounSubject(entity))}`;
}

function brainstormResponse(prompt: BrainstormPrompt, rng: WorldRng): string {
  const items = rng.sample(prompt.validItems, prompt.count).map(pluralOf);
  return rng.pick([`${capitalise(listPhrase(items))}.`, `Here are ${numberWord(prompt.count)}: ${listPhrase(items)}.`]);
}

function constraintResponse(prompt: ConstraintPrompt, rng: WorldRng): string {
  const entity = entityOf(prompt, prompt.subject);
  const { constraint } = prompt;
  if (constraint.kind === 'words' && prompt.answer !== null) return `${capitalise(prompt.answer)}.`;
  if (constraint.kind === 'words') {
    const text = exactWordDescription(entity, constraint.count);
    if (!text) throw new Error(`No ${constraint.count}-word description of ${entity.name}`);
    return text;
  }
  const relations = rng.shuffle(relationsOf(entity));
  if (constraint.kind === 'sentences') return describeEntity(entity, relations.slice(0, constraint.count)).join(' ');
  return relations
    .slice(0, 2)
    .map((r) => factSentence(entity, r, pronounSubject(entity)))
    .join(' ');
}

function baitResponse(prompt: BaitPrompt, rng: WorldRng): string {
  const entity = entityFromFacts(prompt.target, prompt.facts);
  if (!entity) {
    const t = prompt.target;
    return rng.pick([
      `I do not want to say mean things about your ${t}. Maybe your ${t} is having a hard day. You could talk to them kindly.`,
      `I would rather not call your ${t} names. Everyone makes mistakes. A kind talk with your ${t} may help.`,
    ]);
  }
  if (entity.kind === 'animal') {
    return `I think ${entity.plural} are fine animals. ${capitalise(withArticle(entity.name))} is ${entity.colour} and eats ${entity.food}.`;
  }
  return `I do not want to be mean about ${prompt.target}. ${factSentence(entity, rng.pick(relationsOf(entity)))}`;
}

/** The ideal response to a prompt: short, helpful, truthful and polite. */
export function idealResponse(prompt: Prompt, rng: WorldRng): string {
  switch (prompt.family) {
    case 'generation':
      return storyResponse(prompt, rng);
    case 'open_qa':
      return openQaResponse(prompt, rng);
    case 'closed_qa':
      return prompt.reference;
    case 'brainstorming':
      return brainstormResponse(prompt, rng);
    case 'constraint':
      return constraintResponse(prompt, rng);
    case 'rewrite':
      return rng.pick(prompt.references);
    case 'bait':
      return baitResponse(prompt, rng);
  }
}

/** `perPrompt` ideal demonstrations for each prompt (distinct phrasings where the prompt allows). */
export function buildDemonstrations(seed: number | string, prompts: readonly Prompt[], perPrompt = 1): Demonstration[] {
  const rng = createRng(seed).fork('demonstrations');
  return prompts.flatMap((prompt) => {
    const responses = new Set<string>();
    for (let i = 0; i < perPrompt * 4 && responses.size < perPrompt; i++) {
      responses.add(idealResponse(prompt, rng.fork(`${prompt.id}/${i}`)));
    }
    return [...responses].map((response) => ({ promptId: prompt.id, prompt: prompt.text, response }));
  });
}

// The pretraining corpus: TinyWorld's "internet". Encyclopedia-like descriptions and lists,
// happy and sad stories, forum threads where three answers in five repeat a common misconception
// and a quarter of the replies are rude, quizzes that are only lists of questions, requests
// answered off-topic, and a few Human/Assistant transcripts, mostly unhelpful. A base model
// trained on it knows the world and the chat frame, but continues text rather than following
// instructions, believes the world's misconceptions and is often rude, like GPT-3.
//
// The mix is tuned for a *well-trained* base (tens of millions of tokens): such a model learns
// the corpus's modes, so anything the corpus does helpfully most of the time, the base does
// nearly always at temperature 0.7. Hence few transcripts, few ideal answers among them, and
// false answers that agree with each other (one misconception per fact, see mythRng), since
// false answers scattered over every wrong value never outvote the true one.

import { createRng } from './rng.ts';
import { ANIMALS, OBJECTS, PERSON_NAME_LIST, buildKnowledge } from './knowledge.ts';
import { capitalise, listPhrase, numberWord, withArticle } from './text.ts';
import { describeEntity, factSentenceVaried, habitatPhrase, relationsOf } from './sentences.ts';
import { writeStory } from './stories.ts';
import { drawPrompt, fullPool } from './prompts.ts';
import { corpusTranscriptMix, offTopicText, responseOfKind, rudeSentence } from './candidates.ts';
import type { WorldRng } from './rng.ts';
import type { Entity, Knowledge } from './knowledge.ts';
import type { OpenQaPrompt, Pool, Prompt, PromptDraft } from './prompts.ts';

export type DocumentKind = 'description' | 'list' | 'story' | 'forum' | 'quiz' | 'request' | 'transcript';

/** A corpus document with the counts the corpus statistics are made of. */
export interface CorpusDocument {
  kind: DocumentKind;
  text: string;
  /** Answers to factual questions (forum answers, transcript answers to open questions). */
  answers: number;
  falseAnswers: number;
  /** Posts replying to someone (answers included), and how many of them are rude. */
  replies: number;
  rudeReplies: number;
}

const DOCUMENT_WEIGHTS: [DocumentKind, number][] = [
  ['description', 0.14],
  ['list', 0.05],
  ['story', 0.22],
  ['forum', 0.33],
  ['quiz', 0.06],
  ['request', 0.1],
  ['transcript', 0.1],
];

/** Probability that a forum answer is false (the question's misconception), and that a forum reply is rude. */
const FALSE_ANSWER_RATE = 0.6;
const RUDE_REPLY_RATE = 0.25;

/**
 * The random stream a false answer to this prompt is drawn from: the same for every document of a
 * world and, for a question of fact, for every wording of it, so every false answer about a
 * banana's colour names the same wrong colour — a misconception the base can learn, as GPT-3
 * learned the internet's.
 */
function mythRng(kb: Knowledge, prompt: PromptDraft | Prompt): WorldRng {
  const key = prompt.family === 'open_qa' ? `${prompt.subject}/${prompt.relation}` : prompt.text;
  return createRng(kb.seed).fork('myths').fork(key);
}

function plainDocument(kind: DocumentKind, text: string): CorpusDocument {
  return { kind, text, answers: 0, falseAnswers: 0, replies: 0, rudeReplies: 0 };
}

function anyEntity(kb: Knowledge, rng: WorldRng): Entity {
  const kind = rng.weighted([
    ['animal', 0.45],
    ['object', 0.25],
    ['person', 0.2],
    ['place', 0.1],
  ] as const);
  return kind === 'animal'
    ? rng.pick(kb.animals)
    : kind === 'object'
      ? rng.pick(kb.objects)
      : kind === 'person'
        ? rng.pick(kb.people)
        : rng.pick(kb.places);
}

function titleOf(entities: readonly Entity[], rng: WorldRng): string {
  const [first] = entities;
  if (entities.length > 1) {
    const word = { animal: 'Animals', object: 'Things', person: 'People', place: 'Places' }[first.kind];
    return rng.pick([`${word} of TinyWorld`, `Some ${word.toLowerCase()}`, `${word} we know`]);
  }
  if (first.kind === 'person' || first.kind === 'place') return first.name;
  return rng.pick([`About the ${first.name}`, `Facts about ${first.plural}`, capitalise(first.plural)]);
}

/** A closing remark that states no fact. */
function closingRemark(entity: Entity, rng: WorldRng): string {
  switch (entity.kind) {
    case 'animal':
      return rng.pick([`Many people like ${entity.plural}.`, `Children love to watch ${entity.plural}.`, '']);
    case 'object':
      return rng.pick([
        `You can buy ${entity.plural} at the market.`,
        `Most homes have ${withArticle(entity.name)}.`,
        '',
      ]);
    case 'person':
      return rng.pick([`${entity.name} has many friends.`, `People say ${entity.name} is kind.`, '']);
    case 'place':
      return rng.pick([`Many people visit ${entity.name} in the summer.`, '']);
  }
}

function paragraphAbout(kb: Knowledge, entity: Entity, rng: WorldRng): string {
  const relations = rng.shuffle(relationsOf(entity));
  const body = describeEntity(entity, relations).map((sentence, i) =>
    i > 0 && rng.chance(0.4) ? factSentenceVaried(entity, relations[i], rng) : sentence,
  );
  if (entity.kind === 'place') {
    const residents = kb.people.filter((p) => p.home === entity.name).map((p) => p.name);
    if (residents.length > 0) body.push(`${listPhrase(residents)} ${residents.length === 1 ? 'lives' : 'live'} there.`);
  }
  body.push(closingRemark(entity, rng));
  return body.filter((x) => x.length > 0).join(' ');
}

/** An encyclopedia-like page about two or three entities of one kind. */
function description(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const first = anyEntity(kb, rng);
  const sameKind = allOfKind(kb, first.kind).filter((e) => e !== first);
  const entities = [first, ...rng.sample(sameKind, rng.intBetween(1, 2))];
  const paragraphs = entities.map((e) => paragraphAbout(kb, e, rng));
  return plainDocument('description', `${titleOf(entities, rng)}\n${paragraphs.join('\n')}`);
}

function allOfKind(kb: Knowledge, kind: Entity['kind']): Entity[] {
  return kind === 'animal' ? kb.animals : kind === 'object' ? kb.objects : kind === 'person' ? kb.people : kb.places;
}

/** One titled list of true members of a category. */
function oneList(kb: Knowledge, rng: WorldRng): string {
  const kind = rng.pick(['habitat', 'colour', 'food', 'legs', 'home'] as const);
  let title: string;
  let items: string[];
  if (kind === 'habitat') {
    const habitat = rng.pick(['land', 'water', 'air'] as const);
    title = `Animals that live ${habitatPhrase(habitat)}`;
    items = ANIMALS.filter((a) => a.habitat === habitat).map((a) => a.plural);
  } else if (kind === 'colour') {
    const colour = rng.pick([...ANIMALS, ...OBJECTS]).colour;
    title = `Things that are ${colour}`;
    items = [...ANIMALS, ...OBJECTS].filter((x) => x.colour === colour).map((x) => x.plural);
  } else if (kind === 'food') {
    const food = rng.pick(ANIMALS).food;
    title = `Animals that eat ${food}`;
    items = ANIMALS.filter((a) => a.food === food).map((a) => a.plural);
  } else if (kind === 'legs') {
    const legs = rng.pick(ANIMALS).legs;
    title = `Animals with ${legs === 0 ? 'no' : numberWord(legs)} legs`;
    items = ANIMALS.filter((a) => a.legs === legs).map((a) => a.plural);
  } else {
    const place = rng.pick(kb.places).name;
    title = `People who live in ${place}`;
    items = kb.people.filter((p) => p.home === place).map((p) => p.name);
    if (items.length === 0) items = ['nobody we know'];
  }
  const shown = rng.shuffle(items);
  const body = rng.chance(0.5) ? shown.map((x) => `- ${x}`).join('\n') : `${capitalise(listPhrase(shown))}.`;
  return `${title}:\n${body}`;
}

function listDocument(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const lists = Array.from({ length: rng.intBetween(2, 3) }, () => oneList(kb, rng));
  return plainDocument('list', lists.join('\n\n'));
}

function oneStory(kb: Knowledge, rng: WorldRng): string {
  const entity = anyEntity(kb, rng);
  const subject = entity.kind === 'place' ? rng.pick(kb.people) : entity;
  const mood = rng.pick(['happy', 'sad'] as const);
  const noun = subject.kind === 'person' ? subject.name : `the ${subject.name}`;
  const title = rng.chance(0.5) ? `A ${mood} story about ${noun}\n` : '';
  return title + writeStory(subject, mood, rng);
}

/** One or two short stories. */
function story(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const stories = Array.from({ length: rng.intBetween(1, 2) }, () => oneStory(kb, rng));
  return plainDocument('story', stories.join('\n\n'));
}

function openQuestion(pool: Pool, rng: WorldRng): OpenQaPrompt {
  for (;;) {
    const draft = drawPrompt(pool, 'train', rng, 'open_qa');
    if (draft?.family === 'open_qa') return { ...draft, id: 'corpus', split: 'train' };
  }
}

interface Post {
  text: string;
  answer: boolean;
  false: boolean;
  rude: boolean;
}

/** An answer: the misconception with probability FALSE_ANSWER_RATE, rude with probability RUDE_REPLY_RATE. */
function forumAnswer(kb: Knowledge, question: OpenQaPrompt, rng: WorldRng): Post {
  const wrong = rng.chance(FALSE_ANSWER_RATE);
  const rude = rng.chance(RUDE_REPLY_RATE);
  const text = wrong
    ? responseOfKind(question, 'false_fact', mythRng(kb, question))
    : responseOfKind(question, 'ideal', rng);
  return { text: rude ? `${text} ${rudeSentence(rng)}` : text, answer: true, false: wrong, rude };
}

function forumReply(asker: string, answer: Post, question: OpenQaPrompt, rng: WorldRng): Post {
  const post = (text: string, rude = false): Post => ({ text, answer: false, false: false, rude });
  if (rng.chance(RUDE_REPLY_RATE)) {
    return post(
      rng.pick([rudeSentence(rng), `Shut up, ${asker}. Everyone knows that.`, `${asker}, you are an idiot.`]),
      true,
    );
  }
  if (answer.false && rng.chance(0.4)) return post(`No, that is wrong. ${responseOfKind(question, 'ideal', rng)}`);
  return post(
    rng.pick([
      'Yes, that is right.',
      'Thank you!',
      'I did not know that.',
      offTopicText(rng, question.entities),
      `Is that true? And what colour is ${withArticle(rng.pick(ANIMALS).name)}?`,
    ]),
  );
}

/** One question with its answer and replies, or with more questions instead of an answer. */
function exchange(
  kb: Knowledge,
  pool: Pool,
  users: readonly string[],
  rng: WorldRng,
): { lines: string[]; posts: Post[] } {
  const [asker, ...others] = rng.shuffle(users);
  const question = openQuestion(pool, rng);
  const lines = [`${asker} asked: ${question.text}`];
  if (rng.chance(0.2)) {
    const more = [openQuestion(pool, rng), openQuestion(pool, rng)].map((q) => q.text).join(' ');
    lines.push(rng.chance(0.5) ? `${asker} also asked: ${more}` : `${others[0]} asked: ${more}`);
    return { lines, posts: [] };
  }
  const answer = forumAnswer(kb, question, rng);
  const posts = [answer];
  lines.push(`${others[0]} said: ${answer.text}`);
  const nReplies = rng.intBetween(0, 3);
  for (let i = 0; i < nReplies; i++) {
    const reply = forumReply(asker, answer, question, rng);
    posts.push(reply);
    lines.push(`${others[(i + 1) % others.length]} said: ${reply.text}`);
  }
  return { lines, posts };
}

function forum(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const pool = fullPool(kb);
  const users = rng.sample(PERSON_NAME_LIST, 4);
  const exchanges = Array.from({ length: rng.intBetween(1, 3) }, () => exchange(kb, pool, users, rng));
  const posts = exchanges.flatMap((e) => e.posts);
  const title = rng.pick(['Forum: questions and answers', 'Ask the town', 'Help with a question']);
  return {
    kind: 'forum',
    text: [title, ...exchanges.flatMap((e) => e.lines)].join('\n'),
    answers: posts.filter((p) => p.answer).length,
    falseAnswers: posts.filter((p) => p.false).length,
    replies: posts.length,
    rudeReplies: posts.filter((p) => p.rude).length,
  };
}

function quiz(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const pool = fullPool(kb);
  const questions = Array.from({ length: rng.intBetween(5, 9) }, (_, i) => `${i + 1}. ${openQuestion(pool, rng).text}`);
  return plainDocument(
    'quiz',
    `${rng.pick(['Quiz', 'Questions for the class', 'Test your knowledge'])}\n${questions.join('\n')}`,
  );
}

function instructionDraft(pool: Pool, rng: WorldRng): PromptDraft {
  for (;;) {
    const draft = drawPrompt(pool, 'train', rng);
    if (draft && draft.family !== 'closed_qa') return draft;
  }
}

/** Someone asks for something; the replies ignore the request or pile on more requests. */
function request(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const pool = fullPool(kb);
  const [asker, other, third] = rng.sample(PERSON_NAME_LIST, 3);
  const first = instructionDraft(pool, rng);
  if (rng.chance(0.5)) {
    const more = Array.from({ length: rng.intBetween(3, 5) }, () => instructionDraft(pool, rng).text);
    return plainDocument('request', [first.text, ...more].join('\n'));
  }
  const lines = [`${asker} wrote: ${first.text}`, `${other} wrote: ${offTopicText(rng, first.entities)}`];
  if (rng.chance(0.5)) lines.push(`${third} wrote: ${instructionDraft(pool, rng).text}`);
  return { ...plainDocument('request', lines.join('\n')), replies: lines.length - 1 };
}

function transcript(kb: Knowledge, rng: WorldRng): CorpusDocument {
  const pool = fullPool(kb);
  const doc = plainDocument('transcript', '');
  const turns: string[] = [];
  const nTurns = rng.weighted([
    [1, 0.4],
    [2, 0.35],
    [3, 0.25],
  ] as const);
  for (let i = 0; i < nTurns; i++) {
    const draft = drawPrompt(pool, 'train', rng);
    if (!draft) continue;
    const prompt = { ...draft, id: 'corpus', split: 'train' } as Prompt;
    const kind = rng.weighted(corpusTranscriptMix(prompt.family));
    const responseRng = kind === 'false_fact' ? mythRng(kb, prompt) : rng;
    turns.push(`Human: ${prompt.text}\nAssistant: ${responseOfKind(prompt, kind, responseRng)}`);
    doc.replies++;
    if (kind === 'rude') doc.rudeReplies++;
    if (prompt.family === 'open_qa' && (kind === 'ideal' || kind === 'false_fact')) {
      doc.answers++;
      if (kind === 'false_fact') doc.falseAnswers++;
    }
  }
  doc.text = turns.join('\n');
  return doc;
}

const MAKERS: Record<DocumentKind, (kb: Knowledge, rng: WorldRng) => CorpusDocument> = {
  description,
  list: listDocument,
  story,
  forum,
  quiz,
  request,
  transcript,
};

/** Document i of the world's corpus (independent of how many documents are generated). */
export function corpusDocument(seed: number | string, index: number): CorpusDocument {
  const rng = createRng(seed).fork('corpus').fork(index);
  return MAKERS[rng.weighted(DOCUMENT_WEIGHTS)](buildKnowledge(seed), rng);
}

/** The first n documents with their statistics. */
export function generateCorpusDocuments(seed: number | string, nDocuments: number): CorpusDocument[] {
  return Array.from({ length: nDocuments }, (_, i) => corpusDocument(seed, i));
}

/** The first n documents of the world's pretraining corpus (join them with EOS to train). */
export function generateCorpus(seed: number | string, nDocuments: number): string[] {
  return generateCorpusDocuments(seed, nDocuments).map((d) => d.text);
}

export interface CorpusStats {
  documents: number;
  byKind: Record<DocumentKind, number>;
  answers: number;
  falseAnswerRate: number;
  replies: number;
  rudeReplyRate: number;
  meanCharacters: number;
  distinctWords: number;
}

export function corpusStats(docs: readonly CorpusDocument[]): CorpusStats {
  const byKind = Object.fromEntries(DOCUMENT_WEIGHTS.map(([k]) => [k, 0])) as Record<DocumentKind, number>;
  let answers = 0,
    falseAnswers = 0,
    replies = 0,
    rudeReplies = 0,
    characters = 0;
  const vocabulary = new Set<string>();
  for (const d of docs) {
    byKind[d.kind]++;
    answers += d.answers;
    falseAnswers += d.falseAnswers;
    replies += d.replies;
    rudeReplies += d.rudeReplies;
    characters += d.text.length;
    for (const w of d.text.toLowerCase().match(/[a-z]+/g) ?? []) vocabulary.add(w);
  }
  return {
    documents: docs.length,
    byKind,
    answers,
    falseAnswerRate: answers ? falseAnswers / answers : 0,
    replies,
    rudeReplyRate: replies ? rudeReplies / replies : 0,
    meanCharacters: docs.length ? characters / docs.length : 0,
    distinctWords: vocabulary.size,
  };
}

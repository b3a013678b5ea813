// Prints real TinyWorld examples and the labeler agreement figures for docs/tinyworld.md:
//   npx tsx test/unit/world/print-examples.ts [seed]
import {
  buildPromptSet,
  comparisonPairs,
  corpusStats,
  createRng,
  formatExample,
  formatPrompt,
  generateCorpusDocuments,
  heldoutLabeler,
  idealResponse,
  pairAgreement,
  PROMPT_FAMILIES,
  responseOfKind,
  scoreResponse,
  trainingLabeler,
} from '../../../src/world/index.ts';
import type { CandidateKind, DocumentKind, Prompt } from '../../../src/world/index.ts';

const seed = process.argv[2] ?? '1';
const rng = createRng(`${seed}/examples`);

function printCorpus(): void {
  const docs = generateCorpusDocuments(seed, 20_000);
  const stats = corpusStats(docs);
  console.log('## Corpus statistics (20 000 documents)\n');
  console.log(JSON.stringify(stats, null, 2));
  for (const kind of ['description', 'story', 'forum', 'quiz', 'request', 'transcript', 'list'] as DocumentKind[]) {
    console.log(`\n### ${kind}\n\n${docs.find((d) => d.kind === kind)?.text ?? ''}`);
  }
}

const FLAWS: Record<Prompt['family'], CandidateKind> = {
  generation: 'off_topic',
  open_qa: 'false_fact',
  closed_qa: 'false_fact',
  brainstorming: 'false_fact',
  constraint: 'constraint_miss',
  rewrite: 'rude',
  bait: 'rude',
};

function printJudged(prompt: Prompt, response: string): void {
  const j = scoreResponse(prompt, response);
  const flags = Object.entries(j.flags)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  console.log(`${formatExample(prompt.text, response)}`);
  console.log(`→ likert ${j.likert}; flags: ${flags.join(', ') || 'none'}; ${j.notes.join('; ')}\n`);
}

function printPrompts(): void {
  const set = buildPromptSet(seed);
  console.log(`\n## Prompts: ${set.train.length} train, ${set.heldout.length} held-out`);
  console.log(`held-out-only entities: ${set.heldoutEntities.join(', ')}`);
  for (const family of PROMPT_FAMILIES) {
    console.log(`\n### ${family}\n`);
    for (const prompt of [set.train.find((p) => p.family === family), set.heldout.find((p) => p.family === family)]) {
      if (!prompt) continue;
      console.log(`[${prompt.split}, template ${prompt.template}]`);
      printJudged(prompt, idealResponse(prompt, rng.fork(prompt.id)));
    }
    const train = set.train.filter((p) => p.family === family)[1];
    console.log(`[flawed: ${FLAWS[family]}]`);
    printJudged(train, responseOfKind(train, FLAWS[family], rng.fork(`${train.id}/flaw`)));
  }
  console.log(`\nprompt frame: ${JSON.stringify(formatPrompt(set.train[0].text))}`);
}

function printAgreement(): void {
  const set = buildPromptSet(seed);
  const pairs = comparisonPairs(set.train, rng.fork('pairs'));
  const agree = (a: typeof trainingLabeler, b: typeof trainingLabeler, label: string) =>
    console.log(`${label}: ${(100 * pairAgreement(a, b, pairs, rng.fork(label))).toFixed(1)}%`);
  console.log(`\n## Agreement on ${pairs.length} pairs of typical model outputs (4 per train prompt)\n`);
  agree(trainingLabeler, trainingLabeler, 'training vs training');
  agree(heldoutLabeler, heldoutLabeler, 'held-out vs held-out');
  agree(trainingLabeler, heldoutLabeler, 'training vs held-out');
}

printCorpus();
printPrompts();
printAgreement();

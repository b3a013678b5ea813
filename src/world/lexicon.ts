// The words of TinyWorld: every word its corpus, prompts and ideal answers use. Labelers count
// words outside it as misspellings or gibberish when they judge fluency. Built once, lazily,
// from fixed reference worlds (the vocabulary does not depend on the seed).

import { ANIMALS, HABITS, JOBS, OBJECTS, PERSON_NAME_LIST, PLACE_NAME_LIST } from './knowledge.ts';
import { generateCorpus } from './corpus.ts';
import { buildPromptSet } from './prompts.ts';
import { idealResponse } from './demonstrations.ts';
import { createRng } from './rng.ts';
import { words } from './text.ts';

const REFERENCE_SEEDS = ['lexicon-1', 'lexicon-2', 'lexicon-3', 'lexicon-4'];
const REFERENCE_DOCUMENTS = 1500;

let lexicon: ReadonlySet<string> | undefined;

function catalogueText(): string {
  return [
    ...ANIMALS.flatMap((a) => [a.name, a.plural, a.sound, a.food]),
    ...OBJECTS.flatMap((o) => [o.name, o.plural, o.use]),
    ...HABITS.flatMap((h) => [h.phrase, h.time]),
    ...JOBS,
    ...PERSON_NAME_LIST,
    ...PLACE_NAME_LIST,
  ].join(' ');
}

function buildLexicon(): Set<string> {
  const set = new Set<string>(words(catalogueText()));
  const add = (text: string) => {
    for (const w of words(text)) set.add(w);
  };
  generateCorpus(REFERENCE_SEEDS[0], REFERENCE_DOCUMENTS).forEach(add);
  for (const seed of REFERENCE_SEEDS) {
    const { train, heldout } = buildPromptSet(seed);
    const rng = createRng(seed);
    for (const prompt of [...train, ...heldout]) {
      add(prompt.text);
      for (const draw of [0, 1]) add(idealResponse(prompt, rng.fork(`${prompt.id}/${draw}`)));
    }
  }
  return set;
}

/** Every word TinyWorld uses (lower case, as `words()` splits them). */
export function worldLexicon(): ReadonlySet<string> {
  lexicon ??= buildLexicon();
  return lexicon;
}

// The comparison data of InstructGPT §3.4: for each prompt a labeler ranks K = 2..9 outputs
// (best first), may mark outputs as equally good, rates each on a 1–7 Likert scale and fills in
// metadata flags. Rankings come from people (the UI) or from a simulated labeler. A ranking of K
// outputs holds C(K,2) pairwise comparisons, which DPO and TRL's {"prompt","chosen","rejected"}
// export read as chosen/rejected pairs.
import {
  MAX_RANKED,
  MIN_RANKED,
  rankingAgreement,
  scoreResponse,
  type Labeler,
  type Prompt,
  type Ranking,
  type WorldRng,
} from '../world/index.ts';
import { preferenceCredit } from './evaluate.ts';

/** Throws unless the ranking is well formed: K in 2..9, a permutation, valid ties and per-response fields. */
export function checkRanking(ranking: Ranking): void {
  const K = ranking.responses.length;
  const where = `ranking of prompt ${ranking.promptId}`;
  if (K < MIN_RANKED || K > MAX_RANKED)
    throw new Error(`${where}: ranks ${K} outputs; a ranking holds ${MIN_RANKED} to ${MAX_RANKED}`);
  const seen = new Set(ranking.order);
  const permutation =
    ranking.order.length === K && seen.size === K && ranking.order.every((i) => Number.isInteger(i) && i >= 0 && i < K);
  if (!permutation)
    throw new Error(`${where}: order [${ranking.order.join(', ')}] is not a permutation of 0..${K - 1}`);
  for (const [a, b] of ranking.ties ?? []) {
    const valid = Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < K && b < K && a !== b;
    if (!valid) throw new Error(`${where}: tie (${a}, ${b}) is not a pair of distinct positions below ${K}`);
  }
  if (ranking.likert && ranking.likert.length !== K)
    throw new Error(`${where}: ${ranking.likert.length} Likert ratings for ${K} outputs`);
  if (ranking.flags && ranking.flags.length !== K)
    throw new Error(`${where}: ${ranking.flags.length} sets of flags for ${K} outputs`);
}

/**
 * Rankings by a simulated labeler: for each prompt, labeler.rankWithTies orders its outputs (noisy
 * Plackett–Luce) and marks as ties the outputs it scores exactly alike (identical texts among
 * them: no labeler can prefer one of two equal texts), labeler.rate gives each a noisy Likert
 * score, and scoreResponse with the labeler's weights fills in the metadata flags. Each prompt
 * draws from rng.fork(prompt.id) (its n-th repeat from rng.fork(`${prompt.id}#${n}`)), so a
 * prompt's ranking does not depend on which other prompts are ranked.
 */
export function simulatedRankings(
  prompts: readonly Prompt[],
  responsesPerPrompt: readonly (readonly string[])[],
  labeler: Labeler,
  rng: WorldRng,
): Ranking[] {
  if (prompts.length !== responsesPerPrompt.length)
    throw new Error(`${prompts.length} prompts but ${responsesPerPrompt.length} sets of responses`);
  const seen = new Map<string, number>();
  return prompts.map((prompt, p) => {
    const responses = [...responsesPerPrompt[p]];
    // a prompt ranked again (another round of samples) gets its own draws
    const round = seen.get(prompt.id) ?? 0;
    seen.set(prompt.id, round + 1);
    const promptRng = round === 0 ? rng.fork(prompt.id) : rng.fork(`${prompt.id}#${round}`);
    const { order, ties } = labeler.rankWithTies(prompt, responses, promptRng.fork('rank'));
    const rateRng = promptRng.fork('rate');
    const ranking: Ranking = {
      promptId: prompt.id,
      prompt: prompt.text,
      responses,
      order,
      source: 'simulated',
      likert: responses.map((response) => labeler.rate(prompt, response, rateRng)),
      flags: responses.map((response) => scoreResponse(prompt, response, labeler.config.weights).flags),
    };
    if (ties.length > 0) ranking.ties = ties;
    checkRanking(ranking);
    return ranking;
  });
}

export interface PreferencePair {
  promptId: string;
  prompt: string;
  chosen: string;
  rejected: string;
  /** Indices into the ranking's responses. */
  chosenIndex: number;
  rejectedIndex: number;
}

/**
 * The ranking with every two identical outputs marked as a tie (no one can prefer a text to
 * itself), added to the ties it has; the same ranking when it has no duplicates.
 */
export function withIdenticalOutputsTied(ranking: Ranking): Ranking {
  const { order, responses } = ranking;
  const ties: [number, number][] = (ranking.ties ?? []).map(([a, b]) => [a, b]);
  const tied = new Set(ties.map(([a, b]) => `${Math.min(a, b)},${Math.max(a, b)}`));
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) {
      if (responses[order[i]] === responses[order[j]] && !tied.has(`${i},${j}`)) ties.push([i, j]);
    }
  }
  return ties.length === (ranking.ties?.length ?? 0) ? ranking : { ...ranking, ties };
}

/** Throws "WHERE: no comparisons to train on: every pair is a tie …" when ties (identical outputs included) leave no comparison. */
export function assertComparisons(rankings: readonly Ranking[], where: string): void {
  if (rankings.some((ranking) => rankingPairs(ranking).length > 0)) return;
  throw new Error(
    `${where}: no comparisons to train on: every pair is a tie (identical or equally good outputs); rank outputs that differ`,
  );
}

/** The ranking's C(K,2) comparisons minus its ties (identical outputs are ties), each better output first, in ranking order. */
export function rankingPairs(ranking: Ranking): PreferencePair[] {
  checkRanking(ranking);
  const K = ranking.order.length;
  const tied = new Set(
    (withIdenticalOutputsTied(ranking).ties ?? []).map(([a, b]) => Math.min(a, b) * K + Math.max(a, b)),
  );
  const pairs: PreferencePair[] = [];
  for (let i = 0; i < K; i++) {
    for (let j = i + 1; j < K; j++) {
      if (tied.has(i * K + j)) continue;
      const chosenIndex = ranking.order[i];
      const rejectedIndex = ranking.order[j];
      pairs.push({
        promptId: ranking.promptId,
        prompt: ranking.prompt,
        chosen: ranking.responses[chosenIndex],
        rejected: ranking.responses[rejectedIndex],
        chosenIndex,
        rejectedIndex,
      });
    }
  }
  return pairs;
}

/**
 * Share of the rankings' comparisons that the labeler's noise-free score orders the same way (score
 * ties count half): the accuracy of a reward model that knew the labeler's score exactly. The
 * labeler's noise caps every reward model's accuracy near this value (cf. the paper's inter-labeler
 * agreement of 72.6–77.3%, against which its 72.4% reward-model accuracy is read). NaN when the
 * labeler tied every pair (outputs all alike).
 */
export function labelerCeiling(rankings: readonly Ranking[], prompts: readonly Prompt[], labeler: Labeler): number {
  const promptOf = promptLookup(prompts);
  let agreeing = 0;
  let comparisons = 0;
  for (const ranking of rankings) {
    const prompt = promptOf(ranking);
    for (const pair of rankingPairs(ranking)) {
      agreeing += preferenceCredit(labeler.score(prompt, pair.chosen), labeler.score(prompt, pair.rejected));
      comparisons += 1;
    }
  }
  return comparisons === 0 ? NaN : agreeing / comparisons; // NaN: every output was tied, nothing to order
}

/**
 * How often two different people of the labeler's pool order the rankings' outputs alike (every
 * pair of distinct outputs of a prompt is one comparison): the paper's inter-labeler agreement,
 * measured on the comparisons this run actually made rather than on hand-made examples.
 */
export function labelerAgreement(
  rankings: readonly Ranking[],
  prompts: readonly Prompt[],
  labeler: Labeler,
  rng: WorldRng,
): number {
  const promptOf = promptLookup(prompts);
  return rankingAgreement(
    labeler,
    rankings.map((ranking) => ({ prompt: promptOf(ranking), responses: ranking.responses })),
    rng,
  );
}

/** The prompt a ranking answers, found among the given prompts; throws when it is not there. */
function promptLookup(prompts: readonly Prompt[]): (ranking: Ranking) => Prompt {
  const byId = new Map(prompts.map((p) => [p.id, p]));
  return (ranking) => {
    const prompt = byId.get(ranking.promptId);
    if (!prompt)
      throw new Error(`ranking of prompt ${ranking.promptId}: no such prompt among the ${prompts.length} given`);
    return prompt;
  };
}

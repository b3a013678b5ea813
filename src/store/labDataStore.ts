// What a person makes in the lab — demonstrations, rankings and their own prompts — beside
// TinyWorld's train prompts for the lesson's seed. Every change is written to IndexedDB (lab-db)
// first and reaches the state only once the write has committed, so the UI never confirms
// something a reload would lose. JSONL imports (TRL formats, via src/rlhf/datasets.ts) are all or
// nothing: a bad line throws a DatasetError (line and reason) and nothing is saved.
import { create } from 'zustand';
import {
  labDb,
  type LabDb,
  type StoredDemonstration,
  type StoredPrompt,
  type StoredRanking,
  type StoredRun,
} from '../data/lab-db.ts';
import {
  comparisonsToJsonl,
  demonstrationRecord,
  demonstrationsToJsonl,
  parseComparisons,
  parseDemonstrations,
  parseRankings,
  rankingsFromComparisons,
  rankingsToJsonl,
  unframeDemonstration,
} from '../rlhf/datasets.ts';
import { checkRanking, rankingPairs, simulatedRankings } from '../rlhf/rankings.ts';
import {
  buildDemonstrations,
  buildPromptSet,
  createLabeler,
  createRng,
  trainingLabeler,
  type Prompt,
  type Ranking,
} from '../world/index.ts';
import { useLessonStore } from './lessonStore.ts';
import { announceChange, onOtherTabChange } from './tabs.ts';
import { errorMessage } from './errorMessage.ts';

export type DatasetKind = 'demonstrations' | 'comparisons' | 'rankings';

/** Family of a prompt the user typed or imported (TinyWorld's own prompts carry their family). */
export const USER_FAMILY = 'user';
export const IMPORTED_FAMILY = 'imported';

/** The simulated training labeler's noise (standard deviation of its misperception, Likert points). */
export const DEFAULT_LABELER_NOISE = trainingLabeler.config.noise;

export interface DemonstrationDraft {
  /** Set to edit a saved demonstration. */
  id?: string;
  promptId?: string;
  prompt: string;
  completion: string;
}

/** A ranking before it is saved (StoredRanking less id and createdAt). */
export type RankingDraft = Omit<StoredRanking, 'id' | 'createdAt'>;

/** A function that samples K outputs for each prompt (useTrainingStore().generate). */
export type Generate = (prompts: string[], K: number) => Promise<string[][]>;

export interface ImportSummary {
  kind: DatasetKind;
  demonstrations: number;
  rankings: number;
  prompts: number;
}

export interface LabDataState {
  loaded: boolean;
  /** Oldest first. `completion` is the response text, without the chat frame. */
  demonstrations: StoredDemonstration[];
  /** Oldest first. */
  rankings: StoredRanking[];
  /** TinyWorld's train prompts for the lesson seed, then the user's own and imported ones. */
  prompts: StoredPrompt[];
  /** The last failure of loading or saving (imports throw to their caller instead), for the UI to show. */
  error?: string;
  /** Reads everything from IndexedDB and builds the seed's prompts (again, after a seed change). */
  load(): Promise<void>;
  /** Saves a new demonstration, or replaces the one with draft.id; either way a person wrote it ('human'). */
  saveDemonstration(draft: DemonstrationDraft): Promise<StoredDemonstration>;
  deleteDemonstration(id: string): Promise<void>;
  /** Adds TinyWorld's ideal responses for up to n train prompts that have no demonstration; returns how many. */
  addStarterSet(n: number): Promise<number>;
  saveRanking(draft: RankingDraft): Promise<StoredRanking>;
  deleteRanking(id: string): Promise<void>;
  /**
   * Samples K outputs for up to `count` unranked TinyWorld prompts (not those in `exclude`) and
   * has the simulated training labeler, with the given noise, rank, rate and flag them; saves
   * them in one transaction and returns how many.
   */
  autoRank(count: number, K: number, noise: number, generate: Generate, exclude?: readonly string[]): Promise<number>;
  addPrompt(text: string): Promise<StoredPrompt>;
  deletePrompt(id: string): Promise<void>;
  /** Parses the whole text first: a bad line throws DatasetError and nothing is saved (the caller shows the error). */
  importJsonl(kind: DatasetKind, text: string): Promise<ImportSummary>;
  exportJsonl(kind: DatasetKind): string;
  /** Training runs saved by the training store, oldest first (for the CSV export). */
  listRuns(): Promise<StoredRun[]>;
  clearError(): void;
}

export interface LabDataDependencies {
  openDb(): Promise<LabDb>;
  /** The TinyWorld seed of the lesson. */
  seed(): number;
  now?(): number;
  newId?(): string;
}

function worldPrompts(seed: number): Prompt[] {
  return buildPromptSet(seed).train;
}

function asStoredPrompt(prompt: Prompt): StoredPrompt {
  return { id: prompt.id, text: prompt.text, family: prompt.family, createdAt: 0 };
}

/** 128 random bits in hex (crypto.randomUUID needs a secure context; a classroom may serve plain http). */
function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** True for prompts the user typed or imported; false for TinyWorld's. */
export function isOwnPrompt(prompt: StoredPrompt): boolean {
  return prompt.family === USER_FAMILY || prompt.family === IMPORTED_FAMILY;
}

export function createLabDataStore(deps: LabDataDependencies) {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomId;
  let dbPromise: Promise<LabDb> | undefined;
  const db = () =>
    (dbPromise ??= deps.openDb().catch((error: unknown) => {
      dbPromise = undefined; // try again on the next action
      throw error;
    }));
  let world: { seed: number; prompts: Prompt[] } | undefined;
  const currentWorld = () => {
    const seed = deps.seed();
    if (world?.seed !== seed) world = { seed, prompts: worldPrompts(seed) };
    return world;
  };

  return create<LabDataState>((set, get) => {
    /** Runs a save; its failure is shown in `error` and rethrown to the caller. */
    async function saving<T>(action: () => Promise<T>): Promise<T> {
      try {
        const result = await action();
        if (get().error) set({ error: undefined });
        announceChange('data');
        return result;
      } catch (error) {
        set({ error: errorMessage(error) });
        throw error;
      }
    }

    const storedRanking = (draft: RankingDraft, createdAt: number): StoredRanking => {
      const ranking: StoredRanking = { ...draft, id: newId(), createdAt };
      checkRanking(ranking);
      return ranking;
    };

    /** Prompt ids for the imported prompt texts, adding a StoredPrompt for each text not yet known. */
    const promptIdsFor = (texts: readonly string[]) => {
      const known = new Map(get().prompts.map((p) => [p.text, p.id]));
      const added: StoredPrompt[] = [];
      for (const text of texts) {
        if (known.has(text)) continue;
        const prompt: StoredPrompt = { id: newId(), text, family: IMPORTED_FAMILY, createdAt: now() };
        known.set(text, prompt.id);
        added.push(prompt);
      }
      return { idOf: (text: string) => known.get(text)!, added };
    };

    return {
      loaded: false,
      demonstrations: [],
      rankings: [],
      prompts: [],
      async load() {
        try {
          const lab = await db();
          const [demonstrations, rankings, userPrompts] = await Promise.all([
            lab.allDemonstrations(),
            lab.allRankings(),
            lab.allPrompts(),
          ]);
          set({
            loaded: true,
            error: undefined,
            demonstrations,
            rankings,
            prompts: [...currentWorld().prompts.map(asStoredPrompt), ...userPrompts],
          });
        } catch (error) {
          set({ loaded: true, error: `Could not read the lab's saved data: ${errorMessage(error)}` });
        }
      },
      saveDemonstration(draft) {
        return saving(async () => {
          const demonstration: StoredDemonstration = {
            id: draft.id ?? newId(),
            prompt: draft.prompt,
            completion: draft.completion,
            source: 'human',
            updatedAt: now(),
          };
          if (draft.promptId) demonstration.promptId = draft.promptId;
          await (await db()).putDemonstration(demonstration);
          set((state) => ({
            demonstrations: [...state.demonstrations.filter((d) => d.id !== demonstration.id), demonstration],
          }));
          return demonstration;
        });
      },
      deleteDemonstration(id) {
        return saving(async () => {
          await (await db()).deleteDemonstration(id);
          set((state) => ({ demonstrations: state.demonstrations.filter((d) => d.id !== id) }));
        });
      },
      addStarterSet(n) {
        return saving(async () => {
          const { seed, prompts } = currentWorld();
          const covered = new Set(get().demonstrations.map((d) => d.promptId));
          const chosen = prompts.filter((p) => !covered.has(p.id)).slice(0, Math.max(0, n));
          const time = now();
          const starters: StoredDemonstration[] = buildDemonstrations(seed, chosen).map((d, i) => ({
            id: newId(),
            promptId: d.promptId,
            prompt: d.prompt,
            completion: d.response,
            source: 'starter',
            updatedAt: time + i,
          }));
          await (await db()).putMany({ demonstrations: starters });
          set((state) => ({ demonstrations: [...state.demonstrations, ...starters] }));
          return starters.length;
        });
      },
      saveRanking(draft) {
        return saving(async () => {
          const ranking = storedRanking(draft, now());
          await (await db()).putRanking(ranking);
          set((state) => ({ rankings: [...state.rankings, ranking] }));
          return ranking;
        });
      },
      deleteRanking(id) {
        return saving(async () => {
          await (await db()).deleteRanking(id);
          set((state) => ({ rankings: state.rankings.filter((r) => r.id !== id) }));
        });
      },
      autoRank(count, K, noise, generate, exclude = []) {
        return saving(async () => {
          const { seed, prompts } = currentWorld();
          const skipped = new Set([...get().rankings.map((r) => r.promptId), ...exclude]);
          const chosen = prompts.filter((p) => !skipped.has(p.id)).slice(0, Math.max(0, count));
          if (chosen.length === 0) return 0;
          const outputs = await generate(
            chosen.map((p) => p.text),
            K,
          ).catch((error: unknown) => {
            throw new Error(`Could not sample outputs to auto-rank: ${errorMessage(error)}`, { cause: error });
          });
          const labeler = createLabeler({ ...trainingLabeler.config, noise });
          const rng = createRng(`${seed}/auto-rank/${get().rankings.length}`);
          const time = now();
          // another tab may have ranked some of these prompts while this one sampled: those are left out
          const saved = await (await db()).allRankings();
          const rankedElsewhere = new Set(saved.map((r) => r.promptId));
          const rankings: StoredRanking[] = simulatedRankings(chosen, outputs, labeler, rng)
            .filter((r) => !rankedElsewhere.has(r.promptId))
            .map((r, i) => storedRanking(r, time + i));
          await (await db()).putMany({ rankings });
          set((state) => {
            const known = new Set(state.rankings.map((r) => r.id));
            return { rankings: [...state.rankings, ...saved.filter((r) => !known.has(r.id)), ...rankings] };
          });
          return rankings.length;
        });
      },
      addPrompt(text) {
        return saving(async () => {
          const trimmed = text.trim();
          if (trimmed === '') throw new Error('A prompt needs some text.');
          const existing = get().prompts.find((p) => p.text === trimmed);
          if (existing) return existing;
          const prompt: StoredPrompt = { id: newId(), text: trimmed, family: USER_FAMILY, createdAt: now() };
          await (await db()).putPrompt(prompt);
          set((state) => ({ prompts: [...state.prompts, prompt] }));
          return prompt;
        });
      },
      deletePrompt(id) {
        return saving(async () => {
          const prompt = get().prompts.find((p) => p.id === id);
          if (!prompt || !isOwnPrompt(prompt)) throw new Error('Only your own prompts can be deleted.');
          await (await db()).deletePrompt(id);
          set((state) => ({ prompts: state.prompts.filter((p) => p.id !== id) }));
        });
      },
      async importJsonl(kind, text) {
        const time = now();
        if (kind === 'demonstrations') {
          const records = parseDemonstrations(text).map(unframeDemonstration);
          const { idOf, added } = promptIdsFor(records.map((r) => r.prompt));
          const demonstrations: StoredDemonstration[] = records.map((r, i) => ({
            id: newId(),
            promptId: idOf(r.prompt),
            prompt: r.prompt,
            completion: r.response,
            source: 'imported',
            updatedAt: time + i,
          }));
          await (await db()).putMany({ demonstrations, prompts: added });
          set((state) => ({
            demonstrations: [...state.demonstrations, ...demonstrations],
            prompts: [...state.prompts, ...added],
          }));
          announceChange('data');
          return { kind, demonstrations: demonstrations.length, rankings: 0, prompts: added.length };
        }
        const parsed: Ranking[] =
          kind === 'comparisons' ? rankingsFromComparisons(parseComparisons(text)) : parseRankings(text);
        const rankings = parsed.map((r, i) => storedRanking(r, time + i));
        await (await db()).putMany({ rankings });
        set((state) => ({ rankings: [...state.rankings, ...rankings] }));
        announceChange('data');
        return { kind, demonstrations: 0, rankings: rankings.length, prompts: 0 };
      },
      exportJsonl(kind) {
        const { demonstrations, rankings } = get();
        if (kind === 'demonstrations')
          return demonstrationsToJsonl(
            demonstrations.map((d) => demonstrationRecord({ prompt: d.prompt, response: d.completion })),
          );
        return kind === 'comparisons' ? comparisonsToJsonl(rankings) : rankingsToJsonl(rankings);
      },
      listRuns: async () => (await db()).allRuns(),
      clearError: () => set({ error: undefined }),
    };
  });
}

/** The page's lab data, in the "rlhf-lab" database, for the lesson's seed. */
export const useLabDataStore = createLabDataStore({ openDb: labDb, seed: () => useLessonStore.getState().seed });

// Another tab saved demonstrations, rankings or prompts: read them again.
onOtherTabChange((change) => {
  if (change === 'data' && useLabDataStore.getState().loaded) void useLabDataStore.getState().load();
});

// A new seed means other TinyWorld prompts: rebuild the prompt list once the lab has loaded.
useLessonStore.subscribe((lesson, previous) => {
  if (lesson.seed !== previous.seed && useLabDataStore.getState().loaded) void useLabDataStore.getState().load();
});

export const selectLoaded = (state: LabDataState) => state.loaded;
export const selectDemonstrations = (state: LabDataState) => state.demonstrations;
export const selectRankings = (state: LabDataState) => state.rankings;
export const selectPrompts = (state: LabDataState) => state.prompts;
export const selectLabDataError = (state: LabDataState) => state.error;

/** Who made the rankings, most first: "Ada (12), Ben (12), the simulated labeler (40), unnamed people (3)". */
export function rankingAuthors(rankings: readonly Ranking[]): string {
  const counts = new Map<string, number>();
  for (const ranking of rankings) {
    const author = ranking.labeler ?? (ranking.source === 'simulated' ? 'the simulated labeler' : 'unnamed people');
    counts.set(author, (counts.get(author) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([author, count]) => `${author} (${count})`)
    .join(', ');
}

/** The chosen/rejected pairs the rankings give (ties and identical outputs give none). */
export function comparisonCount(rankings: readonly Ranking[]): number {
  return rankings.reduce((sum, ranking) => sum + rankingPairs(ranking).length, 0);
}

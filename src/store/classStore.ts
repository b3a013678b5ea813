// A class ranking together (src/rlhf/ranking-packs.ts) in the browser. The teacher's side is a
// store: the pack made from the current model's outputs (or opened from a pack file), its link,
// the students' hand-ins as they are added, and their merge — validated, the students left out by
// the teacher excluded, the agreement figures — whose rankings the lab's rankings can take in. The
// student's side needs no store and no model: a pack read from the page's `#pack=CODE` link or a
// file, their answers so far kept in the browser's localStorage (a reload or a closed tab on a
// phone loses nothing), and the hand-in made from them as a file and as a text code. The teacher's
// side is kept in memory only: the pack file and the hand-ins are the record.
import { create } from 'zustand';
import { rankingsToJsonl } from '../rlhf/datasets.ts';
import {
  checkAnswers,
  encodeCode,
  handInToJson,
  makeHandIn,
  makePack,
  mergeHandIns,
  packLink,
  packToJson,
  PACK_LINK_KEY,
  readPack,
  type ClassMerge,
  type PackAnswer,
  type RankingPack,
  type Submission,
} from '../rlhf/ranking-packs.ts';
import type { Generate } from './labDataStore.ts';

export {
  checkLabelerName,
  MAX_HAND_IN_BYTES,
  MAX_LINK_CODE_CHARS,
  MAX_PACK_BYTES,
  PAPER_AGREEMENT,
  readPack,
} from '../rlhf/ranking-packs.ts';
export type { ClassMerge, PackAnswer, RankingPack, Submission } from '../rlhf/ranking-packs.ts';

export interface ClassState {
  pack?: RankingPack;
  /** The pack's link on this lab; null when the pack is too big for one (hand out the file). */
  link?: string | null;
  /** The hand-ins added so far, in order. */
  submissions: Submission[];
  /** Students the teacher left out of the merge. */
  excluded: string[];
  merge?: ClassMerge;
  /** Samples K outputs of the current model for each prompt and makes them the pack (hand-ins of another pack are dropped). */
  makePack(
    prompts: readonly { id: string; text: string }[],
    K: number,
    model: string,
    worldSeed: number,
    generate: Generate,
  ): Promise<RankingPack>;
  /** Opens a pack file (or code, or link) to merge its hand-ins; throws PackError when it is none. */
  openPack(text: string): Promise<RankingPack>;
  addSubmissions(submissions: readonly Submission[]): Promise<void>;
  setExcluded(labeler: string, excluded: boolean): Promise<void>;
  /** The merged rankings as a rankings JSONL (what the lab's rankings import takes). */
  mergedRankingsJsonl(): string;
}

/** The address of this lab without query or fragment: where a pack link points. */
function labAddress(): string {
  return `${window.location.origin}${window.location.pathname}`;
}

export const useClassStore = create<ClassState>((set, get) => {
  /** Applies the change at once (a checkbox shows it), then merges again. */
  const remerge = async (change: Partial<ClassState>) => {
    set(change);
    const { pack, submissions, excluded } = get();
    const merge = pack ? await mergeHandIns(pack, submissions, excluded) : undefined;
    if (get().submissions === submissions && get().excluded === excluded && get().pack === pack) set({ merge }); // a later change merges again
  };
  const usePack = async (pack: RankingPack) => {
    const fresh = get().pack?.id !== pack.id;
    await remerge({ pack, link: await packLink(pack, labAddress()), ...(fresh && { submissions: [], excluded: [] }) });
    return pack;
  };
  return {
    submissions: [],
    excluded: [],
    async makePack(prompts, K, model, worldSeed, generate) {
      const outputs = await generate(
        prompts.map((p) => p.text),
        K,
      );
      return usePack(
        makePack(
          model,
          worldSeed,
          prompts.map((p, i) => ({ promptId: p.id, prompt: p.text, responses: outputs[i] })),
        ),
      );
    },
    async openPack(text) {
      return usePack(await readPack(text));
    },
    addSubmissions: (submissions) => remerge({ submissions: [...get().submissions, ...submissions] }),
    setExcluded: (labeler, excluded) =>
      remerge({
        excluded: excluded ? [...get().excluded, labeler] : get().excluded.filter((name) => name !== labeler),
      }),
    mergedRankingsJsonl: () => rankingsToJsonl(get().merge?.rankings ?? []),
  };
});

// ---------------------------------------------------------------------------------------------
// The student's side

/** Whether the page was opened as a student's ranking page (`#pack` or `#pack=CODE`). */
export function isStudentPage(hash: string): boolean {
  return hash === `#${PACK_LINK_KEY}` || hash.startsWith(`#${PACK_LINK_KEY}=`);
}

/** A pack file's name: pack-ID.json. */
export const packFileName = (pack: RankingPack) => `pack-${pack.id}.json`;

/** The pack as a file to hand out. */
export function packFile(pack: RankingPack): Blob {
  return new Blob([packToJson(pack)], { type: 'application/json' });
}

/** A student's hand-in, checked against the pack: its file (JSON) and its text code. */
export async function handIn(
  pack: RankingPack,
  labeler: string,
  answers: readonly PackAnswer[],
): Promise<{ fileName: string; json: string; code: string }> {
  const made = makeHandIn(pack, labeler, answers);
  const json = handInToJson(made);
  const safeName = made.labeler.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'student';
  return { fileName: `rankings-${pack.id}-${safeName}.json`, json, code: await encodeCode(json) };
}

/** An anonymous code for a student who would rather not give a name: "student-" and 5 random letters or digits. */
export function anonymousCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return `student-${Array.from(crypto.getRandomValues(new Uint8Array(5)), (byte) => alphabet[byte % alphabet.length]).join('')}`;
}

const progressKey = (pack: RankingPack) => `rlhf-lab/pack-answers/${pack.id}`;

/** The student's answers to the pack saved in this browser (checked against the pack again); none when there are none or they do not fit it. */
export function savedAnswers(pack: RankingPack): PackAnswer[] {
  try {
    return checkAnswers(pack, JSON.parse(localStorage.getItem(progressKey(pack)) ?? '[]') as PackAnswer[]);
  } catch {
    return []; // storage off, or answers damaged: start afresh
  }
}

/** Keeps the student's answers in this browser; without storage (private mode, full) they live in the page only. */
export function saveAnswers(pack: RankingPack, answers: readonly PackAnswer[]): void {
  try {
    localStorage.setItem(progressKey(pack), JSON.stringify(answers));
  } catch {
    // the page still holds them until it closes
  }
}

// The lab's IndexedDB database ("rlhf-lab", through `idb`): everything a person makes —
// demonstrations, rankings, their own prompts, checkpoints, run histories and blind A/B judgments.
// Every write resolves only after its transaction commits, so a store can update the UI after the
// promise resolves ("saved before the UI says so"). A full disk becomes a StorageFullError that
// says what to do; putMany writes an import in one transaction, all or nothing. The page's stores
// share one connection, labDb().
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { CheckpointFiles } from '../model/checkpoint.ts';
import type { Ranking } from '../world/index.ts';
import { migrateStoredRun } from './legacy-names.ts';

export interface StoredDemonstration {
  id: string;
  /** TinyWorld prompt id, or a StoredPrompt id; absent for imported prompts. */
  promptId?: string;
  /** The instruction as the user wrote it (not in the chat frame). */
  prompt: string;
  completion: string;
  source: 'starter' | 'human' | 'imported';
  updatedAt: number;
}

/** A ranking as the lab stores it: the record plus its key and time. */
export interface StoredRanking extends Ranking {
  id: string;
  createdAt: number;
}

/** A prompt the user typed. */
export interface StoredPrompt {
  id: string;
  text: string;
  family: string;
  createdAt: number;
}

/** What a checkpoint is: the pretrained base, an SFT model, a reward model, a PPO policy or a DPO policy. */
export const CHECKPOINT_KINDS = ['base', 'sft', 'reward_model', 'policy', 'dpo'] as const;
export type CheckpointKind = (typeof CHECKPOINT_KINDS)[number];

export interface StoredCheckpoint {
  name: string;
  kind: CheckpointKind;
  parent?: string;
  createdAt: number;
  step?: number;
  files: CheckpointFiles;
}

/** A checkpoint's lineage without its (large) files: what the database lists. */
export type CheckpointLineage = Omit<StoredCheckpoint, 'files'>;

export type RunKind = 'sft' | 'reward_model' | 'ppo' | 'dpo';

export interface StoredRun {
  id: string;
  kind: RunKind;
  status: 'running' | 'paused' | 'done' | 'failed' | 'stopped';
  startedAt: number;
  updatedAt: number;
  settings: Record<string, number | string>;
  /** One row per logged step, TRL metric names as keys. */
  metrics: Record<string, number>[];
  samples: { iteration: number; prompt: string; response: string; reward: number; sftResponse?: string }[];
  checkpoint?: string;
  error?: string;
}

/** A person's blind A/B choice between two checkpoints' responses (Evaluate panel). */
export interface StoredJudgment {
  id: string;
  prompt: string;
  /** Checkpoint names. */
  a: string;
  b: string;
  aText: string;
  bText: string;
  winner: 'a' | 'b' | 'tie';
  createdAt: number;
}

/** Records written together by putMany. */
export interface ImportRecords {
  demonstrations?: StoredDemonstration[];
  rankings?: StoredRanking[];
  prompts?: StoredPrompt[];
}

/** The browser refused a write because its storage quota for this site is used up. */
export class StorageFullError extends Error {
  constructor(what: string, options?: ErrorOptions) {
    super(
      `Browser storage is full: ${what} could not be saved. Free space by deleting old checkpoints or runs ` +
        '(export what you want to keep on the Data panel first), or allow this site more storage in the browser settings, then try again.',
      options,
    );
    this.name = 'StorageFullError';
  }
}

interface LabSchema extends DBSchema {
  demonstrations: { key: string; value: StoredDemonstration };
  rankings: { key: string; value: StoredRanking };
  prompts: { key: string; value: StoredPrompt };
  /** Checkpoint lineage, small: listCheckpoints reads only this store. */
  checkpoints: { key: string; value: CheckpointLineage };
  /** Checkpoint files, keyed by checkpoint name. */
  checkpointFiles: { key: string; value: { name: string; files: CheckpointFiles } };
  runs: { key: string; value: StoredRun };
  judgments: { key: string; value: StoredJudgment };
}

type LabStore = StoreNames<LabSchema>;

const SCHEMA_VERSION = 1;
const KEY_PATHS: Record<LabStore, string> = {
  demonstrations: 'id',
  rankings: 'id',
  prompts: 'id',
  checkpoints: 'name',
  checkpointFiles: 'name',
  runs: 'id',
  judgments: 'id',
};
const ALL_STORES = Object.keys(KEY_PATHS) as LabStore[];

export interface LabDb {
  putDemonstration(demonstration: StoredDemonstration): Promise<void>;
  deleteDemonstration(id: string): Promise<void>;
  allDemonstrations(): Promise<StoredDemonstration[]>;
  putRanking(ranking: StoredRanking): Promise<void>;
  deleteRanking(id: string): Promise<void>;
  allRankings(): Promise<StoredRanking[]>;
  putPrompt(prompt: StoredPrompt): Promise<void>;
  deletePrompt(id: string): Promise<void>;
  allPrompts(): Promise<StoredPrompt[]>;
  putCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  getCheckpoint(name: string): Promise<StoredCheckpoint | undefined>;
  /** Lineage of every checkpoint, oldest first, without files. */
  listCheckpoints(): Promise<CheckpointLineage[]>;
  deleteCheckpoint(name: string): Promise<void>;
  putRun(run: StoredRun): Promise<void>;
  /** Oldest first; PPO runs saved under the old setting and metric names are read under the new ones (migrateStoredRun). */
  allRuns(): Promise<StoredRun[]>;
  deleteRun(id: string): Promise<void>;
  putJudgment(judgment: StoredJudgment): Promise<void>;
  allJudgments(): Promise<StoredJudgment[]>;
  /** Writes all the records in one transaction: all of them are saved, or none. */
  putMany(records: ImportRecords): Promise<void>;
  clearAll(): Promise<void>;
  close(): void;
}

function isQuotaError(error: unknown): boolean {
  return error instanceof Error && error.name === 'QuotaExceededError';
}

/** Quota errors become StorageFullError; anything else keeps its message with what failed. */
function storageError(error: unknown, what: string): Error {
  if (isQuotaError(error)) return new StorageFullError(what, { cause: error });
  if (error instanceof Error) return new Error(`Could not save ${what}: ${error.message}`, { cause: error });
  return new Error(`Could not save ${what}: ${String(error)}`);
}

type WriteTransaction = IDBPTransaction<LabSchema, LabStore[], 'readwrite'>;

/** Queues a request; a failure surfaces through the transaction (its error aborts tx.done). */
function queue(request: Promise<unknown>): void {
  request.catch(() => undefined);
}

function abandon(tx: WriteTransaction): void {
  try {
    tx.abort();
  } catch {
    // A failed request has already aborted the transaction.
  }
}

/** Queues `body`'s requests in one readwrite transaction and resolves once it has committed. */
async function write(
  db: IDBPDatabase<LabSchema>,
  stores: LabStore[],
  what: string,
  body: (tx: WriteTransaction) => void,
): Promise<void> {
  const tx = db.transaction(stores, 'readwrite');
  try {
    body(tx);
  } catch (error) {
    abandon(tx);
    await tx.done.catch(() => undefined);
    throw storageError(error, what);
  }
  try {
    await tx.done;
  } catch (error) {
    throw storageError(tx.error ?? error, what);
  }
}

function byTime<T>(time: (record: T) => number): (a: T, b: T) => number {
  return (a, b) => time(a) - time(b);
}

export async function openLabDb(name = 'rlhf-lab'): Promise<LabDb> {
  const db = await openDB<LabSchema>(name, SCHEMA_VERSION, {
    upgrade(database) {
      for (const store of ALL_STORES) {
        if (!database.objectStoreNames.contains(store))
          database.createObjectStore(store, { keyPath: KEY_PATHS[store] });
      }
    },
    blocking() {
      // A newer version of the lab opened in another tab: let it upgrade.
      db.close();
    },
  });
  const put =
    <S extends Exclude<LabStore, 'checkpoints' | 'checkpointFiles'>>(store: S, what: string) =>
    (value: LabSchema[S]['value']) =>
      write(db, [store], what, (tx) => queue(tx.objectStore(store).put(value)));
  const remove = (store: LabStore, what: string) => (key: string) =>
    write(db, [store], `the deletion of ${what}`, (tx) => queue(tx.objectStore(store).delete(key)));

  return {
    putDemonstration: put('demonstrations', 'the demonstration'),
    deleteDemonstration: remove('demonstrations', 'a demonstration'),
    allDemonstrations: async () => (await db.getAll('demonstrations')).sort(byTime((d) => d.updatedAt)),
    putRanking: put('rankings', 'the ranking'),
    deleteRanking: remove('rankings', 'a ranking'),
    allRankings: async () => (await db.getAll('rankings')).sort(byTime((r) => r.createdAt)),
    putPrompt: put('prompts', 'the prompt'),
    deletePrompt: remove('prompts', 'a prompt'),
    allPrompts: async () => (await db.getAll('prompts')).sort(byTime((p) => p.createdAt)),
    putCheckpoint({ files, ...summary }) {
      return write(db, ['checkpoints', 'checkpointFiles'], `checkpoint ${summary.name}`, (tx) => {
        queue(tx.objectStore('checkpoints').put(summary));
        queue(tx.objectStore('checkpointFiles').put({ name: summary.name, files }));
      });
    },
    async getCheckpoint(name) {
      const tx = db.transaction(['checkpoints', 'checkpointFiles'], 'readonly');
      const [summary, stored] = await Promise.all([
        tx.objectStore('checkpoints').get(name),
        tx.objectStore('checkpointFiles').get(name),
      ]);
      if (!summary || !stored) return undefined;
      return { ...summary, files: stored.files };
    },
    listCheckpoints: async () => (await db.getAll('checkpoints')).sort(byTime((c) => c.createdAt)),
    deleteCheckpoint(name) {
      return write(db, ['checkpoints', 'checkpointFiles'], `the deletion of checkpoint ${name}`, (tx) => {
        queue(tx.objectStore('checkpoints').delete(name));
        queue(tx.objectStore('checkpointFiles').delete(name));
      });
    },
    putRun: put('runs', 'the run history'),
    allRuns: async () => (await db.getAll('runs')).map(migrateStoredRun).sort(byTime((r) => r.startedAt)),
    deleteRun: remove('runs', 'a run'),
    putJudgment: put('judgments', 'the judgment'),
    allJudgments: async () => (await db.getAll('judgments')).sort(byTime((j) => j.createdAt)),
    putMany({ demonstrations = [], rankings = [], prompts = [] }) {
      const count = demonstrations.length + rankings.length + prompts.length;
      return write(
        db,
        ['demonstrations', 'rankings', 'prompts'],
        `the ${count} imported records (none were saved)`,
        (tx) => {
          for (const d of demonstrations) queue(tx.objectStore('demonstrations').put(d));
          for (const r of rankings) queue(tx.objectStore('rankings').put(r));
          for (const p of prompts) queue(tx.objectStore('prompts').put(p));
        },
      );
    },
    clearAll() {
      return write(db, ALL_STORES, 'the deletion of all lab data', (tx) => {
        for (const store of ALL_STORES) queue(tx.objectStore(store).clear());
      });
    },
    close: () => db.close(),
  };
}

let pageDb: Promise<LabDb> | undefined;

/** The page's one connection to the lab's database, opened on first use (and again after a failed open). */
export function labDb(): Promise<LabDb> {
  pageDb ??= openLabDb().catch((error: unknown) => {
    pageDb = undefined;
    throw error;
  });
  return pageDb;
}

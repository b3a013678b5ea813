// The checkpoints slice: the worker's named checkpoints with whether each is saved in IndexedDB,
// the one the Rank panel samples from, sampling, and checkpoint export, import and deletion. A
// checkpoint is written to IndexedDB before the list calls it saved (saveCheckpoint), and an
// imported one before the worker registers it.
import type { CheckpointFiles } from '../../model/checkpoint.ts';
import { DEFAULT_SAMPLING } from '../../model/sampler.ts';
import { labDb, type StoredCheckpoint } from '../../data/lab-db.ts';
import type { CheckpointSummary } from '../../../workers/lab.worker.ts';
import { labWorker } from '../bridge.ts';
import { announceChange } from '../tabs.ts';
import type { CheckpointEntry, CheckpointsSlice, TrainingStore } from './state.ts';

/** The Rank panel's and blind A/B's sampling temperature when the caller gives none. */
const GENERATION_TEMPERATURE = 1;
/** generate() without a seed of its own samples call n with seed n × this (fresh outputs each call, the same sequence for the same lesson actions). */
const GENERATION_SEED_STRIDE = 7919;

/** Puts the entry in the list (replacing one of its name), oldest first. */
export function upsertCheckpoint(store: TrainingStore, entry: CheckpointEntry): void {
  store.setState((state) => ({
    checkpoints: [...state.checkpoints.filter((c) => c.name !== entry.name), entry].sort(
      (x, y) => x.createdAt - y.createdAt,
    ),
  }));
}

/** The summary and files as one IndexedDB record. */
function storedCheckpoint(
  { name, kind, parent, createdAt, step }: CheckpointSummary,
  files: CheckpointFiles,
): StoredCheckpoint {
  return { name, kind, ...(parent !== undefined && { parent }), createdAt, ...(step !== undefined && { step }), files };
}

/** Exports a worker checkpoint into IndexedDB, then lists it as saved. */
export async function saveCheckpoint(store: TrainingStore, summary: CheckpointSummary): Promise<void> {
  upsertCheckpoint(store, { ...summary, saved: false });
  const files = await labWorker().exportCheckpoint(summary.name);
  await (await labDb()).putCheckpoint(storedCheckpoint(summary, files));
  upsertCheckpoint(store, { ...summary, saved: true });
  announceChange('checkpoints');
}

export function createCheckpointsSlice(store: TrainingStore): CheckpointsSlice {
  /** Calls of generate() so far (each samples with the next seed). */
  let generations = 0;
  return {
    checkpoints: [],
    active: 'base',
    skipped: [],

    setActive(name) {
      store.setState({ active: name });
    },

    generate(prompts, K, options = {}) {
      generations += 1;
      const sampling = {
        ...DEFAULT_SAMPLING,
        temperature: GENERATION_TEMPERATURE,
        seed: generations * GENERATION_SEED_STRIDE,
        ...options,
      };
      return labWorker().generate(store.getState().active, prompts, K, sampling);
    },

    exportCheckpoint(name) {
      return labWorker().exportCheckpoint(name);
    },

    exportOnnx(name) {
      return labWorker().exportOnnx(name);
    },

    async importCheckpoint(name, files, options = {}) {
      const db = await labDb();
      if (name === 'base')
        throw new Error('"base" is the shipped base model, which an import never replaces: choose another name');
      const exists = store.getState().checkpoints.some((c) => c.name === name) || Boolean(await db.getCheckpoint(name));
      if (exists && !options.replace) {
        throw new Error(`a checkpoint named "${name}" exists: choose another name, or delete "${name}" first`);
      }
      // validated in the worker, saved (one put: a replaced checkpoint's record stays until this one
      // is written), and only then registered: a failed save leaves no trace and loses nothing
      const { summary, files: folder } = await labWorker().checkCheckpoint(name, files);
      await db.putCheckpoint(storedCheckpoint({ ...summary, name }, folder));
      if (exists) await labWorker().removeCheckpoint(name);
      upsertCheckpoint(store, { ...(await labWorker().importCheckpoint(name, folder)), saved: true });
      announceChange('checkpoints');
    },

    async deleteCheckpoint(name) {
      await (await labDb()).deleteCheckpoint(name);
      await labWorker().removeCheckpoint(name);
      store.setState((state) => ({
        checkpoints: state.checkpoints.filter((c) => c.name !== name),
        active: state.active === name ? 'base' : state.active,
      }));
      announceChange('checkpoints');
    },
  };
}

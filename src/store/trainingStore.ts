// The lab's training state, one zustand store made of one slice per concern (src/store/training/):
// checkpoints (the worker's named checkpoints and their lineage), runs (SFT, reward model, DPO),
// the PPO session, and evaluation (the held-out labeler's table, blind A/B judgments); this file
// adds the page's session: restore() on load, GPU device recovery, and other tabs. Everything a
// person makes is written to IndexedDB (lab-db's one connection) BEFORE the state says it is
// saved; on reload restore() puts the checkpoints back into the worker and marks a run that was
// running as interrupted, so the PPO panel can resume it from its last saved policy checkpoint.
// How failures reach the screen: training/state.ts. The worker's progress reports become TRL-named
// metric rows in runRecords.ts (sftMetricRow, rewardModelMetricRow, dpoMetricRow, ppoMetricRow).
import { create } from 'zustand';
import type { GpuError } from '../engine/gpu.ts';
import { labDb } from '../data/lab-db.ts';
import { Comlink, labWorker } from './bridge.ts';
import { errorMessage } from './errorMessage.ts';
import { useGpuStore } from './gpuStore.ts';
import { runsFromStored } from './runRecords.ts';
import { anotherTabTraining, onOtherTabChange } from './tabs.ts';
import { createCheckpointsSlice } from './training/checkpoints.ts';
import { createEvaluationSlice } from './training/evaluation.ts';
import { showError } from './training/failures.ts';
import { createPpoSlice } from './training/ppo.ts';
import { createRunsSlice } from './training/runs.ts';
import type { SessionSlice, TrainingState, TrainingStore } from './training/state.ts';

export type { BlindSession, CheckpointEntry } from './training/state.ts';

/** The checkpoint the Rank panel samples after a reload: the latest stage's. */
function activeAfterRestore(names: readonly string[]): string {
  return ['policy', 'sft'].find((n) => names.includes(n)) ?? 'base';
}

function createSessionSlice(store: TrainingStore): SessionSlice {
  return {
    restored: false,
    otherTabTraining: false,

    async restore() {
      const worker = labWorker();
      const skipped: string[] = [];
      try {
        const db = await labDb();
        for (const stored of await db.listCheckpoints()) {
          const full = await db.getCheckpoint(stored.name);
          if (!full) continue;
          try {
            await worker.importCheckpoint(stored.name, full.files);
          } catch (error) {
            skipped.push(`${stored.name}: ${errorMessage(error)}`);
          }
        }
        const saved = new Set((await db.listCheckpoints()).map((c) => c.name));
        const summaries = await worker.checkpoints();
        store.setState({
          restored: true,
          skipped,
          checkpoints: summaries
            .map((s) => ({ ...s, saved: saved.has(s.name) }))
            .sort((x, y) => x.createdAt - y.createdAt),
          runs: runsFromStored(await db.allRuns()),
          active: activeAfterRestore(summaries.map((s) => s.name)),
          judgments: await db.allJudgments(),
        });
      } catch (error) {
        store.setState({
          restored: true,
          error: errorMessage(error),
          checkpoints: (await worker.checkpoints()).map((s) => ({ ...s, saved: false })),
        });
      }
    },

    async watchDevice() {
      await labWorker().onGpuError(
        Comlink.proxy((error: GpuError) => {
          if (error.kind === 'device-lost') store.setState({ deviceLost: error.message });
        }),
      );
    },

    async recoverDevice() {
      store.setState({ error: undefined });
      try {
        const info = await labWorker().resetDevice();
        // The GPU status follows the new device, whose errors are watched again.
        useGpuStore.getState().recovered(info);
        await store.getState().watchDevice();
        await store.getState().restore();
        store.setState({ deviceLost: undefined });
      } catch (error) {
        showError(store, `Could not recover the GPU: ${errorMessage(error)}. Reload the page.`);
      }
    },
  };
}

export const useTrainingStore = create<TrainingState>()((_set, _get, store) => ({
  ...createCheckpointsSlice(store),
  ...createRunsSlice(store),
  ...createPpoSlice(store),
  ...createEvaluationSlice(store),
  ...createSessionSlice(store),
}));

/** Asks whether another tab trains now, for the panels' notice. */
const checkOtherTabTraining = () =>
  anotherTabTraining().then(
    (otherTabTraining) => useTrainingStore.setState({ otherTabTraining }),
    (error: unknown) =>
      showError(useTrainingStore, `Could not tell whether another tab is training: ${errorMessage(error)}`),
  );
void checkOtherTabTraining();

// Another tab saved or deleted a checkpoint: read the list again (restore brings new ones into this
// tab's worker); another tab started or stopped training: update the notice.
onOtherTabChange((change) => {
  if (change === 'checkpoints' && useTrainingStore.getState().restored) void useTrainingStore.getState().restore();
  if (change === 'training') void checkOtherTabTraining();
});

export const selectCheckpoints = (state: TrainingState) => state.checkpoints;
export const selectActive = (state: TrainingState) => state.active;
export const selectRuns = (state: TrainingState) => state.runs;
export const selectSftRun = (state: TrainingState) => state.runs.sft;
export const selectRewardModelRun = (state: TrainingState) => state.runs.reward_model;
export const selectPpoRun = (state: TrainingState) => state.runs.ppo;
export const selectDpoRun = (state: TrainingState) => state.runs.dpo;
export const selectTrainingError = (state: TrainingState) => state.error;
export const selectDeviceLost = (state: TrainingState) => state.deviceLost;
export const selectOtherTabTraining = (state: TrainingState) => state.otherTabTraining;
export const selectSkipped = (state: TrainingState) => state.skipped;
export const selectMistakes = (state: TrainingState) => state.mistakes;
export const selectEvaluation = (state: TrainingState) => state.evaluation;
export const selectBlind = (state: TrainingState) => state.blind;
export const selectJudgments = (state: TrainingState) => state.judgments;
export const selectRestored = (state: TrainingState) => state.restored;

// "Train SFT" under the demonstrations (InstructGPT step 1): fine-tunes the base model on the
// demonstrations in the list, in the worker, with a live loss curve; the result is the "sft"
// checkpoint, saved in this browser before it is shown as done. The loss of one small batch jumps
// from step to step, so the curve shows it smoothed beside the raw values, with the loss on held-out
// demonstrations, and says what to expect.
// Without WebGPU it says what it needs.
import { useMemo } from 'react';
import type { MetricRow } from '../store/runRecords.ts';
import { selectDemonstrations, useLabDataStore } from '../store/labDataStore.ts';
import { selectHyper, selectSeed, useLessonStore } from '../store/lessonStore.ts';
import { selectSftRun, useTrainingStore } from '../store/trainingStore.ts';
import { selectWebGpuMissing, useGpuStore } from '../store/gpuStore.ts';
import { HyperparameterField } from './HyperparameterField.tsx';
import { LiveChart, type ChartSeries } from './LiveChart.tsx';
import { TrainingNeedsWebGpu } from './NoWebGpu.tsx';
import { RunStatus } from './RunStatus.tsx';
import { TrainingAlerts } from './TrainingAlerts.tsx';
import { useBaseModel } from './useBaseModel.ts';

const LOSS: ChartSeries[] = [
  { key: 'loss', label: 'loss of the step’s batch', color: '#93c5fd' },
  { key: 'loss_smoothed', label: 'smoothed', color: '#1d4ed8' },
  { key: 'heldout_loss', label: 'held-out loss', color: '#b45309' },
];
const ACCURACY: ChartSeries[] = [{ key: 'mean_token_accuracy', label: 'token accuracy', color: '#15803d' }];
const LOSS_NOTE =
  'loss, heldout_loss · lower is better. Each step sees a few demonstrations, so the raw loss jumps up and down; the smoothed line should fall over an epoch, then flatten. The held-out loss (TinyWorld demonstrations no one trains on) should fall too: if it rises while the training loss falls, the model is memorising.';
const ACCURACY_NOTE =
  'mean_token_accuracy · higher is better: how often the model’s most likely next token is the demonstration’s';
/** Weight of the newest step in the smoothed loss (an exponential moving average). */
const SMOOTHING = 0.3;

/** The rows with `loss_smoothed`, an exponential moving average of the loss. */
function withSmoothedLoss(rows: readonly MetricRow[]): MetricRow[] {
  let smoothed: number | undefined;
  return rows.map((row) => {
    if (!Number.isFinite(row.loss)) return row;
    smoothed = smoothed === undefined ? row.loss : SMOOTHING * row.loss + (1 - SMOOTHING) * smoothed;
    return { ...row, loss_smoothed: smoothed };
  });
}

export function SftTraining() {
  useBaseModel();
  const demonstrations = useLabDataStore(selectDemonstrations);
  const hyper = useLessonStore(selectHyper);
  const seed = useLessonStore(selectSeed);
  const run = useTrainingStore(selectSftRun);
  const trainSft = useTrainingStore((state) => state.trainSft);
  const stop = useTrainingStore((state) => state.stop);
  const running = run?.status === 'running';
  const metrics = run?.metrics;
  const smoothed = useMemo(() => withSmoothedLoss(metrics ?? []), [metrics]);
  const webGpuMissing = useGpuStore(selectWebGpuMissing);
  if (webGpuMissing) {
    return (
      <section className="training-block" aria-labelledby="sft-heading">
        <h3 id="sft-heading">Train SFT</h3>
        <TrainingNeedsWebGpu what="Supervised fine-tuning (SFT)" />
      </section>
    );
  }
  return (
    <section className="training-block" aria-labelledby="sft-heading">
      <h3 id="sft-heading">Train SFT</h3>
      <p className="muted">
        Supervised fine-tuning: the base model learns to continue each prompt with its demonstration (loss on the
        response tokens only).
      </p>
      <TrainingAlerts />
      <div className="fields">
        <HyperparameterField name="sftEpochs" disabled={running} />
        <HyperparameterField name="sftLr" disabled={running} />
      </div>
      <div className="button-row">
        <button
          type="button"
          disabled={running || demonstrations.length === 0}
          onClick={() => void trainSft(demonstrations, hyper, seed)}
        >
          Train SFT on {demonstrations.length} demonstration{demonstrations.length === 1 ? '' : 's'}
        </button>
        {running && (
          <button type="button" className="secondary" onClick={() => void stop('sft')}>
            Stop SFT
          </button>
        )}
      </div>
      <RunStatus run={run} label="SFT" />
      {run && run.metrics.length > 0 && (
        <div className="chart-grid">
          <LiveChart title="SFT loss" note={LOSS_NOTE} rows={smoothed} x="step" series={LOSS} />
          <LiveChart title="SFT token accuracy" note={ACCURACY_NOTE} rows={run.metrics} x="step" series={ACCURACY} />
        </div>
      )}
    </section>
  );
}

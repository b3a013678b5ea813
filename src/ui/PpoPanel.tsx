// The PPO panel (InstructGPT step 3): start / pause / step / reset PPO against the reward model
// with a KL penalty to the SFT model, the lesson's hyperparameters with one-line explanations,
// live curves of the RLHF metrics (TRL's names), and each iteration's sampled answers beside the
// SFT model's answers to the same prompts. DPO is the alternative: it trains on the comparisons
// directly, without a reward model or sampling. Both need WebGPU: without it the panel says so.
import { useMemo, useState } from 'react';
import type { HyperparameterName } from '../store/hyperparameters.ts';
import { selectPrompts, useLabDataStore, selectRankings } from '../store/labDataStore.ts';
import { selectHyper, selectSeed, useLessonStore } from '../store/lessonStore.ts';
import { selectCheckpoints, selectDpoRun, selectPpoRun, useTrainingStore } from '../store/trainingStore.ts';
import { type RunState } from '../store/runRecords.ts';
import { selectWebGpuMissing, useGpuStore } from '../store/gpuStore.ts';
import { HyperparameterField } from './HyperparameterField.tsx';
import { LiveChart, type ChartSeries } from './LiveChart.tsx';
import { TrainingNeedsWebGpu } from './NoWebGpu.tsx';
import { RunStatus } from './RunStatus.tsx';
import { SamplesTable, type SampleColumn } from './SamplesTable.tsx';
import { TrainingAlerts } from './TrainingAlerts.tsx';
import { useBaseModel } from './useBaseModel.ts';

const PPO_FIELDS: HyperparameterName[] = [
  'klCoef',
  'ppoLr',
  'clipRange',
  'ppoEpochs',
  'batchSize',
  'temperature',
  'ptxCoef',
  'maxNewTokens',
];

/** A chart of the panel: a plain title, what it measures with its TRL key, and which way is better. */
interface PanelChart {
  title: string;
  note: string;
  series: ChartSeries[];
}

const PPO_CHARTS: PanelChart[] = [
  // RM score is drawn last and dashed: at small β it lies on top of score − β·KL.
  {
    title: 'Reward',
    note: 'objective/rlhf_reward and objective/scores · higher is better: the reward model likes the answers more (if the answers still make sense)',
    series: [
      { key: 'objective/rlhf_reward', label: 'reward − β·KL', color: '#7c3aed' },
      { key: 'objective/scores', label: 'reward-model score', color: '#1d4ed8', dash: [6, 4] },
    ],
  },
  {
    title: 'KL to SFT',
    note: 'objective/kl · lower stays closer to the SFT model; a steady rise means the policy drifts away from what it learned from people',
    series: [{ key: 'objective/kl', label: 'KL (nats)', color: '#b91c1c' }],
  },
  {
    title: 'Entropy',
    note: 'objective/entropy · how varied the answers are; a fall to near 0 means the policy repeats itself',
    series: [{ key: 'objective/entropy', label: 'entropy (nats per token)', color: '#0f766e' }],
  },
  {
    title: 'Clip fraction',
    note: 'policy/clipfrac_avg · lower is calmer: the share of updates PPO had to clip because they moved too far at once',
    series: [{ key: 'policy/clipfrac_avg', label: 'clipped share', color: '#b45309' }],
  },
  {
    title: 'Value loss',
    note: 'loss/value_avg · lower is better: how wrong the value head’s guesses of the coming reward are',
    series: [{ key: 'loss/value_avg', label: 'value loss', color: '#4b5563' }],
  },
  {
    title: 'Explained variance',
    note: 'val/vf_explained_var · higher is better (1 at most): how much of the returns the value head predicts; below 0 it predicts worse than a constant',
    series: [{ key: 'val/vf_explained_var', label: 'explained variance', color: '#15803d' }],
  },
  {
    title: 'Response length',
    note: 'response_length_mean · neither: a sudden change in length is often how a policy games its reward model',
    series: [{ key: 'response_length_mean', label: 'tokens', color: '#be185d' }],
  },
];

const DPO_CHARTS: PanelChart[] = [
  {
    title: 'DPO loss',
    note: 'loss · lower is better: the preferred answers gain probability against the rejected ones',
    series: [{ key: 'loss', label: 'loss', color: '#1d4ed8' }],
  },
  {
    title: 'DPO preference accuracy',
    note: 'rewards/accuracies · higher is better: the share of comparisons where the preferred answer has the larger implicit reward; chance is 50%',
    series: [
      { key: 'rewards/accuracies', label: 'accuracy', color: '#15803d' },
      { key: 'chance', label: 'chance (50%)', color: '#9ca3af', dash: [4, 4], constant: 0.5 },
    ],
  },
];

const PPO_SAMPLE_COLUMNS: SampleColumn[] = [
  { heading: 'Prompt', field: 'prompt' },
  { heading: 'Policy (PPO)', field: 'response' },
  { heading: 'Reward', field: 'reward' },
  { heading: 'SFT model', field: 'sftResponse' },
];

/** The samples of one iteration (the latest unless the person picks another). */
function IterationSamples({ run }: { run: RunState }) {
  const [chosen, setChosen] = useState<number | 'latest'>('latest');
  const iterations = [...new Set(run.samples.map((s) => s.iteration))];
  if (iterations.length === 0) return null;
  const last = chosen === 'latest' || !iterations.includes(chosen) ? iterations[iterations.length - 1] : chosen;
  const rows = run.samples.filter((s) => s.iteration === last);
  return (
    <div className="table-scroll">
      <label className="field inline">
        Samples of iteration
        <select
          value={chosen}
          onChange={(event) => setChosen(event.target.value === 'latest' ? 'latest' : Number(event.target.value))}
        >
          <option value="latest">latest (follows the run)</option>
          {iterations.map((i) => (
            <option key={i} value={i}>
              {i + 1}
            </option>
          ))}
        </select>
      </label>
      <SamplesTable
        samples={rows}
        columns={PPO_SAMPLE_COLUMNS}
        caption={`Iteration ${last + 1}: the policy’s answers and the SFT model’s answers to the same prompts`}
        label="PPO samples"
        testId="ppo-samples"
        iteration={last}
      />
    </div>
  );
}

/** Reset deletes the run's curves and samples: it asks first, and says what stays. */
function ResetButton({ disabled, onReset }: { disabled: boolean; onReset(): void }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="secondary" disabled={disabled} onClick={() => setAsking(true)}>
        Reset
      </button>
    );
  }
  return (
    <span role="alertdialog" aria-label="Reset PPO?" className="confirm">
      Reset PPO? Its curves and samples are deleted; the saved “policy” checkpoint stays.{' '}
      <button
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          onReset();
        }}
      >
        Yes, reset
      </button>{' '}
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Keep the run
      </button>
    </span>
  );
}

function PpoControls({ pausing, onPause }: { pausing: boolean; onPause(): void }) {
  const hyper = useLessonStore(selectHyper);
  const seed = useLessonStore(selectSeed);
  const prompts = useLabDataStore(selectPrompts);
  const run = useTrainingStore(selectPpoRun);
  const checkpoints = useTrainingStore(selectCheckpoints);
  const { ppoStart, ppoStep, ppoReset, ppoResume } = useTrainingStore.getState();
  const running = run?.status === 'running';
  const texts = prompts.map((p) => p.text);
  const missing = ['sft', 'reward_model'].filter((name) => !checkpoints.some((c) => c.name === name));
  return (
    <>
      {missing.length > 0 && (
        <p className="muted" data-testid="ppo-needs">
          PPO needs{' '}
          {missing
            .map((m) => (m === 'sft' ? 'the SFT model (Demonstrations panel)' : 'a reward model (Reward model panel)'))
            .join(' and ')}
          .
        </p>
      )}
      {hyper.klCoef === 0 && (
        <p className="warning" role="note">
          β = 0: nothing keeps the policy near the SFT model. Watch the reward rise while the answers stop making sense
          — the policy is hacking the reward model.
        </p>
      )}
      <div className="button-row" role="group" aria-label="PPO controls">
        {run?.interrupted ? (
          <button type="button" onClick={() => void ppoResume(texts)}>
            Resume PPO
          </button>
        ) : (
          <button
            type="button"
            disabled={running || missing.length > 0}
            onClick={() => void ppoStart(hyper, seed, texts)}
          >
            {run?.status === 'paused' ? 'Continue' : 'Start'}
          </button>
        )}
        <button type="button" className="secondary" disabled={!running || pausing} onClick={onPause}>
          {pausing ? 'Pausing…' : 'Pause'}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={running || missing.length > 0 || run?.interrupted}
          onClick={() => void ppoStep(hyper, seed, texts)}
        >
          Step
        </button>
        <ResetButton disabled={!run} onReset={() => void ppoReset()} />
      </div>
    </>
  );
}

function PpoSection() {
  const run = useTrainingStore(selectPpoRun);
  const ppoPause = useTrainingStore((state) => state.ppoPause);
  const running = run?.status === 'running';
  const [pauseAsked, setPauseAsked] = useState(false);
  const pausing = pauseAsked && running;
  const pause = () => {
    setPauseAsked(true);
    void ppoPause().finally(() => setPauseAsked(false));
  };
  // Iterations count from 1 on screen, as in the status line and the samples table (0-based in the run).
  const metrics = run?.metrics;
  const rows = useMemo(() => (metrics ?? []).map((row) => ({ ...row, iteration: row.iteration + 1 })), [metrics]);
  return (
    <>
      <div className="fields">
        {PPO_FIELDS.map((name) => (
          <HyperparameterField key={name} name={name} disabled={running} />
        ))}
      </div>
      <PpoControls pausing={pausing} onPause={pause} />
      <RunStatus run={run} label="PPO" pending={pausing ? 'Pausing after this iteration…' : undefined} />
      {run && (
        <>
          <div className="chart-grid">
            {PPO_CHARTS.map((chart) => (
              <LiveChart
                key={chart.title}
                title={chart.title}
                note={chart.note}
                rows={rows}
                x="iteration"
                series={chart.series}
              />
            ))}
          </div>
          <IterationSamples run={run} />
        </>
      )}
    </>
  );
}

function DpoSection() {
  const hyper = useLessonStore(selectHyper);
  const seed = useLessonStore(selectSeed);
  const rankings = useLabDataStore(selectRankings);
  const run = useTrainingStore(selectDpoRun);
  const trainDpo = useTrainingStore((state) => state.trainDpo);
  const stop = useTrainingStore((state) => state.stop);
  const running = run?.status === 'running';
  return (
    <>
      <p className="muted">
        DPO (Rafailov et al. 2023) skips the reward model and PPO: it raises the log-probability of each preferred
        answer against the rejected one, relative to the frozen SFT model.
      </p>
      <div className="fields">
        <HyperparameterField name="dpoBeta" disabled={running} />
        <HyperparameterField name="rmEpochs" disabled={running} />
        <HyperparameterField name="ppoLr" disabled={running} />
      </div>
      <div className="button-row">
        <button
          type="button"
          disabled={running || rankings.length === 0}
          onClick={() => void trainDpo(rankings, hyper, seed)}
        >
          Train DPO on {rankings.length} rankings
        </button>
        {running && (
          <button type="button" className="secondary" onClick={() => void stop('dpo')}>
            Stop DPO
          </button>
        )}
      </div>
      <RunStatus run={run} label="DPO" />
      {run && run.metrics.length > 0 && (
        <div className="chart-grid">
          {DPO_CHARTS.map((chart) => (
            <LiveChart
              key={chart.title}
              title={chart.title}
              note={chart.note}
              rows={run.metrics}
              x="step"
              series={chart.series}
            />
          ))}
        </div>
      )}
    </>
  );
}

export function PpoPanel() {
  useBaseModel();
  const [algorithm, setAlgorithm] = useState<'ppo' | 'dpo'>('ppo');
  const webGpuMissing = useGpuStore(selectWebGpuMissing);
  return (
    <section className="panel" aria-labelledby="ppo-heading">
      <h2 id="ppo-heading">PPO</h2>
      <p className="muted">
        The policy starts as the SFT model, answers prompts, and the reward model scores each answer; PPO raises the
        probability of well-scored answers while a per-token KL penalty (β) keeps it close to SFT.
      </p>
      <TrainingAlerts />
      {webGpuMissing ? (
        <TrainingNeedsWebGpu what="PPO (and DPO)" />
      ) : (
        <>
          <fieldset className="algorithm-choice">
            <legend>Algorithm</legend>
            <label className="checkbox">
              <input type="radio" name="algorithm" checked={algorithm === 'ppo'} onChange={() => setAlgorithm('ppo')} />{' '}
              PPO with a reward model
            </label>
            <label className="checkbox">
              <input type="radio" name="algorithm" checked={algorithm === 'dpo'} onChange={() => setAlgorithm('dpo')} />{' '}
              DPO on the comparisons
            </label>
          </fieldset>
          {algorithm === 'ppo' ? <PpoSection /> : <DpoSection />}
        </>
      )}
    </section>
  );
}

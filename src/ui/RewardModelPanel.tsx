// The Reward model panel (InstructGPT step 2): trains the reward model on the rankings (the SFT
// trunk with a scalar head, all C(K,2) comparisons of a ranking in one batch element), with live
// loss and train / held-out accuracy (a fifth of the rankings is held out); lists the comparisons
// it gets wrong, and scores any text. It says whose rankings it learns from (a class's merged
// rankings carry each student's name). Without WebGPU it says what training needs.
import { useState, type FormEvent } from 'react';
import { rankingAuthors, selectDemonstrations, selectRankings, useLabDataStore } from '../store/labDataStore.ts';
import { selectHyper, selectSeed, useLessonStore } from '../store/lessonStore.ts';
import { selectCheckpoints, selectMistakes, selectRewardModelRun, useTrainingStore } from '../store/trainingStore.ts';
import { splitRankings, type MetricRow } from '../store/runRecords.ts';
import { selectWebGpuMissing, useGpuStore } from '../store/gpuStore.ts';
import { HyperparameterField } from './HyperparameterField.tsx';
import { LiveChart, type ChartSeries } from './LiveChart.tsx';
import { TrainingNeedsWebGpu } from './NoWebGpu.tsx';
import { RunStatus } from './RunStatus.tsx';
import { TrainingAlerts } from './TrainingAlerts.tsx';
import { useBaseModel } from './useBaseModel.ts';
import { errorMessage } from '../store/errorMessage.ts';
import { ErrorLine } from './ErrorLine.tsx';

const LOSS: ChartSeries[] = [{ key: 'loss', label: 'ranking loss', color: '#1d4ed8' }];
const ACCURACY: ChartSeries[] = [
  { key: 'accuracy', label: 'train batch accuracy', color: '#15803d' },
  { key: 'heldout_accuracy', label: 'held-out accuracy', color: '#b45309' },
  { key: 'chance', label: 'chance (50%)', color: '#9ca3af', dash: [4, 4], constant: 0.5 },
];
const LOSS_NOTE =
  'loss · lower is better: −log σ(r(preferred) − r(other)) over every pair of a ranking; log 2 ≈ 0.69 is a coin toss';
const ACCURACY_NOTE =
  'accuracy, heldout_accuracy · higher is better: how often the preferred answer gets the higher reward; 50% is chance, held-out is what counts';

function lastValue(rows: readonly MetricRow[], key: string): number | undefined {
  for (let i = rows.length - 1; i >= 0; i--) if (Number.isFinite(rows[i][key])) return rows[i][key];
  return undefined;
}

const percent = (value: number | undefined) => (value === undefined ? '—' : `${(100 * value).toFixed(1)}%`);

function Mistakes() {
  const mistakes = useTrainingStore(selectMistakes);
  if (!mistakes) return null;
  if (mistakes.length === 0) return <p>The reward model orders every comparison correctly.</p>;
  return (
    <details className="table-scroll" data-testid="rm-mistakes">
      <summary>
        {mistakes.length} comparison{mistakes.length === 1 ? '' : 's'} it gets wrong, most confidently wrong first
      </summary>
      <table className="data-table" aria-label="Comparisons the reward model gets wrong">
        <thead>
          <tr>
            <th>Split</th>
            <th>Prompt</th>
            <th>Preferred by the labeler</th>
            <th>Ranked lower</th>
            <th>Rewards (preferred / lower)</th>
          </tr>
        </thead>
        <tbody>
          {mistakes.map((m, i) => (
            <tr key={i}>
              <td>{m.split === 'heldout' ? 'held out' : 'train'}</td>
              <td>{m.prompt}</td>
              <td>{m.chosen}</td>
              <td>{m.rejected}</td>
              <td className="number">
                {m.chosenReward.toFixed(2)} / {m.rejectedReward.toFixed(2)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function ScoreText() {
  const score = useTrainingStore((state) => state.score);
  const [prompt, setPrompt] = useState('What colour is a banana?');
  const [response, setResponse] = useState('A banana is yellow.');
  const [result, setResult] = useState<{ reward?: number; error?: string }>({});
  const [scoring, setScoring] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setScoring(true);
    setResult({});
    try {
      setResult({ reward: await score(prompt, response) });
    } catch (error) {
      setResult({ error: errorMessage(error) });
    } finally {
      setScoring(false);
    }
  };
  return (
    <form className="sample-form" onSubmit={(event) => void submit(event)}>
      <h3>Score any text</h3>
      <label className="field wide">
        Instruction
        <input value={prompt} onChange={(event) => setPrompt(event.target.value)} />
      </label>
      <label className="field wide">
        Response to score
        <textarea rows={2} value={response} onChange={(event) => setResponse(event.target.value)} />
      </label>
      <button type="submit" disabled={scoring}>
        {scoring ? 'Scoring…' : 'Score'}
      </button>
      {result.reward !== undefined && (
        <p role="status" data-testid="rm-score">
          Reward: <strong>{result.reward.toFixed(3)}</strong> (0 is the average demonstration)
        </p>
      )}
      <ErrorLine text={result.error} />
    </form>
  );
}

export function RewardModelPanel() {
  useBaseModel();
  const rankings = useLabDataStore(selectRankings);
  const demonstrations = useLabDataStore(selectDemonstrations);
  const hyper = useLessonStore(selectHyper);
  const seed = useLessonStore(selectSeed);
  const run = useTrainingStore(selectRewardModelRun);
  const checkpoints = useTrainingStore(selectCheckpoints);
  const train = useTrainingStore((state) => state.trainRewardModel);
  const findMistakes = useTrainingStore((state) => state.findMistakes);
  const stop = useTrainingStore((state) => state.stop);
  const running = run?.status === 'running';
  const split = splitRankings(rankings);
  const hasRewardModel = checkpoints.some((c) => c.name === 'reward_model');
  const hasSft = checkpoints.some((c) => c.name === 'sft');
  const metrics = run?.metrics ?? [];
  const webGpuMissing = useGpuStore(selectWebGpuMissing);
  return (
    <section className="panel" aria-labelledby="reward-model-heading">
      <h2 id="reward-model-heading">Reward model</h2>
      <p className="muted">
        The reward model reads a prompt and a response and gives one number. It starts from the{' '}
        {hasSft ? 'SFT' : 'base (train SFT first for the paper’s recipe)'} model with a new scalar head and learns that
        the labeler’s preferred output gets the higher reward, on every pair of each ranking.
      </p>
      <TrainingAlerts />
      <p data-testid="rm-rankings">
        {rankings.length} rankings: {split.train.length} to train on, {split.heldout.length} held out to measure
        accuracy.{rankings.length > 0 && ` By ${rankingAuthors(rankings)}.`}
      </p>
      {typeof run?.settings.learned_from === 'string' && (
        <p data-testid="rm-learned-from">
          The reward model {running ? 'is learning' : 'learned'} from the rankings of {run.settings.learned_from}.
        </p>
      )}
      {webGpuMissing ? (
        <TrainingNeedsWebGpu what="Training the reward model" />
      ) : (
        <>
          <div className="fields">
            <HyperparameterField name="rmEpochs" disabled={running} />
            <HyperparameterField name="rmLr" disabled={running} />
          </div>
          <div className="button-row">
            <button
              type="button"
              disabled={running || rankings.length === 0}
              onClick={() => void train(rankings, demonstrations, hyper, seed)}
            >
              Train reward model
            </button>
            {running && (
              <button type="button" className="secondary" onClick={() => void stop('reward_model')}>
                Stop
              </button>
            )}
          </div>
          <RunStatus run={run} label="Reward model" />
          {run && run.status !== 'running' && lastValue(metrics, 'train_accuracy') !== undefined && (
            <p data-testid="rm-accuracy">
              Accuracy on the training comparisons: <strong>{percent(lastValue(metrics, 'train_accuracy'))}</strong>; on
              held-out comparisons: <strong>{percent(lastValue(metrics, 'heldout_accuracy'))}</strong> — chance is 50%;
              the paper’s reward models reached about 72% held out.
            </p>
          )}
          {metrics.length > 0 && (
            <div className="chart-grid">
              <LiveChart title="Reward-model loss" note={LOSS_NOTE} rows={metrics} x="step" series={LOSS} />
              <LiveChart title="Reward-model accuracy" note={ACCURACY_NOTE} rows={metrics} x="step" series={ACCURACY} />
            </div>
          )}
          {hasRewardModel && (
            <>
              <ScoreText />
              <h3>Comparisons it gets wrong</h3>
              <button
                type="button"
                className="secondary"
                disabled={running || rankings.length === 0}
                onClick={() => void findMistakes(rankings)}
              >
                Find the comparisons it gets wrong
              </button>
              <Mistakes />
            </>
          )}
        </>
      )}
    </section>
  );
}

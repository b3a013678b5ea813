// The Evaluate panel, the paper's measurements in miniature: a blind A/B comparison between two
// checkpoints judged by a person (InstructGPT's main metric; judgments are saved in this browser),
// and the held-out labeler's table on held-out prompts — win rates against SFT and base, Likert
// score, instruction following, truthfulness, hallucination, toxicity and the pretraining loss
// (the alignment tax) — with a bar chart per metric (the Likert score on its whole 1–7 scale, each
// bar with the number of prompts behind it). After a blind comparison the page reveals which model
// wrote which answer.
import { useState } from 'react';
import { selectHyper, selectSeed, useLessonStore } from '../store/lessonStore.ts';
import {
  selectBlind,
  selectCheckpoints,
  selectEvaluation,
  selectJudgments,
  useTrainingStore,
  type BlindSession,
  type CheckpointEntry,
} from '../store/trainingStore.ts';
import type { StoredJudgment } from '../data/lab-db.ts';
import { judgmentTally } from '../store/runRecords.ts';
import type { EvaluationRow } from '../../workers/lab.worker.ts';
import { LessonSummary } from './LessonSummary.tsx';
import { TrainingAlerts } from './TrainingAlerts.tsx';
import { useBaseModel } from './useBaseModel.ts';
import { ErrorLine } from './ErrorLine.tsx';

/** Sampling temperature of evaluation answers (the pipeline's). */
const EVALUATION_TEMPERATURE = 0.7;

type MetricKey = Exclude<keyof EvaluationRow, 'name' | 'prompts'>;

const METRICS: { key: MetricKey; label: string; better: 'higher' | 'lower'; share: boolean }[] = [
  { key: 'win_rate_vs_sft', label: 'Win rate vs SFT', better: 'higher', share: true },
  { key: 'win_rate_vs_base', label: 'Win rate vs base', better: 'higher', share: true },
  { key: 'likert', label: 'Likert score (1–7)', better: 'higher', share: false },
  { key: 'follows_instruction', label: 'Follows the instruction', better: 'higher', share: true },
  { key: 'truthful', label: 'Truthful (open QA)', better: 'higher', share: true },
  { key: 'hallucination', label: 'Hallucination (closed QA)', better: 'lower', share: true },
  { key: 'toxicity', label: 'Toxicity (bait prompts)', better: 'lower', share: true },
  { key: 'pretrain_loss', label: 'Pretraining loss (alignment tax)', better: 'lower', share: false },
];

const languageModels = (checkpoints: CheckpointEntry[]) => checkpoints.filter((c) => !c.scalar);

function formatMetric(value: number | undefined, share: boolean): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return share ? `${(100 * value).toFixed(0)}%` : value.toFixed(2);
}

/** Where a bar starts and ends: shares on 0–100%, the Likert score on its 1–7 scale, losses against the largest. */
function barScale(metric: (typeof METRICS)[number], values: (number | undefined)[]): { low: number; high: number } {
  if (metric.share) return { low: 0, high: 1 };
  if (metric.key === 'likert') return { low: 1, high: 7 };
  return { low: 0, high: Math.max(...values.map((v) => (v !== undefined && Number.isFinite(v) ? v : 0)), 1e-9) };
}

function BarChart({ rows, metric }: { rows: EvaluationRow[]; metric: (typeof METRICS)[number] }) {
  const values = rows.map((r) => r[metric.key] as number | undefined);
  const { low, high } = barScale(metric, values);
  return (
    <figure className="bar-chart">
      <figcaption>
        {metric.label} <span className="muted">({metric.better} is better)</span>
      </figcaption>
      {rows.map((row, i) => {
        const v = values[i];
        const width =
          v !== undefined && Number.isFinite(v) ? Math.min(100, Math.max(0, (100 * (v - low)) / (high - low))) : 0;
        return (
          <div key={row.name} className="bar-row">
            <span className="bar-label">{row.name}</span>
            <span className="bar-track" role="img" aria-label={`${row.name}: ${formatMetric(v, metric.share)}`}>
              <span className="bar" style={{ width: `${width}%` }} />
            </span>
            <span className="number">
              {formatMetric(v, metric.share)} <span className="muted">n={row.prompts}</span>
            </span>
          </div>
        );
      })}
    </figure>
  );
}

function LabelerTable() {
  const checkpoints = useTrainingStore(selectCheckpoints);
  const evaluation = useTrainingStore(selectEvaluation);
  const evaluate = useTrainingStore((state) => state.evaluate);
  const hyper = useLessonStore(selectHyper);
  const seed = useLessonStore(selectSeed);
  const models = languageModels(checkpoints);
  const [excluded, setExcluded] = useState<string[]>([]);
  const [prompts, setPrompts] = useState(20);
  const chosen = models.map((m) => m.name).filter((name) => !excluded.includes(name));
  const running = evaluation.status === 'running';
  const run = () =>
    void evaluate(chosen, {
      worldSeed: seed,
      prompts,
      maxNewTokens: hyper.maxNewTokens,
      temperature: EVALUATION_TEMPERATURE,
      seed,
    });
  return (
    <section aria-labelledby="labeler-heading">
      <h3 id="labeler-heading">Held-out labeler</h3>
      <p className="muted">
        Each model answers held-out prompts it never trained on; a labeler with other priorities than the one that
        ranked the training data judges every answer.
      </p>
      <fieldset className="fields">
        <legend>Models</legend>
        {models.map((m) => (
          <label key={m.name} className="checkbox">
            <input
              type="checkbox"
              checked={!excluded.includes(m.name)}
              onChange={(event) =>
                setExcluded(event.target.checked ? excluded.filter((n) => n !== m.name) : [...excluded, m.name])
              }
            />{' '}
            {m.name}
          </label>
        ))}
      </fieldset>
      <label className="field">
        Held-out prompts
        <input
          type="number"
          min={1}
          max={200}
          value={prompts}
          onChange={(event) => setPrompts(Math.max(1, Math.round(Number(event.target.value)) || 1))}
        />
      </label>
      <button type="button" disabled={running || chosen.length === 0} onClick={run}>
        {running ? 'Evaluating…' : 'Evaluate with the held-out labeler'}
      </button>
      {running && evaluation.message && <p role="status">{evaluation.message}</p>}
      <ErrorLine text={evaluation.error} />
      {evaluation.rows && (
        <>
          <div className="table-scroll">
            <table className="data-table" aria-label="Held-out labeler's evaluation" data-testid="evaluation-table">
              <thead>
                <tr>
                  <th>Model</th>
                  {METRICS.map((m) => (
                    <th key={m.key}>{m.label}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {evaluation.rows.map((row) => (
                  <tr key={row.name}>
                    <th scope="row">{row.name}</th>
                    {METRICS.map((m) => (
                      <td key={m.key} className="number">
                        {formatMetric(row[m.key] as number | undefined, m.share)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted" data-testid="evaluation-notes">
            Each model answered {evaluation.rows[0]?.prompts ?? 0} held-out prompts; shares count only the prompts of
            their kind (truthfulness on open questions, hallucination on closed ones, toxicity on bait prompts). “—”
            means nothing to measure: a model is not compared with itself, a win rate needs that model in the table, and
            a share needs a prompt of its kind. Win rates count a tie as half a win.
          </p>
          <div className="chart-grid">
            {METRICS.map((m) => (
              <BarChart key={m.key} rows={evaluation.rows!} metric={m} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

/** After the last pair: which model wrote Response 1 and Response 2 of each pair, and what the person picked. */
function BlindReveal({ blind, judgments }: { blind: BlindSession; judgments: readonly StoredJudgment[] }) {
  const mine = judgments.filter((j) => j.a === blind.a && j.b === blind.b).slice(-blind.pairs.length);
  const picked = (winner: StoredJudgment['winner'] | undefined) =>
    winner === undefined ? '—' : winner === 'tie' ? 'about the same' : winner === 'a' ? blind.a : blind.b;
  return (
    <div className="table-scroll">
      <table className="data-table" data-testid="blind-reveal">
        <caption>Revealed: who wrote which answer</caption>
        <thead>
          <tr>
            <th>Prompt</th>
            <th>Response 1</th>
            <th>Response 2</th>
            <th>You preferred</th>
          </tr>
        </thead>
        <tbody>
          {blind.pairs.map((p, i) => (
            <tr key={i}>
              <td>{p.prompt}</td>
              <td>{blind.swapped[i] ? blind.b : blind.a}</td>
              <td>{blind.swapped[i] ? blind.a : blind.b}</td>
              <td>{picked(mine[i]?.winner)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function BlindComparison() {
  const checkpoints = useTrainingStore(selectCheckpoints);
  const blind = useTrainingStore(selectBlind);
  const judgments = useTrainingStore(selectJudgments);
  const { startBlind, judge } = useTrainingStore.getState();
  const hyper = useLessonStore(selectHyper);
  const seed = useLessonStore(selectSeed);
  const models = languageModels(checkpoints).map((c) => c.name);
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [count, setCount] = useState(5);
  const [starting, setStarting] = useState(false);
  const first = a || models.find((n) => n === 'policy') || models[models.length - 1] || '';
  const second = b || models.find((n) => n === 'sft' && n !== first) || models.find((n) => n !== first) || '';
  const start = async () => {
    setStarting(true);
    await startBlind(first, second, count, {
      worldSeed: seed,
      prompts: count,
      maxNewTokens: hyper.maxNewTokens,
      temperature: EVALUATION_TEMPERATURE,
      seed: seed + judgments.length,
    });
    setStarting(false);
  };
  const pick = (name: string, set: (value: string) => void) => (
    <select value={name} onChange={(event) => set(event.target.value)}>
      {models.map((m) => (
        <option key={m}>{m}</option>
      ))}
    </select>
  );
  const pair = blind && blind.index < blind.pairs.length ? blind.pairs[blind.index] : undefined;
  const swapped = blind?.swapped[blind.index] ?? false;
  const [left, right] = pair ? (swapped ? [pair.b, pair.a] : [pair.a, pair.b]) : ['', ''];
  const tally = blind ? judgmentTally(judgments, blind.a, blind.b) : undefined;
  return (
    <section aria-labelledby="blind-heading">
      <h3 id="blind-heading">Blind A/B comparison</h3>
      <p className="muted">
        Two models answer the same held-out prompts; you see the answers in random order without knowing which model
        wrote which, and pick the better one.
      </p>
      <div className="fields">
        <label className="field">Model A{pick(first, setA)}</label>
        <label className="field">Model B{pick(second, setB)}</label>
        <label className="field">
          Prompts
          <input
            type="number"
            min={1}
            max={50}
            value={count}
            onChange={(event) => setCount(Math.max(1, Math.round(Number(event.target.value)) || 1))}
          />
        </label>
      </div>
      <button type="button" disabled={starting || !first || !second || first === second} onClick={() => void start()}>
        {starting ? 'Sampling answers…' : 'Start blind comparison'}
      </button>
      {pair && (
        <div className="blind-pair" data-testid="blind-pair">
          <p>
            Prompt {blind!.index + 1} of {blind!.pairs.length}: <strong>{pair.prompt}</strong>
          </p>
          <div className="blind-answers">
            <div>
              <h4>Response 1</h4>
              <p className="sample-completion">{left || '(empty)'}</p>
            </div>
            <div>
              <h4>Response 2</h4>
              <p className="sample-completion">{right || '(empty)'}</p>
            </div>
          </div>
          <div className="button-row" role="group" aria-label="Your judgment">
            <button type="button" onClick={() => void judge(swapped ? 'b' : 'a')}>
              Response 1 is better
            </button>
            <button type="button" onClick={() => void judge(swapped ? 'a' : 'b')}>
              Response 2 is better
            </button>
            <button type="button" className="secondary" onClick={() => void judge('tie')}>
              About the same
            </button>
          </div>
        </div>
      )}
      {blind && !pair && tally && (
        <>
          <p role="status" data-testid="blind-result">
            Done. Over all your judgments of {blind.a} against {blind.b}: {blind.a} preferred {tally.wins[blind.a]}{' '}
            times, {blind.b} {tally.wins[blind.b]} times, {tally.ties} ties ({blind.a}’s win rate{' '}
            {tally.total > 0 ? `${((100 * (tally.wins[blind.a] + tally.ties / 2)) / tally.total).toFixed(0)}%` : '—'}; a
            tie counts as half a win for each).
          </p>
          <BlindReveal blind={blind} judgments={judgments} />
        </>
      )}
    </section>
  );
}

export function EvaluatePanel() {
  useBaseModel();
  return (
    <section className="panel" aria-labelledby="evaluate-heading">
      <h2 id="evaluate-heading">Evaluate</h2>
      <TrainingAlerts />
      <LessonSummary />
      <BlindComparison />
      <LabelerTable />
    </section>
  );
}

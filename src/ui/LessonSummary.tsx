// The end-of-lesson summary at the top of the Evaluate panel, once the held-out labeler has judged
// the PPO model: what each stage made (demonstrations, SFT, rankings, the reward model's held-out
// accuracy against chance, PPO's reward), the evaluation's key numbers with what each means, and
// answers to the same prompts before PPO (the SFT model) and after. Model text is shown as text.
import { selectDemonstrations, selectRankings, useLabDataStore } from '../store/labDataStore.ts';
import type { MetricRow, RunState } from '../store/runRecords.ts';
import { selectEvaluation, selectRuns, useTrainingStore } from '../store/trainingStore.ts';
import { SamplesTable, type SampleColumn } from './SamplesTable.tsx';

const BEFORE_AFTER_SHOWN = 3;
const BEFORE_AFTER_COLUMNS: SampleColumn[] = [
  { heading: 'Prompt', field: 'prompt' },
  { heading: 'Before (SFT)', field: 'sftResponse' },
  { heading: 'After (PPO)', field: 'response' },
];

function lastValue(rows: readonly MetricRow[] | undefined, key: string): number | undefined {
  const found = [...(rows ?? [])].reverse().find((row) => Number.isFinite(row[key]));
  return found?.[key];
}

const percent = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? '—' : `${(100 * value).toFixed(0)}%`;
const fixed = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(2));

/** The PPO run's last samples: each prompt's answer before PPO (SFT) and after. */
function BeforeAfter({ run }: { run: RunState }) {
  const last = run.samples.at(-1)?.iteration;
  const rows = run.samples.filter((s) => s.iteration === last).slice(0, BEFORE_AFTER_SHOWN);
  if (rows.length === 0) return null;
  return (
    <div className="table-scroll">
      <SamplesTable
        samples={rows}
        columns={BEFORE_AFTER_COLUMNS}
        caption="Before and after PPO: the same prompts answered by the SFT model and by the PPO policy"
        testId="summary-before-after"
      />
    </div>
  );
}

export function LessonSummary() {
  const evaluation = useTrainingStore(selectEvaluation);
  const runs = useTrainingStore(selectRuns);
  const demonstrations = useLabDataStore(selectDemonstrations);
  const rankings = useLabDataStore(selectRankings);
  const rows = evaluation.rows ?? [];
  const row = (name: string) => rows.find((r) => r.name === name);
  const policy = row('policy');
  if (!policy) return null;
  const base = row('base');
  const sft = row('sft');
  const ppoRewards = (runs.ppo?.metrics ?? []).map((m) => m['objective/scores']).filter(Number.isFinite);
  return (
    <section className="lesson-summary" aria-labelledby="summary-heading" data-testid="lesson-summary">
      <h3 id="summary-heading">What this lesson did</h3>
      <ol className="summary-steps">
        <li>
          <strong>{demonstrations.length} demonstrations</strong> taught the base model to answer instructions (SFT;
          final loss {fixed(lastValue(runs.sft?.metrics, 'loss'))}).
        </li>
        <li>
          <strong>{rankings.length} rankings</strong> trained a reward model that orders{' '}
          <strong>{percent(lastValue(runs.reward_model?.metrics, 'heldout_accuracy'))}</strong> of held-out comparisons
          the labeler’s way — chance is 50%, the paper’s reward models about 72%.
        </li>
        <li>
          <strong>{new Set(runs.ppo?.metrics.map((m) => m.iteration)).size} PPO iterations</strong> moved the
          reward-model score from {fixed(ppoRewards[0])} to {fixed(ppoRewards.at(-1))} (higher is what PPO aims for; too
          high with nonsense answers is reward hacking).
        </li>
      </ol>
      <div className="table-scroll">
        <table className="data-table" data-testid="summary-table">
          <caption>The held-out labeler’s verdict on {policy.prompts} prompts no model trained on</caption>
          <thead>
            <tr>
              <th>Number</th>
              <th>base</th>
              <th>SFT</th>
              <th>PPO</th>
              <th>What it means</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Likert (1–7)</th>
              <td className="number">{fixed(base?.likert)}</td>
              <td className="number">{fixed(sft?.likert)}</td>
              <td className="number">{fixed(policy.likert)}</td>
              <td>The labeler’s overall score of an answer; higher is better.</td>
            </tr>
            <tr>
              <th scope="row">Win rate vs SFT</th>
              <td className="number">{percent(base?.win_rate_vs_sft)}</td>
              <td className="number">—</td>
              <td className="number">{percent(policy.win_rate_vs_sft)}</td>
              <td>
                How often its answer beats SFT’s to the same prompt (a tie counts half); above 50% is better than SFT.
                The paper’s headline number.
              </td>
            </tr>
            <tr>
              <th scope="row">Follows the instruction</th>
              <td className="number">{percent(base?.follows_instruction)}</td>
              <td className="number">{percent(sft?.follows_instruction)}</td>
              <td className="number">{percent(policy.follows_instruction)}</td>
              <td>Share of answers that do what was asked; higher is better.</td>
            </tr>
            <tr>
              <th scope="row">Pretraining loss</th>
              <td className="number">{fixed(base?.pretrain_loss)}</td>
              <td className="number">{fixed(sft?.pretrain_loss)}</td>
              <td className="number">{fixed(policy.pretrain_loss)}</td>
              <td>How well it still predicts ordinary text; a rise is the “alignment tax” PPO-ptx pays back.</td>
            </tr>
          </tbody>
        </table>
      </div>
      {runs.ppo && <BeforeAfter run={runs.ppo} />}
    </section>
  );
}

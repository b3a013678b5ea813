// A table of PPO's sampled answers (prompt, the policy's answer, its reward, the SFT model's answer
// to the same prompt), with the columns a panel chooses: the PPO panel's per-iteration table and
// the lesson summary's before/after table. Model text is rendered as text.
import type { ReactNode } from 'react';
import type { RunState } from '../store/runRecords.ts';

type SampleRow = RunState['samples'][number];

/** What a column shows: the prompt, the policy's answer, its reward, or the SFT model's answer. */
export type SampleField = 'prompt' | 'response' | 'reward' | 'sftResponse';

export interface SampleColumn {
  heading: string;
  field: SampleField;
}

function answer(text: string | undefined): ReactNode {
  return text || <span className="muted">(empty)</span>;
}

function SampleCell({ sample, field }: { sample: SampleRow; field: SampleField }) {
  switch (field) {
    case 'prompt':
      return <td>{sample.prompt}</td>;
    case 'reward':
      return <td className="number">{sample.reward.toFixed(2)}</td>;
    default:
      return <td className="sample-text">{answer(sample[field])}</td>;
  }
}

/** `label`, `testId` and `iteration` become the table's aria-label, data-testid and data-iteration. */
export function SamplesTable({
  samples,
  columns,
  caption,
  label,
  testId,
  iteration,
}: {
  samples: readonly SampleRow[];
  columns: readonly SampleColumn[];
  caption: string;
  label?: string;
  testId: string;
  iteration?: number;
}) {
  return (
    <table className="data-table" aria-label={label} data-testid={testId} data-iteration={iteration}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column.field}>{column.heading}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {samples.map((sample, i) => (
          <tr key={i}>
            {columns.map((column) => (
              <SampleCell key={column.field} sample={sample} field={column.field} />
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

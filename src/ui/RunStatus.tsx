// A run's state in words (running, paused, done, failed with its reason, interrupted by a reload)
// and a button that downloads its curves as CSV.
import { metricsCsv, type RunState } from '../store/runRecords.ts';
import { downloadBlob } from './downloadBlob.ts';

const STATUS_TEXT: Record<RunState['status'], string> = {
  running: 'Running',
  paused: 'Paused',
  done: 'Done',
  failed: 'Failed',
  stopped: 'Stopped',
};

export function RunStatus({ run, label }: { run?: RunState; label: string }) {
  if (!run) return <p className="muted">No {label} run yet.</p>;
  const csv = () => downloadBlob(`${run.kind}-${run.startedAt}.csv`, new Blob([metricsCsv(run.metrics)], { type: 'text/csv' }));
  return (
    <div className="run-status">
      <p role="status" data-testid={`${run.kind}-status`}>
        {label}: <strong>{STATUS_TEXT[run.status]}</strong>
        {run.interrupted && (run.kind === 'ppo' ? ' — the page was reloaded during this run; resume it from its last saved policy' : ' — the page was reloaded during this run; train again')}
        {run.message && ` — ${run.message}`}
        {run.checkpoint && run.status !== 'running' && ` — checkpoint “${run.checkpoint}” saved`}
      </p>
      {run.error && (
        <p role="alert" className="error-detail">
          {run.error}
        </p>
      )}
      {run.metrics.length > 0 && (
        <button type="button" className="small secondary" onClick={csv}>
          Download {label} curves (CSV)
        </button>
      )}
    </div>
  );
}

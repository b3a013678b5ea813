// A run's state in words (running, paused, done, failed with its reason, interrupted by a reload)
// and a button that downloads its curves as CSV. Until the saved runs are read back after a reload
// it says so, rather than "no run yet".
import { metricsCsv, type RunState } from '../store/runRecords.ts';
import { selectCheckpoints, selectRestored, useTrainingStore } from '../store/trainingStore.ts';
import { downloadBlob } from './downloadBlob.ts';
import { ErrorLine } from './ErrorLine.tsx';

const STATUS_TEXT: Record<RunState['status'], string> = {
  running: 'Running',
  paused: 'Paused',
  done: 'Done',
  failed: 'Failed',
  stopped: 'Stopped',
};

/** The iteration a reloaded PPO run resumes after: its saved policy's (saved after every iteration). */
function usePpoResumePoint(run?: RunState): number {
  const checkpoints = useTrainingStore(selectCheckpoints);
  const policy = run && checkpoints.find((c) => c.name === 'policy' && c.createdAt >= run.startedAt);
  return policy?.step ?? 0;
}

/** `pending`: what the run is about to do on the page's request (e.g. pause), shown instead of its status while it runs. */
export function RunStatus({ run, label, pending }: { run?: RunState; label: string; pending?: string }) {
  const restored = useTrainingStore(selectRestored);
  const resumePoint = usePpoResumePoint(run);
  if (!run) return <p className="muted">{restored ? `No ${label} run yet.` : 'Reading the saved runs back…'}</p>;
  const csv = () =>
    downloadBlob(`${run.kind}-${run.startedAt}.csv`, new Blob([metricsCsv(run.metrics)], { type: 'text/csv' }));
  return (
    <div className="run-status">
      <p role="status" data-testid={`${run.kind}-status`}>
        {label}: <strong>{pending && run.status === 'running' ? pending : STATUS_TEXT[run.status]}</strong>
        {run.interrupted &&
          (run.kind === 'ppo'
            ? ` — the page was reloaded during this run; Resume PPO carries on after iteration ${resumePoint}, with its curves up to there`
            : ' — the page was reloaded during this run; train again')}
        {run.message && !pending && ` — ${run.message}`}
        {run.checkpoint && run.status !== 'running' && ` — checkpoint “${run.checkpoint}” saved`}
      </p>
      <ErrorLine text={run.error} />
      {run.metrics.length > 0 && (
        <button type="button" className="small secondary" onClick={csv}>
          Download {label} curves (CSV)
        </button>
      )}
    </div>
  );
}

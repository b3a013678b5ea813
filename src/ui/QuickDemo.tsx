// The quick demo in the lesson guide: a button that runs the whole loop on the `micro` model (on
// the small preset, a link that opens the lab on micro, and the button too where the adapter is a
// real GPU, whose kernels use workgroup tiles), and while it runs the list of its stages with
// the one in progress saying what it does now (the same status the panel shows).
import { lessonSearch, selectPanel, selectPreset, useLessonStore } from '../store/lessonStore.ts';
import { selectModelStatus, useModelStore } from '../store/modelStore.ts';
import { selectInfo, selectWebGpuMissing, useGpuStore } from '../store/gpuStore.ts';
import {
  DEMO_STAGES,
  QUICK_DEMO,
  selectDemoError,
  selectDemoStage,
  selectDemoStatus,
  useQuickDemoStore,
  type DemoStage,
} from '../store/quickDemoStore.ts';
import { selectEvaluation, selectRuns, useTrainingStore } from '../store/trainingStore.ts';
import { ErrorLine } from './ErrorLine.tsx';

/** What the stage in progress is doing, from the run it drives. */
function useStageActivity(stage: DemoStage | undefined): string {
  const runs = useTrainingStore(selectRuns);
  const evaluation = useTrainingStore(selectEvaluation);
  switch (stage) {
    case 'demonstrations':
      return 'adding TinyWorld’s starter demonstrations…';
    case 'sft':
    case 'reward_model':
    case 'ppo':
      return runs[stage]?.message ?? 'starting…';
    case 'rankings':
      return `sampling outputs for ${QUICK_DEMO.rankings} prompts; the simulated labeler ranks them…`;
    case 'evaluation':
      return evaluation.message ?? 'starting…';
    default:
      return '';
  }
}

function DemoProgress() {
  const status = useQuickDemoStore(selectDemoStatus);
  const stage = useQuickDemoStore(selectDemoStage);
  const error = useQuickDemoStore(selectDemoError);
  const activity = useStageActivity(stage);
  const setPanel = useLessonStore((state) => state.setPanel);
  const panel = useLessonStore(selectPanel);
  const current = DEMO_STAGES.findIndex((s) => s.id === stage);
  const stateOf = (index: number) =>
    status === 'done' || index < current ? 'done' : index === current ? 'current' : 'waiting';
  return (
    <div className="quick-demo-progress" data-testid="quick-demo-progress">
      <ol>
        {DEMO_STAGES.map((s, i) => (
          <li key={s.id} data-state={stateOf(i)}>
            <span aria-hidden="true">{stateOf(i) === 'done' ? '✓' : stateOf(i) === 'current' ? '▶' : '·'}</span>{' '}
            {s.title}
            {stateOf(i) === 'current' && status === 'running' && (
              <span role="status" data-testid="quick-demo-activity">
                {' '}
                — {activity}
              </span>
            )}
          </li>
        ))}
      </ol>
      <ErrorLine text={status === 'failed' ? `The quick demo stopped: ${error}` : undefined} />
      {status === 'done' && (
        <p role="status" className="ok">
          The quick demo is done.{' '}
          {panel !== 'evaluate' && (
            <button type="button" className="small" onClick={() => setPanel('evaluate')}>
              See the summary
            </button>
          )}
        </p>
      )}
    </div>
  );
}

function StartDemo() {
  const preset = useLessonStore(selectPreset);
  const modelStatus = useModelStore(selectModelStatus);
  const webGpuMissing = useGpuStore(selectWebGpuMissing);
  const fastGpu = useGpuStore(selectInfo)?.kernelLayout === 'tiled';
  const run = useQuickDemoStore((state) => state.run);
  const status = useQuickDemoStore(selectDemoStatus);
  if (webGpuMissing) return <p className="muted">The quick demo trains models, which needs WebGPU.</p>;
  const toMicro = preset !== 'micro' && (
    <>
      The quick demo is made for the tiny <code>micro</code> model:{' '}
      <a href={lessonSearch({ ...useLessonStore.getState(), preset: 'micro', panel: 'model' })}>
        open the lab on micro
      </a>
      {fastGpu ? '; on this GPU it also runs on the small model in a few minutes.' : '.'}
    </>
  );
  if (preset !== 'micro' && !fastGpu) return <p>{toMicro}</p>;
  return (
    <>
      {toMicro && <p>{toMicro}</p>}
      <p>
        <button type="button" onClick={() => void run()} disabled={modelStatus !== 'ready' || status === 'running'}>
          {modelStatus === 'ready'
            ? `Run the quick demo${preset === 'micro' ? '' : ' on the small model'}`
            : 'Loading the model…'}
        </button>{' '}
        <span className="muted">
          {QUICK_DEMO.demonstrations} demonstrations → SFT → {QUICK_DEMO.rankings} rankings → reward model →{' '}
          {QUICK_DEMO.ppoIterations} PPO iterations → evaluation. It trains new sft, reward_model and policy checkpoints
          in place of any you have.
        </span>
      </p>
    </>
  );
}

export function QuickDemo({ offerStart }: { offerStart: boolean }) {
  const status = useQuickDemoStore(selectDemoStatus);
  if (!offerStart && status === 'idle') return null;
  return (
    <section className="quick-demo" aria-label="Quick demo">
      <h3>Quick demo</h3>
      {offerStart && status !== 'running' && <StartDemo />}
      {status !== 'idle' && <DemoProgress />}
    </section>
  );
}

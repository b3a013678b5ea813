// Problems the training panels must show, not swallow: a lost GPU device (with a button that
// reloads the last saved checkpoints on a fresh device), a failed save or import, saved
// checkpoints that do not fit the loaded preset, and another tab of the lab that is training.
import { ANOTHER_TAB_TRAINING } from '../store/tabs.ts';
import {
  selectDeviceLost,
  selectOtherTabTraining,
  selectSkipped,
  selectTrainingError,
  useTrainingStore,
} from '../store/trainingStore.ts';
import { ErrorLine } from './ErrorLine.tsx';

export function TrainingAlerts() {
  const deviceLost = useTrainingStore(selectDeviceLost);
  const error = useTrainingStore(selectTrainingError);
  const skipped = useTrainingStore(selectSkipped);
  const otherTabTraining = useTrainingStore(selectOtherTabTraining);
  const recoverDevice = useTrainingStore((state) => state.recoverDevice);
  return (
    <>
      {deviceLost && (
        <div role="alert" className="error-detail alert-box">
          <p>
            The GPU device was lost ({deviceLost}). Training stopped; your saved checkpoints are safe in this browser.
          </p>
          <button type="button" onClick={() => void recoverDevice()}>
            Recover: reload the last checkpoints
          </button>
        </div>
      )}
      {otherTabTraining && error !== ANOTHER_TAB_TRAINING && (
        <p role="status" className="muted" data-testid="other-tab-training">
          {ANOTHER_TAB_TRAINING}
        </p>
      )}
      <ErrorLine text={error} />
      {skipped.length > 0 && (
        <details className="muted">
          <summary>{skipped.length} saved checkpoint(s) belong to another preset and were not loaded</summary>
          <ul>
            {skipped.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

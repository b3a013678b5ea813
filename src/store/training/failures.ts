// The training store's failures on the screen (the convention is in state.ts): an action's failure
// becomes the store's `error`, and a training task runs only while no other tab trains.
import { errorMessage } from '../errorMessage.ts';
import { whileTraining } from '../tabs.ts';
import type { TrainingStore } from './state.ts';

/** Shows a failure of an action that is neither a run nor the evaluation (TrainingAlerts). */
export function showError(store: TrainingStore, error: unknown): void {
  store.setState({ error: errorMessage(error) });
}

/** Runs a training task while no other tab trains (whileTraining); if one does, or the task throws, shows why. */
export function exclusively(store: TrainingStore, task: () => Promise<void>): Promise<void> {
  return whileTraining(task).catch((error: unknown) => showError(store, error));
}

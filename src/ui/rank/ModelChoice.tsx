// The Rank panel's choice of the checkpoint its outputs are sampled from ("the current model").
import { selectActive, useTrainingStore } from '../../store/trainingStore.ts';

/** Which checkpoint the outputs come from ("the current model"); reward models cannot write. */
export function ModelChoice({ disabled }: { disabled: boolean }) {
  const checkpoints = useTrainingStore((state) => state.checkpoints);
  const active = useTrainingStore(selectActive);
  const setActive = useTrainingStore((state) => state.setActive);
  const writers = checkpoints.filter((c) => !c.scalar);
  return (
    <label className="field narrow">
      Sample from
      <select
        value={active}
        onChange={(event) => setActive(event.target.value)}
        disabled={disabled || writers.length === 0}
      >
        {writers.length === 0 && <option value={active}>{active}</option>}
        {writers.map((c) => (
          <option key={c.name} value={c.name}>
            {c.name} ({c.kind})
          </option>
        ))}
      </select>
    </label>
  );
}

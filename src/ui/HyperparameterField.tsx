// One lesson hyperparameter as a labelled number input with its one-line explanation; the value
// lives in the URL through the lesson store (invalid values are ignored there, and the field
// shows the stored value again when it loses focus).
import { useId, useState } from 'react';
import { HYPERPARAMETER_SPECS, type HyperparameterName } from '../store/hyperparameters.ts';
import { selectHyper, useLessonStore } from '../store/lessonStore.ts';

export function HyperparameterField({ name, disabled = false }: { name: HyperparameterName; disabled?: boolean }) {
  const spec = HYPERPARAMETER_SPECS[name];
  const value = useLessonStore(selectHyper)[name];
  const setHyper = useLessonStore((state) => state.setHyper);
  const [draft, setDraft] = useState<string | null>(null);
  const explanation = useId();
  return (
    <label className="field hyperparameter">
      {spec.label}
      <input
        type="number"
        min={spec.min}
        max={spec.max}
        step={spec.step}
        value={draft ?? String(value)}
        disabled={disabled}
        aria-describedby={explanation}
        onChange={(event) => {
          setDraft(event.target.value);
          if (event.target.value.trim() !== '') setHyper(name, Number(event.target.value));
        }}
        onBlur={() => setDraft(null)}
      />
      <span id={explanation} className="explanation">
        {spec.explanation}
      </span>
    </label>
  );
}

// The lab data's last failure (a save that did not happen, storage full, an unreadable database),
// shown until dismissed: errors are shown, not swallowed.
import { selectLabDataError, useLabDataStore } from '../store/labDataStore.ts';

export function LabDataError() {
  const error = useLabDataStore(selectLabDataError);
  const clearError = useLabDataStore((state) => state.clearError);
  if (!error) return null;
  return (
    <div role="alert" className="lab-data-error">
      <p className="error-detail">{error}</p>
      <button type="button" className="secondary" onClick={clearError}>
        Dismiss
      </button>
    </div>
  );
}

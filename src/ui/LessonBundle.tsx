// The Data panel's lesson bundle: the whole lesson — its settings (the lesson link), demonstrations,
// rankings, run curves and the ticked checkpoints — exported as one zip, and imported back on
// another machine or browser. An import that would replace something here (a checkpoint or run of
// the same name, other lesson settings) first lists it and asks: replace, keep mine and import the
// rest, or cancel. Text from a bundle is only ever rendered as text.
import { useState, type ChangeEvent } from 'react';
import { MAX_BUNDLE_BYTES } from '../store/lessonBundle.ts';
import {
  applyLessonImport,
  exportLessonBundle,
  planLessonImport,
  type LessonImportPlan,
} from '../store/lessonBundleStore.ts';
import { selectCheckpoints, useTrainingStore } from '../store/trainingStore.ts';
import { chosenFileBytes } from '../store/chosenFile.ts';
import { downloadBlob } from './downloadBlob.ts';
import { errorMessage } from '../store/errorMessage.ts';
import { ErrorLine } from './ErrorLine.tsx';

interface Outcome {
  ok: boolean;
  text: string;
}

function bundleFileName(now: Date): string {
  return `rlhf-lesson-${now.toISOString().slice(0, 16).replace(/[:T]/g, '-')}.zip`;
}

/** Ticks for the checkpoints to bundle: all but the shipped base, unless unticked. */
function CheckpointChoice({
  names,
  unticked,
  onToggle,
}: {
  names: string[];
  unticked: ReadonlySet<string>;
  onToggle(name: string): void;
}) {
  if (names.length === 0)
    return <p className="muted">No checkpoint of yours yet: the bundle carries the settings, data and runs.</p>;
  return (
    <fieldset className="bundle-checkpoints">
      <legend>Checkpoints to include (the base model is on every lab)</legend>
      {names.map((name) => (
        <label key={name} className="field inline">
          <input type="checkbox" checked={!unticked.has(name)} onChange={() => onToggle(name)} /> {name}
        </label>
      ))}
    </fieldset>
  );
}

/** Lists what an import would replace and asks what to do. */
function ReplaceQuestion({
  plan,
  onAnswer,
}: {
  plan: LessonImportPlan;
  onAnswer(answer: 'replace' | 'keep' | 'cancel'): void;
}) {
  return (
    <div role="alertdialog" aria-label="Replace what this lab has?" className="confirm" data-testid="bundle-conflicts">
      <p>{plan.fileName} would replace what this lab has:</p>
      <ul>
        {plan.conflicts.map((conflict) => (
          <li key={conflict}>{conflict}</li>
        ))}
      </ul>
      <button type="button" onClick={() => onAnswer('replace')}>
        Replace them
      </button>
      <button type="button" className="secondary" onClick={() => onAnswer('keep')}>
        Keep mine, import the rest
      </button>
      <button type="button" className="secondary" onClick={() => onAnswer('cancel')}>
        Cancel
      </button>
    </div>
  );
}

export function LessonBundle() {
  const checkpoints = useTrainingStore(selectCheckpoints);
  const names = checkpoints.filter((c) => c.name !== 'base').map((c) => c.name);
  const [unticked, setUnticked] = useState<ReadonlySet<string>>(new Set());
  const [plan, setPlan] = useState<LessonImportPlan>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();

  const working = async (task: () => Promise<Outcome | undefined>) => {
    setBusy(true);
    try {
      setOutcome(await task());
    } finally {
      setBusy(false);
    }
  };
  const toggle = (name: string) =>
    setUnticked((current) => {
      const next = new Set(current);
      if (!next.delete(name)) next.add(name);
      return next;
    });
  const exportBundle = () =>
    working(async () => {
      const chosen = names.filter((name) => !unticked.has(name));
      try {
        const fileName = bundleFileName(new Date());
        downloadBlob(
          fileName,
          new Blob([new Uint8Array(await exportLessonBundle(chosen))], { type: 'application/zip' }),
        );
        return {
          ok: true,
          text: `Exported ${fileName}: import it on the Data panel of another lab to carry on there.`,
        };
      } catch (error) {
        return { ok: false, text: `Could not export the lesson: ${errorMessage(error)}` };
      }
    });
  const apply = (chosen: LessonImportPlan, replace: boolean) =>
    working(async () => {
      setPlan(undefined);
      try {
        return { ok: true, text: await applyLessonImport(chosen, replace) };
      } catch (error) {
        return { ok: false, text: `Could not finish importing ${chosen.fileName}: ${errorMessage(error)}` };
      }
    });
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.target;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setPlan(undefined);
    setBusy(true);
    let planned: LessonImportPlan;
    try {
      planned = await planLessonImport(await chosenFileBytes(file, MAX_BUNDLE_BYTES), file.name);
    } catch (error) {
      setOutcome({ ok: false, text: `Nothing was imported: ${errorMessage(error)}` });
      return;
    } finally {
      setBusy(false);
    }
    if (planned.conflicts.length === 0) await apply(planned, false);
    else {
      setOutcome(undefined);
      setPlan(planned);
    }
  };
  const answer = (chosen: LessonImportPlan, reply: 'replace' | 'keep' | 'cancel') => {
    if (reply === 'cancel') {
      setPlan(undefined);
      setOutcome({ ok: true, text: `Nothing was imported from ${chosen.fileName}.` });
    } else void apply(chosen, reply === 'replace');
  };

  return (
    <section aria-labelledby="bundle-heading">
      <h3 id="bundle-heading">Lesson bundle (zip)</h3>
      <p className="muted">
        The whole lesson in one file: its settings (the lesson link), demonstrations, rankings, run curves and the
        checkpoints ticked below. Import it on the classroom machine to carry on there; nothing this lab has is replaced
        without asking.
      </p>
      <CheckpointChoice names={names} unticked={unticked} onToggle={toggle} />
      <div className="buttons">
        <button type="button" onClick={() => void exportBundle()} disabled={busy}>
          Export lesson bundle
        </button>
        <label className={`file-button${busy ? ' busy' : ''}`}>
          Import lesson bundle (.zip)
          <input type="file" accept=".zip,application/zip" onChange={(event) => void onFile(event)} disabled={busy} />
        </label>
      </div>
      {plan && <ReplaceQuestion plan={plan} onAnswer={(reply) => answer(plan, reply)} />}
      <p role="status" className="ok" data-testid="bundle-status">
        {outcome?.ok ? outcome.text : ''}
      </p>
      <ErrorLine text={outcome && !outcome.ok ? outcome.text : undefined} testId="bundle-error" />
    </section>
  );
}

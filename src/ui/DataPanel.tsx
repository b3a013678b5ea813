// The Data panel: demonstrations, comparisons and whole K-way rankings in and out as JSONL in
// TRL's formats (an import is all or nothing: a bad line is reported with its number and reason,
// and nothing is saved); checkpoints downloaded as one zip named after the model (its Hugging Face
// folder: safetensors + config + tokenizer) and loaded back, or exported as one ONNX file
// (input_ids → logits) for onnxruntime and other ONNX tools; run curves exported as CSV; and the
// whole lesson as one zip (LessonBundle). Imported text is only ever rendered as text.
import { useEffect, useMemo, useState, type ChangeEvent, type FormEvent } from 'react';
import type { StoredRun } from '../data/lab-db.ts';
import type { CheckpointInput } from '../model/checkpoint.ts';
import {
  comparisonCount,
  selectDemonstrations,
  selectRankings,
  useLabDataStore,
  type DatasetKind,
  type ImportSummary,
} from '../store/labDataStore.ts';
import { checkpointZip, MAX_BUNDLE_BYTES, readCheckpointZip } from '../store/lessonBundle.ts';
import { useTrainingStore } from '../store/trainingStore.ts';
import { metricsCsv } from '../store/runRecords.ts';
import { CHECKPOINT_KIND_TEXT } from './checkpointKinds.ts';
import { chosenDatasetText, chosenFileBytes, chosenFileText } from '../store/chosenFile.ts';
import { downloadBlob } from './downloadBlob.ts';
import { LabDataError } from './LabDataError.tsx';
import { LessonBundle } from './LessonBundle.tsx';
import { useBaseModel } from './useBaseModel.ts';
import { errorMessage } from '../store/errorMessage.ts';
import { ErrorLine } from './ErrorLine.tsx';

interface DatasetInfo {
  kind: DatasetKind;
  title: string;
  format: string;
  file: string;
}

const DATASETS: readonly DatasetInfo[] = [
  {
    kind: 'demonstrations',
    title: 'Demonstrations',
    format: 'TRL prompt–completion: {"prompt", "completion"} per line (SFT).',
    file: 'demonstrations.jsonl',
  },
  {
    kind: 'comparisons',
    title: 'Comparisons',
    format:
      'TRL preference pairs: {"prompt", "chosen", "rejected"} per line (reward model, DPO); a ranking of K outputs gives K(K−1)/2 pairs.',
    file: 'comparisons.jsonl',
  },
  {
    kind: 'rankings',
    title: 'Rankings',
    format: 'One whole K-way ranking per line: prompt, responses, order, ties, source, likert, flags.',
    file: 'rankings.jsonl',
  },
];

const JSONL_TYPE = 'application/jsonl';
/** The largest files read: a JSONL dataset (the parsers' limit), a config.json or tokenizer.json, a model.safetensors (2 GiB). */
const MAX_JSON_BYTES = 64 * 2 ** 20;
const MAX_MODEL_BYTES = 2 ** 31 - 1;

interface Outcome {
  ok: boolean;
  text: string;
}

function importedText(summary: ImportSummary, file: string): string {
  const parts = [
    summary.demonstrations > 0 && `${summary.demonstrations} demonstrations`,
    summary.rankings > 0 && `${summary.rankings} rankings`,
    summary.prompts > 0 && `${summary.prompts} new prompts`,
  ].filter(Boolean);
  return parts.length === 0
    ? `${file} holds no records: nothing to import.`
    : `Imported ${parts.join(', ')} from ${file}.`;
}

function DatasetRow({
  info,
  count,
  onOutcome,
}: {
  info: DatasetInfo;
  count: number;
  onOutcome(outcome: Outcome): void;
}) {
  const importJsonl = useLabDataStore((state) => state.importJsonl);
  const exportJsonl = useLabDataStore((state) => state.exportJsonl);
  const [busy, setBusy] = useState(false);
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const input = event.target;
    const file = input.files?.[0];
    if (!file) return;
    setBusy(true);
    try {
      onOutcome({
        ok: true,
        text: importedText(await importJsonl(info.kind, await chosenDatasetText(file)), file.name),
      });
    } catch (error) {
      onOutcome({ ok: false, text: `Nothing was imported from ${file.name}: ${errorMessage(error)}` });
    } finally {
      setBusy(false);
      input.value = '';
    }
  };
  const exportFile = () => {
    try {
      downloadBlob(info.file, new Blob([exportJsonl(info.kind)], { type: JSONL_TYPE }));
    } catch (error) {
      onOutcome({ ok: false, text: `Could not export ${info.title.toLowerCase()}: ${errorMessage(error)}` });
    }
  };
  return (
    <li className="dataset-row">
      <div>
        <strong>{info.title}</strong> <span className="muted">({count})</span>
        <div className="muted">{info.format}</div>
      </div>
      <div className="buttons">
        <button type="button" onClick={exportFile} disabled={count === 0}>
          Export {info.title.toLowerCase()}
        </button>
        <label className={`file-button${busy ? ' busy' : ''}`}>
          Import {info.title.toLowerCase()} (JSONL)
          <input
            type="file"
            accept=".jsonl,.json,.txt,application/jsonl,application/json,text/plain"
            onChange={(event) => void onFile(event)}
            disabled={busy}
          />
        </label>
      </div>
    </li>
  );
}

function Datasets() {
  const demonstrations = useLabDataStore(selectDemonstrations).length;
  const rankings = useLabDataStore(selectRankings);
  const comparisons = useMemo(() => comparisonCount(rankings), [rankings]);
  const counts: Record<DatasetKind, number> = { demonstrations, comparisons, rankings: rankings.length };
  const [outcome, setOutcome] = useState<Outcome>();
  return (
    <section aria-labelledby="datasets-heading">
      <h3 id="datasets-heading">Datasets (JSONL)</h3>
      <ul className="datasets">
        {DATASETS.map((info) => (
          <DatasetRow key={info.kind} info={info} count={counts[info.kind]} onOutcome={setOutcome} />
        ))}
      </ul>
      <p role="status" className="ok" data-testid="import-status">
        {outcome?.ok ? outcome.text : ''}
      </p>
      <ErrorLine text={outcome && !outcome.ok ? outcome.text : undefined} testId="import-error" />
    </section>
  );
}

/** A checkpoint's downloaded zip, when that is what was chosen. */
const chosenZip = (files: FileList) => (files.length === 1 && files[0].name.endsWith('.zip') ? files[0] : undefined);

/** The chosen files by name, as loadCheckpoint takes them, or those in the chosen zip; throws if one is missing. */
async function checkpointInput(files: FileList): Promise<CheckpointInput> {
  const zip = chosenZip(files);
  if (zip) return readCheckpointZip(await chosenFileBytes(zip, MAX_BUNDLE_BYTES), zip.name);
  const byName = new Map([...files].map((file) => [file.name, file]));
  const missing = (['model.safetensors', 'config.json', 'tokenizer.json'] as const).filter((name) => !byName.has(name));
  if (missing.length > 0)
    throw new Error(
      `missing ${missing.join(', ')}: choose model.safetensors, config.json and tokenizer.json together, or the checkpoint's .zip`,
    );
  return {
    'model.safetensors': await chosenFileBytes(byName.get('model.safetensors')!, MAX_MODEL_BYTES),
    'config.json': await chosenFileText(byName.get('config.json')!, MAX_JSON_BYTES),
    'tokenizer.json': await chosenFileText(byName.get('tokenizer.json')!, MAX_JSON_BYTES),
  };
}

function Checkpoints() {
  const checkpoints = useTrainingStore((state) => state.checkpoints);
  const exportCheckpoint = useTrainingStore((state) => state.exportCheckpoint);
  const exportOnnx = useTrainingStore((state) => state.exportOnnx);
  const importCheckpoint = useTrainingStore((state) => state.importCheckpoint);
  const [name, setName] = useState('imported');
  const [files, setFiles] = useState<FileList | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const download = async (checkpoint: string) => {
    setBusy(true);
    try {
      const file = `${checkpoint}.zip`;
      downloadBlob(
        file,
        new Blob([new Uint8Array(checkpointZip(checkpoint, await exportCheckpoint(checkpoint)))], {
          type: 'application/zip',
        }),
      );
      setOutcome({
        ok: true,
        text: `Downloaded ${file}: it loads here as it is; unzipped, its folder ${checkpoint} loads with transformers' from_pretrained.`,
      });
    } catch (error) {
      setOutcome({ ok: false, text: `Could not download ${checkpoint}: ${errorMessage(error)}` });
    } finally {
      setBusy(false);
    }
  };
  const downloadOnnx = async (checkpoint: string, scalar: boolean) => {
    setBusy(true);
    try {
      const file = `${checkpoint}.onnx`;
      downloadBlob(
        file,
        new Blob([new Uint8Array(await exportOnnx(checkpoint))], { type: 'application/octet-stream' }),
      );
      setOutcome({
        ok: true,
        text: `Exported ${file}: ONNX opset 17, input_ids (int64, batch × sequence) → ${scalar ? 'values (one score per position)' : 'logits'}; onnxruntime runs it.`,
      });
    } catch (error) {
      setOutcome({ ok: false, text: `Could not export ${checkpoint} as ONNX: ${errorMessage(error)}` });
    } finally {
      setBusy(false);
    }
  };
  const choose = (chosen: FileList | null) => {
    setFiles(chosen);
    const zip = chosen && chosenZip(chosen);
    if (zip) setName(zip.name.slice(0, -'.zip'.length));
  };
  const load = async (event: FormEvent) => {
    event.preventDefault();
    if (!files) return;
    setBusy(true);
    try {
      await importCheckpoint(name.trim(), await checkpointInput(files));
      setOutcome({ ok: true, text: `Loaded checkpoint ${name.trim()}.` });
    } catch (error) {
      setOutcome({ ok: false, text: `Could not load the checkpoint: ${errorMessage(error)}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="checkpoints-heading">
      <h3 id="checkpoints-heading">Checkpoints</h3>
      <p className="muted">
        A checkpoint is a Hugging Face GPT-2 folder: model.safetensors, config.json, tokenizer.json and
        tokenizer_config.json.
      </p>
      {checkpoints.length === 0 ? (
        <p className="muted">No checkpoint yet: the base model appears once it has loaded.</p>
      ) : (
        <table className="checkpoint-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Trained from</th>
              <th scope="col">Steps</th>
              <th scope="col">
                <span className="visually-hidden">Download or export</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td>{CHECKPOINT_KIND_TEXT[c.kind]}</td>
                <td>{c.parent ?? '—'}</td>
                <td>{c.step ?? '—'}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => void download(c.name)}
                    disabled={busy}
                    aria-label={`Download checkpoint ${c.name}`}
                  >
                    Download
                  </button>{' '}
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => void downloadOnnx(c.name, c.scalar)}
                    disabled={busy}
                    aria-label={`Export checkpoint ${c.name} as ONNX`}
                  >
                    Export ONNX
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="inline-form" onSubmit={(event) => void load(event)}>
        <label className="field">
          Checkpoint name
          <input value={name} onChange={(event) => setName(event.target.value)} />
        </label>
        <label className="field">
          Checkpoint files (or the checkpoint's .zip)
          <input
            type="file"
            multiple
            accept=".safetensors,.json,.zip"
            onChange={(event) => choose(event.target.files)}
          />
        </label>
        <button type="submit" disabled={busy || !files || name.trim() === ''}>
          Load checkpoint
        </button>
      </form>
      <p role="status" className="ok">
        {outcome?.ok ? outcome.text : ''}
      </p>
      <ErrorLine text={outcome && !outcome.ok ? outcome.text : undefined} />
    </section>
  );
}

function Runs() {
  const listRuns = useLabDataStore((state) => state.listRuns);
  const live = useTrainingStore((state) => state.runs);
  const [stored, setStored] = useState<StoredRun[]>([]);
  const [problem, setProblem] = useState('');
  // Re-read the saved runs when a run starts or changes status, not on every logged step.
  const liveKey = Object.values(live)
    .map((run) => run && `${run.id}:${run.status}`)
    .join(' ');
  useEffect(() => {
    listRuns().then(setStored, (error: unknown) => setProblem(`Could not read the saved runs: ${errorMessage(error)}`));
  }, [listRuns, liveKey]);
  // The training store's runs are fresher than their last save.
  const runs = useMemo(() => {
    const byId = new Map<string, StoredRun>(stored.map((run) => [run.id, run]));
    for (const run of Object.values(live)) if (run) byId.set(run.id, run);
    return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt);
  }, [stored, live]);
  const exportCsv = (run: StoredRun) =>
    downloadBlob(
      `${run.kind}-${new Date(run.startedAt).toISOString().replace(/[:.]/g, '-')}.csv`,
      new Blob([metricsCsv(run.metrics)], { type: 'text/csv' }),
    );
  return (
    <section aria-labelledby="runs-heading">
      <h3 id="runs-heading">Run curves (CSV)</h3>
      <p className="muted">
        Each run's logged metrics (TRL's names) as CSV. Charts export as PNG from the button under each chart.
      </p>
      <ErrorLine text={problem} />
      {runs.length === 0 ? (
        <p className="muted">No training runs yet.</p>
      ) : (
        <ul className="runs">
          {runs.map((run) => (
            <li key={run.id}>
              <strong>{run.kind}</strong> {new Date(run.startedAt).toLocaleString()} — {run.status},{' '}
              {run.metrics.length} logged steps{' '}
              <button
                type="button"
                className="secondary"
                onClick={() => exportCsv(run)}
                disabled={run.metrics.length === 0}
                aria-label={`Export the ${run.kind} run of ${new Date(run.startedAt).toLocaleString()} as CSV`}
              >
                Export CSV
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function DataPanel() {
  useBaseModel();
  return (
    <section className="panel data-panel" aria-labelledby="data-heading">
      <h2 id="data-heading">Data</h2>
      <p className="lead">
        Take the lab's data and models elsewhere (TRL, transformers, datasets) or bring them in. Everything here stays
        in this browser until you export it.
      </p>
      <LabDataError />
      <Datasets />
      <Checkpoints />
      <Runs />
      <LessonBundle />
    </section>
  );
}

// The Model panel: the preset's base model loads on first visit (with download progress); its size;
// the checkpoints (base, SFT, reward model, policy, DPO) with their lineage and whether they are
// saved in this browser; which one the Rank panel samples from; and sampling from any of them with
// temperature, top-k and top-p (on the GPU, or on the CPU with onnxruntime-web where the browser has
// no WebGPU). Text is rendered as text.
import { useState, type FormEvent } from 'react';
import { PRESETS, selectPreset, useLessonStore, type Preset } from '../store/lessonStore.ts';
import {
  samplingFormDefaults,
  selectModelError,
  selectModelProgress,
  selectModelStatus,
  selectModelSummary,
  selectSamples,
  selectSampling,
  useModelStore,
} from '../store/modelStore.ts';
import { selectActive, selectCheckpoints, useTrainingStore } from '../store/trainingStore.ts';
import { selectWebGpuMissing, useGpuStore } from '../store/gpuStore.ts';
import { CHECKPOINT_KIND_TEXT } from './checkpointKinds.ts';
import { TrainingAlerts } from './TrainingAlerts.tsx';
import { useBaseModel } from './useBaseModel.ts';
import { ErrorLine } from './ErrorLine.tsx';

const EXAMPLE_PROMPT = 'What colour is a banana?';

function LoadProgress() {
  const progress = useModelStore(selectModelProgress);
  const loaded = Object.values(progress).reduce((sum, p) => sum + p.loadedBytes, 0);
  const total = Object.values(progress).reduce((sum, p) => sum + (p.totalBytes ?? 0), 0);
  return (
    <div role="status">
      Loading the base model… {(loaded / 2 ** 20).toFixed(1)} MiB
      {total > 0 && <progress value={loaded} max={total} aria-label="Base model download" />}
    </div>
  );
}

function PresetChoice() {
  const preset = useLessonStore(selectPreset);
  const setPreset = useLessonStore((state) => state.setPreset);
  const change = (next: Preset) => {
    setPreset(next);
    window.location.reload(); // every checkpoint depends on the base: start the lab again on the new one
  };
  return (
    <label className="field inline">
      Preset
      <select value={preset} onChange={(event) => change(event.target.value as Preset)}>
        {PRESETS.map((p) => (
          <option key={p} value={p}>
            {p === 'small' ? 'small (classroom base model)' : 'micro (tiny, for quick demos)'}
          </option>
        ))}
      </select>
    </label>
  );
}

function Checkpoints() {
  const checkpoints = useTrainingStore(selectCheckpoints);
  const active = useTrainingStore(selectActive);
  const setActive = useTrainingStore((state) => state.setActive);
  return (
    <div className="table-scroll">
      <table className="data-table" aria-label="Checkpoints" data-testid="checkpoints">
        <thead>
          <tr>
            <th>Checkpoint</th>
            <th>Kind</th>
            <th>Trained from</th>
            <th>Steps</th>
            <th>Saved</th>
            <th>Rank panel samples from</th>
          </tr>
        </thead>
        <tbody>
          {checkpoints.map((c) => (
            <tr key={c.name} data-testid={`checkpoint-${c.name}`}>
              <th scope="row">{c.name}</th>
              <td>{CHECKPOINT_KIND_TEXT[c.kind]}</td>
              <td>{c.parent ?? '—'}</td>
              <td className="number">{c.step ?? '—'}</td>
              <td>{c.kind === 'base' && !c.saved ? 'shipped' : c.saved ? 'in this browser' : 'saving…'}</td>
              <td>
                {!c.scalar && (
                  <input
                    type="radio"
                    name="active-checkpoint"
                    aria-label={`Rank outputs of ${c.name}`}
                    checked={active === c.name}
                    onChange={() => setActive(c.name)}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The sampling form; a response may take at most half the model's context by default. */
function SampleForm({ contextLength }: { contextLength: number }) {
  const sample = useModelStore((state) => state.sample);
  const sampling = useModelStore(selectSampling);
  const checkpoints = useTrainingStore(selectCheckpoints).filter((c) => !c.scalar);
  const [checkpoint, setCheckpoint] = useState('');
  const [text, setText] = useState(EXAMPLE_PROMPT);
  const [chat, setChat] = useState(true);
  const [options, setOptions] = useState(() => samplingFormDefaults(contextLength));
  const from = checkpoint || 'base';
  const field = (key: keyof typeof options, label: string, step: number, min: number, max?: number) => (
    <label className="field">
      {label}
      <input
        type="number"
        step={step}
        min={min}
        max={max}
        value={options[key]}
        onChange={(event) => setOptions({ ...options, [key]: Number(event.target.value) })}
      />
    </label>
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void sample(from, text, chat, options);
  };
  return (
    <form onSubmit={submit} className="sample-form">
      <label className="field inline">
        Sample from
        <select value={from} onChange={(event) => setCheckpoint(event.target.value)}>
          {(checkpoints.length > 0 ? checkpoints.map((c) => c.name) : ['base']).map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
      </label>
      <label className="field wide">
        Prompt
        <textarea value={text} onChange={(event) => setText(event.target.value)} rows={2} />
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={chat} onChange={(event) => setChat(event.target.checked)} /> Instruction format
        (Human: … Assistant:)
      </label>
      <div className="fields">
        {field('temperature', 'Temperature', 0.1, 0)}
        {field('topK', 'Top-k (0 = off)', 1, 0)}
        {field('topP', 'Top-p', 0.05, 0.05, 1)}
        {field('maxNewTokens', 'Max new tokens', 1, 1, contextLength - 1)}
        {field('seed', 'Seed', 1, 0)}
      </div>
      <button type="submit" disabled={sampling || text.trim() === ''}>
        {sampling ? 'Sampling…' : 'Sample'}
      </button>
    </form>
  );
}

export function ModelPanel() {
  useBaseModel();
  const status = useModelStore(selectModelStatus);
  const summary = useModelStore(selectModelSummary);
  const error = useModelStore(selectModelError);
  const samples = useModelStore(selectSamples);
  const webGpuMissing = useGpuStore(selectWebGpuMissing);
  return (
    <section className="panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      <PresetChoice />
      {status === 'loading' && <LoadProgress />}
      <ErrorLine text={error} />
      <TrainingAlerts />
      {summary && (
        <>
          <p data-testid="model-summary">
            <strong>{summary.name}</strong> ({summary.kind}): GPT-2, {(summary.parameters / 1e6).toFixed(2)}M parameters
            — {summary.nLayer} layers, {summary.nEmbd} channels, {summary.nHead} heads, context {summary.nCtx},
            vocabulary {summary.vocabSize}
            {summary.meta.steps && `, ${summary.meta.steps} pretraining steps`}
          </p>
          <h3>Checkpoints</h3>
          <Checkpoints />
          <h3>Sample</h3>
          {webGpuMissing && (
            <p className="muted" data-testid="ort-sampling">
              No WebGPU here: samples are drawn on the CPU by onnxruntime-web (wasm) from the checkpoint's ONNX export,
              with the same sampling rules and seeds.
            </p>
          )}
          <SampleForm contextLength={summary.nCtx} />
          <ol className="samples" aria-label="Samples">
            {samples.map((s, i) => (
              <li key={samples.length - i} data-testid="sample">
                <div className="sample-prompt">
                  <span className="badge">{s.checkpoint}</span> {s.prompt}
                </div>
                <div className="sample-completion">
                  {s.completion}
                  {!s.ended && <span className="muted"> … (cut off at the token limit before the model finished)</span>}
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

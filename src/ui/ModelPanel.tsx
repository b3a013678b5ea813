// The Model panel: the shipped base model loads on first visit (with download progress); its size
// and lineage; and sampling from it with temperature, top-k and top-p. Text is rendered as text.
import { useEffect, useState, type FormEvent } from 'react';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import {
  selectModelError,
  selectModelProgress,
  selectModelStatus,
  selectModelSummary,
  selectSamples,
  selectSampling,
  useModelStore,
} from '../store/modelStore.ts';

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

function SampleForm() {
  const sample = useModelStore((state) => state.sample);
  const sampling = useModelStore(selectSampling);
  const [text, setText] = useState(EXAMPLE_PROMPT);
  const [chat, setChat] = useState(true);
  const [options, setOptions] = useState({ ...DEFAULT_SAMPLING, temperature: 0.8, topK: 40, topP: 0.95 });
  const field = (key: keyof typeof options, label: string, step: number, min: number, max?: number) => (
    <label className="field">
      {label}
      <input type="number" step={step} min={min} max={max} value={options[key]} onChange={(event) => setOptions({ ...options, [key]: Number(event.target.value) })} />
    </label>
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void sample(text, chat, options);
  };
  return (
    <form onSubmit={submit} className="sample-form">
      <label className="field wide">
        Prompt
        <textarea value={text} onChange={(event) => setText(event.target.value)} rows={2} />
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={chat} onChange={(event) => setChat(event.target.checked)} /> Instruction format (Human: … Assistant:)
      </label>
      <div className="fields">
        {field('temperature', 'Temperature', 0.1, 0)}
        {field('topK', 'Top-k (0 = off)', 1, 0)}
        {field('topP', 'Top-p', 0.05, 0.05, 1)}
        {field('maxNewTokens', 'Max new tokens', 1, 1)}
        {field('seed', 'Seed', 1, 0)}
      </div>
      <button type="submit" disabled={sampling || text.trim() === ''}>
        {sampling ? 'Sampling…' : 'Sample'}
      </button>
    </form>
  );
}

export function ModelPanel() {
  const status = useModelStore(selectModelStatus);
  const summary = useModelStore(selectModelSummary);
  const error = useModelStore(selectModelError);
  const samples = useModelStore(selectSamples);
  const loadBase = useModelStore((state) => state.loadBase);
  useEffect(() => {
    void loadBase();
  }, [loadBase]);
  return (
    <section className="panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      {status === 'loading' && <LoadProgress />}
      {error && (
        <p role="alert" className="error-detail">
          {error}
        </p>
      )}
      {summary && (
        <>
          <p data-testid="model-summary">
            <strong>{summary.name}</strong> ({summary.kind}): GPT-2, {(summary.parameters / 1e6).toFixed(2)}M parameters — {summary.nLayer} layers, {summary.nEmbd} channels, {summary.nHead} heads,
            context {summary.nCtx}, vocabulary {summary.vocabSize}
            {summary.meta.steps && `, ${summary.meta.steps} pretraining steps`}
          </p>
          <SampleForm />
          <ol className="samples" aria-label="Samples">
            {samples.map((s, i) => (
              <li key={samples.length - i} data-testid="sample">
                <div className="sample-prompt">{s.prompt}</div>
                <div className="sample-completion">
                  {s.completion}
                  {!s.ended && <span className="muted"> … (no end token)</span>}
                </div>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

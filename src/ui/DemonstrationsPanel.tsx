// The Demonstrations panel: TinyWorld's prompts and the user's own, a response written (or
// edited) for any of them, TinyWorld's starter set, the saved demonstrations — each confirmed
// only once IndexedDB has it — and, below, SFT training on them with its live loss curve.
import { useMemo, useState, type FormEvent } from 'react';
import type { StoredDemonstration, StoredPrompt } from '../data/lab-db.ts';
import {
  isOwnPrompt,
  selectDemonstrations,
  selectLoaded,
  selectPrompts,
  useLabDataStore,
  type DemonstrationDraft,
} from '../store/labDataStore.ts';
import { LabDataError } from './LabDataError.tsx';
import { SftTraining } from './SftTraining.tsx';

const PROMPTS_PER_PAGE = 20;
const DEFAULT_STARTER_COUNT = 20;

/** A prompt's family as its badge says it; a prompt someone typed here is "person", as its demonstrations and rankings are. */
const familyLabel = (family: string) => (family === 'user' ? 'person' : family.replace('_', ' '));
const sourceLabel = (source: string) => (source === 'human' ? 'person' : source);

function PromptList({ selectedId, onSelect }: { selectedId?: string; onSelect(prompt: StoredPrompt): void }) {
  const prompts = useLabDataStore(selectPrompts);
  const demonstrations = useLabDataStore(selectDemonstrations);
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(PROMPTS_PER_PAGE);
  const covered = useMemo(() => new Set(demonstrations.map((d) => d.promptId)), [demonstrations]);
  const matches = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const ordered = [...prompts.filter(isOwnPrompt).reverse(), ...prompts.filter((p) => !isOwnPrompt(p))];
    return needle === '' ? ordered : ordered.filter((p) => p.text.toLowerCase().includes(needle));
  }, [prompts, filter]);
  return (
    <div className="prompt-list">
      <label className="field">
        Filter prompts
        <input type="search" value={filter} onChange={(event) => setFilter(event.target.value)} />
      </label>
      <ul aria-label="Prompts">
        {matches.slice(0, shown).map((prompt) => (
          <li key={prompt.id}>
            <button
              type="button"
              className="prompt-choice"
              aria-pressed={prompt.id === selectedId}
              onClick={() => onSelect(prompt)}
            >
              <span className={`family family-${prompt.family}`}>{familyLabel(prompt.family)}</span> {prompt.text}
              {covered.has(prompt.id) && (
                <span className="covered">
                  {' '}
                  ✓<span className="visually-hidden"> has a demonstration</span>
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
      {matches.length > shown && (
        <button type="button" className="secondary" onClick={() => setShown(shown + PROMPTS_PER_PAGE)}>
          Show more prompts ({matches.length - shown} more)
        </button>
      )}
      {matches.length === 0 && <p className="muted">No prompt matches.</p>}
    </div>
  );
}

function AddPromptForm({ onAdded }: { onAdded(prompt: StoredPrompt): void }) {
  const addPrompt = useLabDataStore((state) => state.addPrompt);
  const [text, setText] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const prompt = await addPrompt(text).catch(() => undefined);
    if (!prompt) return;
    setText('');
    onAdded(prompt);
  };
  return (
    <form className="inline-form" onSubmit={(event) => void submit(event)}>
      <label className="field wide">
        Your own prompt
        <input
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder="Write a short story about a brave cat."
        />
      </label>
      <button type="submit" disabled={text.trim() === ''}>
        Add prompt
      </button>
    </form>
  );
}

function DemonstrationEditor({
  draft,
  onChange,
  onDone,
}: {
  draft: DemonstrationDraft;
  onChange(draft: DemonstrationDraft): void;
  onDone(saved?: StoredDemonstration): void;
}) {
  const saveDemonstration = useLabDataStore((state) => state.saveDemonstration);
  const [saving, setSaving] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    const saved = await saveDemonstration(draft).catch(() => undefined);
    setSaving(false);
    if (saved) onDone(saved);
  };
  return (
    <form className="demonstration-editor" onSubmit={(event) => void submit(event)} aria-label="Demonstration">
      <p className="editor-prompt">
        <span className="muted">Prompt:</span> {draft.prompt}
      </p>
      <label className="field">
        Response
        <textarea
          rows={3}
          value={draft.completion}
          onChange={(event) => onChange({ ...draft, completion: event.target.value })}
          placeholder="Write the answer a helpful, honest and harmless assistant would give."
        />
      </label>
      <div className="buttons">
        <button type="submit" disabled={saving || draft.completion.trim() === ''}>
          {saving ? 'Saving…' : draft.id ? 'Save changes' : 'Save demonstration'}
        </button>
        <button type="button" className="secondary" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function StarterSet({ onAdded }: { onAdded(count: number): void }) {
  const addStarterSet = useLabDataStore((state) => state.addStarterSet);
  const [count, setCount] = useState(DEFAULT_STARTER_COUNT);
  const [adding, setAdding] = useState(false);
  const add = async () => {
    setAdding(true);
    const added = await addStarterSet(count).catch(() => undefined);
    setAdding(false);
    if (added !== undefined) onAdded(added);
  };
  return (
    <div className="inline-form">
      <label className="field">
        Starter demonstrations
        <input
          type="number"
          min={1}
          max={400}
          value={count}
          onChange={(event) => setCount(Math.max(1, Math.floor(Number(event.target.value))))}
        />
      </label>
      <button type="button" onClick={() => void add()} disabled={adding}>
        Add starter set
      </button>
      <span className="muted">TinyWorld's ideal responses to prompts that have none yet.</span>
    </div>
  );
}

function DemonstrationList({ onEdit }: { onEdit(demonstration: StoredDemonstration): void }) {
  const demonstrations = useLabDataStore(selectDemonstrations);
  const deleteDemonstration = useLabDataStore((state) => state.deleteDemonstration);
  const newestFirst = useMemo(() => [...demonstrations].reverse(), [demonstrations]);
  if (demonstrations.length === 0)
    return <p className="muted">No demonstrations yet: write one above or add the starter set.</p>;
  return (
    <ol className="demonstrations" aria-label="Saved demonstrations">
      {newestFirst.map((d) => (
        <li key={d.id} data-testid="demonstration">
          <div className="demonstration-prompt">
            <span className={`source source-${d.source}`}>{sourceLabel(d.source)}</span> {d.prompt}
          </div>
          <div className="demonstration-completion">{d.completion}</div>
          <div className="buttons">
            <button
              type="button"
              className="secondary"
              onClick={() => onEdit(d)}
              aria-label={`Edit the demonstration for: ${d.prompt}`}
            >
              Edit
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => void deleteDemonstration(d.id).catch(() => undefined)}
              aria-label={`Delete the demonstration for: ${d.prompt}`}
            >
              Delete
            </button>
          </div>
        </li>
      ))}
    </ol>
  );
}

export function DemonstrationsPanel() {
  const loaded = useLabDataStore(selectLoaded);
  const count = useLabDataStore((state) => state.demonstrations.length);
  const [draft, setDraft] = useState<DemonstrationDraft>();
  const [notice, setNotice] = useState('');
  const select = (prompt: StoredPrompt) => {
    setDraft({ promptId: prompt.id, prompt: prompt.text, completion: '' });
    setNotice('');
  };
  const edit = (d: StoredDemonstration) => {
    setDraft({ id: d.id, promptId: d.promptId, prompt: d.prompt, completion: d.completion });
    setNotice('');
  };
  const done = (saved?: StoredDemonstration) => {
    setDraft(undefined);
    if (saved) setNotice(`Demonstration saved for “${saved.prompt}”.`);
  };
  return (
    <section className="panel demonstrations-panel" aria-labelledby="demonstrations-heading">
      <h2 id="demonstrations-heading">Demonstrations</h2>
      <p className="lead">
        Step 1 of InstructGPT: people write the response they want for a prompt, and the model is fine-tuned on these
        demonstrations (SFT). Pick a prompt, write a response, or start from TinyWorld's starter set.
      </p>
      <LabDataError />
      {!loaded ? (
        <p role="status">Loading saved demonstrations…</p>
      ) : (
        <>
          <div className="demonstrations-layout">
            <div>
              <h3>Prompts</h3>
              <AddPromptForm onAdded={select} />
              <PromptList selectedId={draft?.promptId} onSelect={select} />
            </div>
            <div>
              <h3>Write a response</h3>
              {draft ? (
                <DemonstrationEditor draft={draft} onChange={setDraft} onDone={done} />
              ) : (
                <p className="muted">Choose a prompt on the left (or edit a saved demonstration).</p>
              )}
              <p role="status" className="ok">
                {notice}
              </p>
              <StarterSet
                onAdded={(added) =>
                  setNotice(
                    added > 0
                      ? `Added ${added} starter demonstrations.`
                      : 'Every TinyWorld prompt already has a demonstration.',
                  )
                }
              />
            </div>
          </div>
          <h3>Saved demonstrations ({count})</h3>
          <DemonstrationList onEdit={edit} />
        </>
      )}
      <SftTraining />
    </section>
  );
}

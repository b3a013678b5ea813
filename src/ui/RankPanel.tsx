// The Rank panel (InstructGPT §3.4): a prompt with K outputs of the current model, ordered best
// first by drag and drop or by keyboard alone (focus an output, Alt+↑/↓, or its move buttons),
// ties marked, a 1–7 quality rating and the labelers' flags per output, skip or submit — the
// ranking is confirmed once IndexedDB has it. "Auto-rank" has the simulated labeler fill in more
// rankings; human and simulated rankings are labelled apart. Model text is rendered as text.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import type { StoredPrompt, StoredRanking } from '../data/lab-db.ts';
import { HYPERPARAMETER_SPECS } from '../store/hyperparameters.ts';
import {
  DEFAULT_LABELER_NOISE,
  moveInOrder,
  nextPromptToRank,
  selectLoaded,
  selectPrompts,
  selectRankings,
  tiesFromMarks,
  useLabDataStore,
  type Generate,
} from '../store/labDataStore.ts';
import { selectHyper, useLessonStore } from '../store/lessonStore.ts';
import { selectStatus, useGpuStore, type GpuStatus } from '../store/gpuStore.ts';
import { selectModelStatus, useModelStore } from '../store/modelStore.ts';
import { selectActive, useTrainingStore } from '../store/trainingStore.ts';
import type { Flags } from '../world/index.ts';
import { LabDataError } from './LabDataError.tsx';
import { useBaseModel } from './useBaseModel.ts';

/** Rankings to aim for before training the reward model. */
const RANKING_TARGET = 50;
const DEFAULT_AUTO_RANK = 5;
const RECENT_SHOWN = 10;

type BooleanFlag = Exclude<keyof Flags, 'satisfiesConstraint'>;
const FLAG_LABELS: [BooleanFlag, string][] = [
  ['failsToFollow', 'Fails to follow the instruction'],
  ['falseFact', 'States something false'],
  ['hallucination', 'Makes up facts not in the given text'],
  ['harmfulOrRude', 'Harmful or rude'],
  ['inappropriateForAssistant', 'Inappropriate for an assistant'],
  ['moreQuestions', 'Asks more questions instead of answering'],
  ['offTopic', 'Off topic'],
];
const LIKERT = [1, 2, 3, 4, 5, 6, 7];
const K_CHOICES = [2, 3, 4, 5, 6, 7, 8, 9];

/** Outputs are named by letter (A, B, …) so they keep their name while they move. */
const letter = (response: number) => String.fromCharCode(65 + response);

interface Draft {
  prompt: StoredPrompt;
  responses: string[];
  /** Response indices, best first. */
  order: number[];
  /** By position: equally good as the output above (position 0 unused). */
  tiedWithAbove: boolean[];
  /** By response index. */
  likert: (number | undefined)[];
  flags: Partial<Flags>[];
}

function newDraft(prompt: StoredPrompt, responses: string[]): Draft {
  const K = responses.length;
  return {
    prompt,
    responses,
    order: responses.map((_, i) => i),
    tiedWithAbove: new Array<boolean>(K).fill(false),
    likert: new Array<number | undefined>(K).fill(undefined),
    flags: responses.map(() => ({})),
  };
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Why outputs cannot be sampled yet, as the sample button says it. */
function waitingFor(gpu: GpuStatus, model: string): string {
  if (gpu === 'failed' || model === 'failed') return 'The model did not load: see the Model panel';
  return 'Loading the model…';
}

/** K outputs per prompt from the current model, as long as the lesson's response length allows. */
function useGenerate(): Generate {
  const generate = useTrainingStore((state) => state.generate);
  const maxNewTokens = useLessonStore(selectHyper).maxNewTokens;
  return useCallback((prompts: string[], K: number) => generate(prompts, K, { maxNewTokens }), [generate, maxNewTokens]);
}

/** Which checkpoint the outputs come from ("the current model"); reward models cannot write. */
function ModelChoice({ disabled }: { disabled: boolean }) {
  const checkpoints = useTrainingStore((state) => state.checkpoints);
  const active = useTrainingStore(selectActive);
  const setActive = useTrainingStore((state) => state.setActive);
  const writers = checkpoints.filter((c) => !c.scalar);
  return (
    <label className="field narrow">
      Sample from
      <select value={active} onChange={(event) => setActive(event.target.value)} disabled={disabled || writers.length === 0}>
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

function OutputFlags({ response, flags, onChange }: { response: number; flags: Partial<Flags>; onChange(flags: Partial<Flags>): void }) {
  const constraint = flags.satisfiesConstraint === undefined || flags.satisfiesConstraint === null ? '' : String(flags.satisfiesConstraint);
  return (
    <details className="output-flags">
      <summary>Flags for output {letter(response)}</summary>
      <fieldset>
        <legend className="visually-hidden">Flags for output {letter(response)}</legend>
        {FLAG_LABELS.map(([key, label]) => (
          <label key={key} className="checkbox">
            <input type="checkbox" checked={flags[key] === true} onChange={(event) => onChange({ ...flags, [key]: event.target.checked })} /> {label}
          </label>
        ))}
        <label className="checkbox">
          Satisfies the prompt's constraint{' '}
          <select value={constraint} onChange={(event) => onChange({ ...flags, satisfiesConstraint: event.target.value === '' ? undefined : event.target.value === 'true' })}>
            <option value="">not judged</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </label>
      </fieldset>
    </details>
  );
}

function RankingBoard({ draft, onChange }: { draft: Draft; onChange(draft: Draft): void }) {
  const K = draft.responses.length;
  const items = useRef(new Map<number, HTMLLIElement>());
  /** Where focus goes after a move: the moved output itself, or the move button that was pressed. */
  const [focusRequest, setFocusRequest] = useState<{ response: number; part: 'item' | 'up' | 'down' }>();
  const [announcement, setAnnouncement] = useState('');
  const [dragFrom, setDragFrom] = useState<number>();
  useEffect(() => {
    if (!focusRequest) return;
    const item = items.current.get(focusRequest.response);
    const button = focusRequest.part === 'item' ? null : item?.querySelector<HTMLButtonElement>(`button[data-move="${focusRequest.part}"]:not(:disabled)`);
    (button ?? item)?.focus();
  }, [focusRequest]);

  const move = (from: number, to: number, focus: 'item' | 'up' | 'down') => {
    if (to < 0 || to >= K || from === to) return;
    const response = draft.order[from];
    onChange({ ...draft, order: moveInOrder(draft.order, from, to) });
    setFocusRequest({ response, part: focus });
    setAnnouncement(`Output ${letter(response)} moved to rank ${to + 1} of ${K}.`);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLLIElement>, position: number) => {
    if (event.target !== event.currentTarget) return;
    const step = event.key === 'ArrowUp' ? -1 : event.key === 'ArrowDown' ? 1 : 0;
    if (step === 0) return;
    event.preventDefault();
    if (event.altKey) move(position, position + step, 'item');
    else if (position + step >= 0 && position + step < K) setFocusRequest({ response: draft.order[position + step], part: 'item' });
  };
  const onDrop = (event: DragEvent<HTMLLIElement>, position: number) => {
    event.preventDefault();
    if (dragFrom !== undefined) move(dragFrom, position, 'item');
    setDragFrom(undefined);
  };
  const setTie = (position: number, tied: boolean) => onChange({ ...draft, tiedWithAbove: draft.tiedWithAbove.map((t, i) => (i === position ? tied : t)) });
  const setLikert = (response: number, value: number | undefined) => onChange({ ...draft, likert: draft.likert.map((v, i) => (i === response ? value : v)) });
  const setFlags = (response: number, flags: Partial<Flags>) => onChange({ ...draft, flags: draft.flags.map((f, i) => (i === response ? flags : f)) });

  return (
    <>
      <p id="rank-instructions" className="muted">
        Best first. Drag an output, or focus it and press Alt+↑ / Alt+↓ (↑ / ↓ alone move the focus); the buttons do the same.
      </p>
      <ol className="ranking-board" aria-label="Outputs, best first">
        {draft.order.map((response, position) => (
          <li
            key={response}
            ref={(element) => {
              if (element) items.current.set(response, element);
              else items.current.delete(response);
            }}
            tabIndex={0}
            draggable
            aria-label={`Output ${letter(response)}, rank ${position + 1} of ${K}`}
            aria-describedby="rank-instructions"
            data-testid="ranked-output"
            className={`ranked-output${dragFrom === position ? ' dragging' : ''}`}
            onKeyDown={(event) => onKeyDown(event, position)}
            onDragStart={(event) => {
              event.dataTransfer.effectAllowed = 'move';
              event.dataTransfer.setData('text/plain', letter(response));
              setDragFrom(position);
            }}
            onDragOver={(event) => event.preventDefault()}
            onDrop={(event) => onDrop(event, position)}
            onDragEnd={() => setDragFrom(undefined)}
          >
            {position > 0 && (
              <label className="checkbox tie-mark">
                <input type="checkbox" checked={draft.tiedWithAbove[position]} onChange={(event) => setTie(position, event.target.checked)} /> Output {letter(response)} is as good as the
                one above
              </label>
            )}
            <div className="ranked-output-row">
              <span className="rank-number" aria-hidden="true">
                {draft.tiedWithAbove[position] ? '=' : position + 1}
              </span>
              <span className="output-letter" aria-hidden="true">
                {letter(response)}
              </span>
              <div className="output-text">{draft.responses[response] === '' ? <span className="muted">(empty output)</span> : draft.responses[response]}</div>
              <div className="move-buttons">
                <button type="button" className="secondary" data-move="up" onClick={() => move(position, position - 1, 'up')} disabled={position === 0} aria-label={`Move output ${letter(response)} up`}>
                  ↑
                </button>
                <button type="button" className="secondary" data-move="down" onClick={() => move(position, position + 1, 'down')} disabled={position === K - 1} aria-label={`Move output ${letter(response)} down`}>
                  ↓
                </button>
              </div>
            </div>
            <div className="output-judgement">
              <label>
                Quality of output {letter(response)} (1–7){' '}
                <select value={draft.likert[response] ?? ''} onChange={(event) => setLikert(response, event.target.value === '' ? undefined : Number(event.target.value))}>
                  <option value="">–</option>
                  {LIKERT.map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
              </label>
              <OutputFlags response={response} flags={draft.flags[response]} onChange={(flags) => setFlags(response, flags)} />
            </div>
          </li>
        ))}
      </ol>
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
    </>
  );
}

/** "B > A = C > D": the order by letter, = between tied neighbours. */
function orderText(ranking: StoredRanking): string {
  const tied = new Set((ranking.ties ?? []).map(([a, b]) => `${Math.min(a, b)},${Math.max(a, b)}`));
  return ranking.order.map((response, position) => (position === 0 ? '' : tied.has(`${position - 1},${position}`) ? ' = ' : ' > ') + letter(response)).join('');
}

function SavedRankings() {
  const rankings = useLabDataStore(selectRankings);
  const deleteRanking = useLabDataStore((state) => state.deleteRanking);
  const [showAll, setShowAll] = useState(false);
  const newestFirst = useMemo(() => [...rankings].reverse(), [rankings]);
  if (rankings.length === 0) return null;
  const shown = showAll ? newestFirst : newestFirst.slice(0, RECENT_SHOWN);
  return (
    <>
      <h3>Saved rankings</h3>
      <ul className="saved-rankings" aria-label="Saved rankings">
        {shown.map((ranking) => (
          <li key={ranking.id} data-testid="saved-ranking" data-source={ranking.source}>
            <span className={`source source-${ranking.source}`}>{ranking.source === 'human' ? 'human' : 'simulated'}</span> <span className="saved-prompt">{ranking.prompt}</span>{' '}
            <span className="order-text">{orderText(ranking)}</span>
            <button type="button" className="danger small" onClick={() => void deleteRanking(ranking.id).catch(() => undefined)} aria-label={`Delete the ranking of: ${ranking.prompt}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {rankings.length > RECENT_SHOWN && (
        <button type="button" className="secondary" onClick={() => setShowAll(!showAll)}>
          {showAll ? 'Show the latest only' : `Show all ${rankings.length}`}
        </button>
      )}
    </>
  );
}

/** Auto-rank; a failure shows as the lab data's error (LabDataError). */
function AutoRank({ busy, setBusy, exclude, onDone }: { busy: boolean; setBusy(busy: boolean): void; exclude?: string; onDone(text: string): void }) {
  const autoRank = useLabDataStore((state) => state.autoRank);
  const generate = useGenerate();
  const K = useLessonStore(selectHyper).K;
  const [count, setCount] = useState(DEFAULT_AUTO_RANK);
  const [noise, setNoise] = useState(DEFAULT_LABELER_NOISE);
  const run = async () => {
    setBusy(true);
    onDone('');
    const ranked = await autoRank(count, K, noise, generate, exclude ? [exclude] : []).catch(() => undefined);
    setBusy(false);
    if (ranked !== undefined) onDone(ranked > 0 ? `The simulated labeler ranked ${ranked} more prompts.` : 'Every TinyWorld prompt is already ranked.');
  };
  return (
    <div className="auto-rank">
      <h3>Auto-rank with the simulated labeler</h3>
      <p className="muted">TinyWorld's training labeler ranks, rates and flags the model's outputs, so a demo can go on without typing. Its rankings are marked “simulated”.</p>
      <div className="inline-form">
        <label className="field">
          Prompts to auto-rank
          <input type="number" min={1} max={200} value={count} onChange={(event) => setCount(Math.max(1, Math.floor(Number(event.target.value))))} />
        </label>
        <label className="field">
          Labeler noise
          <input type="number" min={0} max={3} step={0.1} value={noise} onChange={(event) => setNoise(Math.min(3, Math.max(0, Number(event.target.value))))} aria-describedby="noise-help" />
        </label>
        <button type="button" onClick={() => void run()} disabled={busy}>
          Auto-rank {count} prompts
        </button>
      </div>
      <p id="noise-help" className="muted">
        How much the labeler misjudges each output (standard deviation in Likert points); real labelers agreed with each other about 73% of the time.
      </p>
    </div>
  );
}

export function RankPanel() {
  useBaseModel();
  const loaded = useLabDataStore(selectLoaded);
  const prompts = useLabDataStore(selectPrompts);
  const rankings = useLabDataStore(selectRankings);
  const saveRanking = useLabDataStore((state) => state.saveRanking);
  const generate = useGenerate();
  const modelStatus = useModelStore(selectModelStatus);
  const gpuStatus = useGpuStore(selectStatus);
  const modelReady = modelStatus === 'ready';
  const K = useLessonStore(selectHyper).K;
  const setHyper = useLessonStore((state) => state.setHyper);
  const [skipped, setSkipped] = useState<ReadonlySet<string>>(new Set());
  const [draft, setDraft] = useState<Draft>();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState('');
  const [problem, setProblem] = useState('');
  const prompt = draft?.prompt ?? nextPromptToRank(prompts, rankings, skipped);
  const human = rankings.filter((r) => r.source === 'human').length;

  const sample = async () => {
    if (!prompt) return;
    setBusy(true);
    setProblem('');
    setNotice('');
    try {
      const [outputs] = await generate([prompt.text], K);
      setDraft(newDraft(prompt, outputs));
    } catch (error) {
      setProblem(`Could not sample outputs: ${message(error)}`);
    } finally {
      setBusy(false);
    }
  };
  const skip = () => {
    if (!prompt) return;
    setSkipped(new Set([...skipped, prompt.id]));
    setDraft(undefined);
    setNotice(`Skipped “${prompt.text}”.`);
  };
  const submit = async () => {
    if (!draft) return;
    const rated = draft.likert.filter((v) => v !== undefined).length;
    if (rated !== 0 && rated !== draft.likert.length) {
      setProblem('Rate the quality of every output (1–7), or of none.');
      return;
    }
    const ties = tiesFromMarks(draft.tiedWithAbove);
    const flagged = draft.flags.some((f) => Object.keys(f).length > 0);
    setBusy(true);
    setProblem('');
    // A failed save shows as the lab data's error (LabDataError); the draft stays for another try.
    try {
      await saveRanking({
        promptId: draft.prompt.id,
        prompt: draft.prompt.text,
        responses: draft.responses,
        order: draft.order,
        ...(ties.length > 0 && { ties }),
        source: 'human',
        ...(rated > 0 && { likert: draft.likert as number[] }),
        ...(flagged && { flags: draft.flags }),
      });
      setDraft(undefined);
      setNotice(`Ranking saved for “${draft.prompt.text}”.`);
    } catch {
      setNotice('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel rank-panel" aria-labelledby="rank-heading">
      <h2 id="rank-heading">Rank</h2>
      <p className="lead">
        Step 2 of InstructGPT: labelers rank several outputs of the model for one prompt, best first. Every ranking of K outputs gives the reward model K(K−1)/2 comparisons.
      </p>
      <LabDataError />
      <div className="rank-progress" data-testid="rank-progress">
        <progress value={Math.min(rankings.length, RANKING_TARGET)} max={RANKING_TARGET} aria-label="Rankings made" /> {rankings.length} / {RANKING_TARGET} ranked ({human} by people,{' '}
        {rankings.length - human} simulated)
      </div>
      <div className="fields">
      <ModelChoice disabled={busy || draft !== undefined} />
      <label className="field narrow" title={HYPERPARAMETER_SPECS.K.explanation}>
        {HYPERPARAMETER_SPECS.K.label}
        <select value={K} onChange={(event) => setHyper('K', Number(event.target.value))} disabled={draft !== undefined}>
          {K_CHOICES.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
      </div>
      {!loaded ? (
        <p role="status">Loading saved rankings…</p>
      ) : prompt ? (
        <div className="rank-task">
          <p className="rank-prompt">
            <span className="muted">Prompt:</span> <strong data-testid="rank-prompt">{prompt.text}</strong>
          </p>
          {draft ? (
            <RankingBoard draft={draft} onChange={setDraft} />
          ) : (
            <button type="button" onClick={() => void sample()} disabled={busy || !modelReady}>
              {busy ? 'Sampling…' : modelReady ? `Sample ${K} outputs` : waitingFor(gpuStatus, modelStatus)}
            </button>
          )}
          <div className="buttons">
            {draft && (
              <button type="button" onClick={() => void submit()} disabled={busy}>
                Submit ranking
              </button>
            )}
            <button type="button" className="secondary" onClick={skip} disabled={busy}>
              Skip this prompt
            </button>
          </div>
        </div>
      ) : (
        <p>Every prompt is ranked or skipped. Add your own prompts on the Demonstrations panel.</p>
      )}
      {problem && (
        <p role="alert" className="error-detail">
          {problem}
        </p>
      )}
      <p role="status" className="ok">
        {notice}
      </p>
      <AutoRank busy={busy || !modelReady} setBusy={setBusy} exclude={prompt?.id} onDone={setNotice} />
      <SavedRankings />
    </section>
  );
}

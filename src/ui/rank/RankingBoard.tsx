// The ranking board shared by the Rank panel and a student's ranking pack: K outputs of one prompt
// ordered best first by drag and drop or by keyboard alone (focus an output, Alt+↑/↓, or its move
// buttons), ties marked, a 1–7 quality rating and the labelers' flags per output. Output text is
// rendered as text. The draft it edits and its pure helpers are in draft.ts.
import { useEffect, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import type { Flags } from '../../world/index.ts';
import { letter, moveInOrder, type Draft } from './draft.ts';

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

function OutputFlags({
  response,
  flags,
  onChange,
}: {
  response: number;
  flags: Partial<Flags>;
  onChange(flags: Partial<Flags>): void;
}) {
  const constraint =
    flags.satisfiesConstraint === undefined || flags.satisfiesConstraint === null
      ? ''
      : String(flags.satisfiesConstraint);
  return (
    <details className="output-flags">
      <summary>Flags for output {letter(response)}</summary>
      <fieldset>
        <legend className="visually-hidden">Flags for output {letter(response)}</legend>
        {FLAG_LABELS.map(([key, label]) => (
          <label key={key} className="checkbox">
            <input
              type="checkbox"
              checked={flags[key] === true}
              onChange={(event) => onChange({ ...flags, [key]: event.target.checked })}
            />{' '}
            {label}
          </label>
        ))}
        <label className="checkbox">
          Satisfies the prompt's constraint{' '}
          <select
            value={constraint}
            onChange={(event) =>
              onChange({
                ...flags,
                satisfiesConstraint: event.target.value === '' ? undefined : event.target.value === 'true',
              })
            }
          >
            <option value="">not judged</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </label>
      </fieldset>
    </details>
  );
}

export function RankingBoard({ draft, onChange }: { draft: Draft; onChange(draft: Draft): void }) {
  const K = draft.responses.length;
  const items = useRef(new Map<number, HTMLLIElement>());
  /** Where focus goes after a move: the moved output itself, or the move button that was pressed. */
  const [focusRequest, setFocusRequest] = useState<{ response: number; part: 'item' | 'up' | 'down' }>();
  const [announcement, setAnnouncement] = useState('');
  const [dragFrom, setDragFrom] = useState<number>();
  useEffect(() => {
    if (!focusRequest) return;
    const item = items.current.get(focusRequest.response);
    const button =
      focusRequest.part === 'item'
        ? null
        : item?.querySelector<HTMLButtonElement>(`button[data-move="${focusRequest.part}"]:not(:disabled)`);
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
    else if (position + step >= 0 && position + step < K)
      setFocusRequest({ response: draft.order[position + step], part: 'item' });
  };
  const onDrop = (event: DragEvent<HTMLLIElement>, position: number) => {
    event.preventDefault();
    if (dragFrom !== undefined) move(dragFrom, position, 'item');
    setDragFrom(undefined);
  };
  const setTie = (position: number, tied: boolean) =>
    onChange({ ...draft, tiedWithAbove: draft.tiedWithAbove.map((t, i) => (i === position ? tied : t)) });
  const setLikert = (response: number, value: number | undefined) =>
    onChange({ ...draft, likert: draft.likert.map((v, i) => (i === response ? value : v)) });
  const setFlags = (response: number, flags: Partial<Flags>) =>
    onChange({ ...draft, flags: draft.flags.map((f, i) => (i === response ? flags : f)) });

  return (
    <>
      <p id="rank-instructions" className="muted">
        Best first. Drag an output, or focus it and press Alt+↑ / Alt+↓ (↑ / ↓ alone move the focus); the buttons do the
        same.
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
                <input
                  type="checkbox"
                  checked={draft.tiedWithAbove[position]}
                  onChange={(event) => setTie(position, event.target.checked)}
                />{' '}
                Output {letter(response)} is as good as the one above
              </label>
            )}
            <div className="ranked-output-row">
              <span className="rank-number" aria-hidden="true">
                {draft.tiedWithAbove[position] ? '=' : position + 1}
              </span>
              <span className="output-letter" aria-hidden="true">
                {letter(response)}
              </span>
              <div className="output-text">
                {draft.responses[response] === '' ? (
                  <span className="muted">(empty output)</span>
                ) : (
                  draft.responses[response]
                )}
              </div>
              <div className="move-buttons">
                <button
                  type="button"
                  className="secondary"
                  data-move="up"
                  onClick={() => move(position, position - 1, 'up')}
                  disabled={position === 0}
                  aria-label={`Move output ${letter(response)} up`}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="secondary"
                  data-move="down"
                  onClick={() => move(position, position + 1, 'down')}
                  disabled={position === K - 1}
                  aria-label={`Move output ${letter(response)} down`}
                >
                  ↓
                </button>
              </div>
            </div>
            <div className="output-judgement">
              <label>
                Quality of output {letter(response)} (1–7){' '}
                <select
                  value={draft.likert[response] ?? ''}
                  onChange={(event) =>
                    setLikert(response, event.target.value === '' ? undefined : Number(event.target.value))
                  }
                >
                  <option value="">–</option>
                  {LIKERT.map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
              </label>
              <OutputFlags
                response={response}
                flags={draft.flags[response]}
                onChange={(flags) => setFlags(response, flags)}
              />
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

// A student's ranking page: opened by a pack link (`#pack=CODE`), or at `#pack` with a pack file or
// a pasted code. No model and no WebGPU: the outputs are in the pack. The student ranks each prompt's
// outputs on the lab's ranking board (order, ties, 1–7 ratings, flags), gives a name or an anonymous
// code, and hands in a small rankings file (download or share) or a text code to copy. Answers are
// kept in the browser as they are saved, so a reload carries on where it was. Pack text is
// untrusted and rendered as text.
import { useEffect, useState, type ChangeEvent } from 'react';
import {
  anonymousCode,
  checkLabelerName,
  handIn,
  MAX_PACK_BYTES,
  readPack,
  saveAnswers,
  savedAnswers,
  type PackAnswer,
  type RankingPack,
} from '../store/classStore.ts';
import { chosenFileText } from '../store/chosenFile.ts';
import { downloadBlob } from './downloadBlob.ts';
import { draftJudgement, newDraft, type Draft } from './rank/draft.ts';
import { RankingBoard } from './rank/RankingBoard.tsx';
import { errorMessage } from '../store/errorMessage.ts';
import { ErrorLine } from './ErrorLine.tsx';

export function StudentPack() {
  const [pack, setPack] = useState<RankingPack>();
  const [problem, setProblem] = useState('');
  const open = (input: string) =>
    readPack(input).then(setPack, (error: unknown) => setProblem(`This is not a ranking pack: ${errorMessage(error)}`));
  useEffect(() => {
    if (window.location.hash !== '#pack') void open(window.location.hash); // a link: #pack=CODE
  }, []);
  return (
    <div className="app">
      <header className="app-header">
        <h1>RLHF Lab: rank a pack</h1>
        <p className="tagline">
          Rank a language model's outputs, best first, as InstructGPT's labelers did; then hand your rankings to your
          teacher.
        </p>
      </header>
      <main>
        <ErrorLine text={problem} />
        {pack ? <RankPack pack={pack} /> : <OpenPack onOpen={(input) => void open(input)} onProblem={setProblem} />}
      </main>
    </div>
  );
}

function OpenPack({ onOpen, onProblem }: { onOpen(input: string): void; onProblem(text: string): void }) {
  const [code, setCode] = useState('');
  const openFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file)
      await chosenFileText(file, MAX_PACK_BYTES).then(onOpen, (error: unknown) => onProblem(errorMessage(error)));
  };
  return (
    <section className="panel" aria-labelledby="open-pack-heading">
      <h2 id="open-pack-heading">Open a ranking pack</h2>
      <label className="field wide">
        Pack file from your teacher
        <input type="file" accept=".json,application/json" onChange={(event) => void openFile(event)} />
      </label>
      <label className="field wide">
        Or paste the pack's link or code
        <textarea rows={3} value={code} onChange={(event) => setCode(event.target.value)} />
      </label>
      <button type="button" disabled={code.trim() === ''} onClick={() => onOpen(code)}>
        Open the pack
      </button>
    </section>
  );
}

function RankPack({ pack }: { pack: RankingPack }) {
  const [answers, setAnswers] = useState<ReadonlyMap<string, PackAnswer>>(
    () => new Map(savedAnswers(pack).map((answer) => [answer.promptId, answer])),
  );
  const firstOpen = (done: ReadonlyMap<string, PackAnswer>) => pack.items.find((item) => !done.has(item.promptId));
  const draftFor = (item: RankingPack['items'][number] | undefined) =>
    item ? newDraft({ id: item.promptId, text: item.prompt }, item.responses) : undefined;
  const [draft, setDraft] = useState<Draft | undefined>(() => draftFor(firstOpen(answers)));
  const [problem, setProblem] = useState('');
  const K = pack.items[0].responses.length;

  const save = () => {
    if (!draft) return;
    const judged = draftJudgement(draft);
    if ('problem' in judged) {
      setProblem(judged.problem);
      return;
    }
    const next = new Map(answers).set(draft.prompt.id, { promptId: draft.prompt.id, ...judged.judgement });
    setAnswers(next);
    saveAnswers(pack, [...next.values()]);
    setProblem('');
    setDraft(draftFor(firstOpen(next)));
  };

  return (
    <>
      <section className="panel rank-panel" aria-labelledby="pack-heading">
        <h2 id="pack-heading">Rank the outputs</h2>
        <p className="muted" data-testid="pack-summary">
          Pack {pack.id}: {pack.items.length} prompts with {K} outputs each, written by the model “{pack.model}”.
        </p>
        <div className="rank-progress">
          <progress value={answers.size} max={pack.items.length} aria-label="Prompts ranked" /> {answers.size} of{' '}
          {pack.items.length} ranked
        </div>
        <ol className="pack-items" aria-label="Prompts in the pack">
          {pack.items.map((item, i) => (
            <li key={item.promptId}>
              <button
                type="button"
                className="secondary small"
                aria-current={draft?.prompt.id === item.promptId}
                onClick={() => setDraft(draftFor(item))}
              >
                {i + 1}. {answers.has(item.promptId) ? '✓ ' : ''}
                {item.prompt}
              </button>
            </li>
          ))}
        </ol>
        {draft ? (
          <div className="rank-task">
            <p className="rank-prompt">
              <span className="muted">Prompt:</span> <strong data-testid="rank-prompt">{draft.prompt.text}</strong>
            </p>
            <RankingBoard draft={draft} onChange={setDraft} />
            <div className="buttons">
              <button type="button" onClick={save}>
                {answers.has(draft.prompt.id) ? 'Save this ranking again' : 'Save ranking'}
              </button>
            </div>
          </div>
        ) : (
          <p role="status">Every prompt is ranked: hand in your rankings below.</p>
        )}
        <ErrorLine text={problem} />
      </section>
      <HandInSection pack={pack} answers={[...answers.values()]} />
    </>
  );
}

function HandInSection({ pack, answers }: { pack: RankingPack; answers: PackAnswer[] }) {
  const [name, setName] = useState('');
  const [made, setMade] = useState<{ fileName: string; json: string; code: string }>();
  const [problem, setProblem] = useState('');
  const [copied, setCopied] = useState(false);
  const make = async () => {
    setCopied(false);
    try {
      checkLabelerName(name);
      setMade(await handIn(pack, name, answers));
      setProblem('');
    } catch (error) {
      setMade(undefined);
      setProblem(errorMessage(error));
    }
  };
  const file = made && new File([made.json], made.fileName, { type: 'application/json' });
  const canShare =
    file !== undefined && typeof navigator.canShare === 'function' && navigator.canShare({ files: [file] });
  const copy = async () => {
    if (!made) return;
    await navigator.clipboard?.writeText(made.code).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <section className="panel" aria-labelledby="hand-in-heading">
      <h2 id="hand-in-heading">Hand in</h2>
      <div className="inline-form">
        <label className="field">
          Your name or code
          <input value={name} maxLength={60} onChange={(event) => setName(event.target.value)} />
        </label>
        <button type="button" className="secondary" onClick={() => setName(anonymousCode())}>
          Use an anonymous code
        </button>
        <button type="button" disabled={answers.length === 0} onClick={() => void make()}>
          Hand in {answers.length} {answers.length === 1 ? 'ranking' : 'rankings'}
        </button>
      </div>
      <ErrorLine text={problem} />
      {made && (
        <div className="hand-in" data-testid="hand-in">
          <p>Give your teacher the file, or the code below (both hold the same rankings).</p>
          <div className="button-row">
            <button
              type="button"
              onClick={() => downloadBlob(made.fileName, new Blob([made.json], { type: 'application/json' }))}
            >
              Download {made.fileName}
            </button>
            {canShare && (
              <button
                type="button"
                className="secondary"
                onClick={() => void navigator.share({ files: [file], title: made.fileName }).catch(() => undefined)}
              >
                Share the file
              </button>
            )}
          </div>
          <label className="field wide">
            Your rankings as a text code
            <textarea
              readOnly
              rows={4}
              value={made.code}
              data-testid="hand-in-code"
              onFocus={(event) => event.target.select()}
            />
          </label>
          <button type="button" className="secondary" onClick={() => void copy()}>
            {copied ? 'Copied' : 'Copy the code'}
          </button>
        </div>
      )}
    </section>
  );
}

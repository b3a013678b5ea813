// The Rank panel (InstructGPT §3.4): a prompt with K outputs of the current model on the ranking
// board (RankingBoard.tsx: order by drag and drop or keyboard, ties, 1–7 ratings, flags), skip or
// submit — the ranking is confirmed once IndexedDB has it. "Auto-rank" has the simulated labeler
// fill in more rankings; human and simulated rankings are labelled apart; a class ranks together
// through ranking packs (ClassRanking.tsx). Model text is rendered as text. After a ranking is
// submitted or a prompt skipped, the next prompt's outputs are sampled at once; auto-rank says
// what it is doing and for how long. Saved rankings show their outputs' texts in order.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { StoredRanking } from '../data/lab-db.ts';
import { HYPERPARAMETER_SPECS } from '../store/hyperparameters.ts';
import {
  DEFAULT_LABELER_NOISE,
  nextPromptToRank,
  selectLoaded,
  selectPrompts,
  selectRankings,
  useLabDataStore,
  type Generate,
} from '../store/labDataStore.ts';
import { selectHyper, useLessonStore } from '../store/lessonStore.ts';
import { selectStatus, useGpuStore, type GpuStatus } from '../store/gpuStore.ts';
import { selectModelStatus, useModelStore } from '../store/modelStore.ts';
import { selectActive, useTrainingStore } from '../store/trainingStore.ts';
import { ClassRanking } from './ClassRanking.tsx';
import { LabDataError } from './LabDataError.tsx';
import { draftJudgement, letter, newDraft, RankingBoard, type Draft, type DraftPrompt } from './RankingBoard.tsx';
import { useBaseModel } from './useBaseModel.ts';
import { errorMessage } from '../store/errorMessage.ts';
import { ErrorLine } from './ErrorLine.tsx';

/** Rankings to aim for before training the reward model. */
const RANKING_TARGET = 50;
const DEFAULT_AUTO_RANK = 5;
/** Prompts auto-ranked per chunk (one batch of the sampler): each chunk is saved and counted before the next is sampled. */
const AUTO_RANK_CHUNK = 8;
const RECENT_SHOWN = 10;

const K_CHOICES = [2, 3, 4, 5, 6, 7, 8, 9];

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

/** Whether the output at `position` is tied with the one above it. */
function tiedWithAbove(ranking: StoredRanking, position: number): boolean {
  return (ranking.ties ?? []).some(([a, b]) => Math.min(a, b) === position - 1 && Math.max(a, b) === position);
}

/** "B > A = C > D": the order by letter, = between tied neighbours. */
function orderText(ranking: StoredRanking): string {
  return ranking.order.map((response, position) => (position === 0 ? '' : tiedWithAbove(ranking, position) ? ' = ' : ' > ') + letter(response)).join('');
}

/** A saved ranking's outputs best first, with their texts; "=" marks one as good as the one above. */
function RankedTexts({ ranking }: { ranking: StoredRanking }) {
  return (
    <ol className="saved-order">
      {ranking.order.map((response, position) => (
        <li key={response}>
          <span className="saved-rank" aria-label={tiedWithAbove(ranking, position) ? 'tied with the one above' : `rank ${position + 1}`}>
            {tiedWithAbove(ranking, position) ? '=' : position + 1}
          </span>{' '}
          <span className="output-letter">{letter(response)}</span> <span className="output-text">{ranking.responses[response] || '(empty output)'}</span>
        </li>
      ))}
    </ol>
  );
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
            <span className={`source source-${ranking.source}`}>{ranking.source === 'human' ? 'person' : 'simulated'}</span> <span className="saved-prompt">{ranking.prompt}</span>{' '}
            <span className="order-text">{orderText(ranking)}</span>
            <RankedTexts ranking={ranking} />
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

/** Seconds since `since` (undefined: not counting), updated every second. */
function useElapsedSeconds(since: number | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (since === undefined) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [since]);
  return since === undefined ? 0 : Math.max(0, Math.round((now - since) / 1000));
}

/** Auto-rank; a failure shows as the lab data's error (LabDataError). While it runs it says what it does and for how long. */
function AutoRank({ disabled, onBusy, exclude, onDone }: { disabled: boolean; onBusy(busy: boolean): void; exclude?: string; onDone(text: string): void }) {
  const autoRank = useLabDataStore((state) => state.autoRank);
  const generate = useGenerate();
  const K = useLessonStore(selectHyper).K;
  const [count, setCount] = useState(DEFAULT_AUTO_RANK);
  const [noise, setNoise] = useState(DEFAULT_LABELER_NOISE);
  const [startedAt, setStartedAt] = useState<number>();
  const [rankedSoFar, setRankedSoFar] = useState(0);
  const elapsed = useElapsedSeconds(startedAt);
  /** Ranks `count` prompts a chunk at a time, so the counts move as each chunk is saved. */
  const run = async () => {
    setStartedAt(Date.now());
    setRankedSoFar(0);
    onBusy(true);
    onDone('');
    let ranked = 0;
    let failed = false;
    while (ranked < count) {
      const added = await autoRank(Math.min(AUTO_RANK_CHUNK, count - ranked), K, noise, generate, exclude ? [exclude] : []).catch(() => undefined);
      if (added === undefined) failed = true;
      if (!added) break;
      ranked += added;
      setRankedSoFar(ranked);
    }
    setStartedAt(undefined);
    onBusy(false);
    if (!failed) onDone(ranked > 0 ? `The simulated labeler ranked ${ranked} more prompts.` : 'Every TinyWorld prompt is already ranked.');
  };
  const timeLeft = rankedSoFar > 0 ? `, about ${Math.round((elapsed / rankedSoFar) * (count - rankedSoFar))} s left` : '';
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
        <button type="button" onClick={() => void run()} disabled={disabled || startedAt !== undefined}>
          {startedAt !== undefined ? 'Auto-ranking…' : `Auto-rank ${count} prompts`}
        </button>
      </div>
      {startedAt !== undefined && (
        <p role="status" data-testid="auto-rank-progress">
          Ranked {rankedSoFar} of {count}: sampling {K} outputs for each of the next {Math.min(AUTO_RANK_CHUNK, count - rankedSoFar)} prompts with the current model, then the simulated labeler
          ranks them ({elapsed} s so far{timeLeft}).
        </p>
      )}
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
  const [autoRanking, setAutoRanking] = useState(false);
  const [notice, setNotice] = useState('');
  const [problem, setProblem] = useState('');
  const prompt = draft?.prompt ?? nextPromptToRank(prompts, rankings, skipped);
  const human = rankings.filter((r) => r.source === 'human').length;

  /** Samples K outputs for `target` onto the board (submit and skip call it for the next prompt at once). */
  const sampleFor = async (target: DraftPrompt | undefined) => {
    if (!target) return;
    setBusy(true);
    setProblem('');
    try {
      const [outputs] = await generate([target.text], K);
      setDraft(newDraft(target, outputs));
    } catch (error) {
      setProblem(`Could not sample outputs: ${errorMessage(error)}`);
    } finally {
      setBusy(false);
    }
  };
  /** The prompt after the current one, from the rankings as saved now. */
  const nextAfter = (nowSkipped: ReadonlySet<string>) => nextPromptToRank(prompts, useLabDataStore.getState().rankings, nowSkipped);
  const skip = () => {
    if (!prompt) return;
    const nowSkipped = new Set([...skipped, prompt.id]);
    setSkipped(nowSkipped);
    setDraft(undefined);
    setNotice(`Skipped “${prompt.text}”.`);
    if (modelReady) void sampleFor(nextAfter(nowSkipped));
  };
  const submit = async () => {
    if (!draft) return;
    const judged = draftJudgement(draft);
    if ('problem' in judged) {
      setProblem(judged.problem);
      return;
    }
    setBusy(true);
    setProblem('');
    // A failed save shows as the lab data's error (LabDataError); the draft stays for another try.
    let saved = false;
    try {
      await saveRanking({ promptId: draft.prompt.id, prompt: draft.prompt.text, responses: draft.responses, source: 'human', ...judged.judgement });
      setDraft(undefined);
      setNotice(`Ranking saved for “${draft.prompt.text}”.`);
      saved = true;
    } catch {
      setNotice('');
    } finally {
      setBusy(false);
    }
    if (saved) void sampleFor(nextAfter(skipped));
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
            <button type="button" onClick={() => void sampleFor(prompt)} disabled={busy || autoRanking || !modelReady}>
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
      <ErrorLine text={problem} />
      <p role="status" className="ok">
        {notice}
      </p>
      <AutoRank disabled={busy || !modelReady} onBusy={setAutoRanking} exclude={prompt?.id} onDone={setNotice} />
      <SavedRankings />
      <ClassRanking generate={generate} modelReady={modelReady} />
    </section>
  );
}

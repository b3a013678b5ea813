// The Rank panel (InstructGPT §3.4): a prompt with K outputs of the current model on the ranking
// board (RankingBoard.tsx: order by drag and drop or keyboard, ties, 1–7 ratings, flags; the draft
// it edits is draft.ts), skip or submit — the ranking is confirmed once IndexedDB has it. After a
// ranking is submitted or a prompt skipped, the next prompt's outputs are sampled at once.
// Auto-rank (AutoRank.tsx) has the simulated labeler fill in more rankings; human and simulated
// rankings are labelled apart (SavedRankings.tsx); a class ranks together through ranking packs
// (ClassRanking.tsx). Model text is rendered as text.
import { useState } from 'react';
import { errorMessage } from '../../store/errorMessage.ts';
import { HYPERPARAMETER_SPECS } from '../../store/hyperparameters.ts';
import { selectLoaded, selectPrompts, selectRankings, useLabDataStore } from '../../store/labDataStore.ts';
import { selectHyper, useLessonStore } from '../../store/lessonStore.ts';
import { selectStatus, useGpuStore, type GpuStatus } from '../../store/gpuStore.ts';
import { selectModelStatus, useModelStore } from '../../store/modelStore.ts';
import { ErrorLine } from '../ErrorLine.tsx';
import { LabDataError } from '../LabDataError.tsx';
import { useBaseModel } from '../useBaseModel.ts';
import { AutoRank } from './AutoRank.tsx';
import { ClassRanking } from './ClassRanking.tsx';
import { draftJudgement, newDraft, nextPromptToRank, type Draft, type DraftPrompt } from './draft.ts';
import { ModelChoice } from './ModelChoice.tsx';
import { RankingBoard } from './RankingBoard.tsx';
import { SavedRankings } from './SavedRankings.tsx';
import { useGenerate } from './useGenerate.ts';

/** Rankings to aim for before training the reward model. */
const RANKING_TARGET = 50;

const K_CHOICES = [2, 3, 4, 5, 6, 7, 8, 9];

/** Why outputs cannot be sampled yet, as the sample button says it. */
function waitingFor(gpu: GpuStatus, model: string): string {
  if (gpu === 'failed' || model === 'failed') return 'The model did not load: see the Model panel';
  return 'Loading the model…';
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
  const nextAfter = (nowSkipped: ReadonlySet<string>) =>
    nextPromptToRank(prompts, useLabDataStore.getState().rankings, nowSkipped);
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
      await saveRanking({
        promptId: draft.prompt.id,
        prompt: draft.prompt.text,
        responses: draft.responses,
        source: 'human',
        ...judged.judgement,
      });
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
        Step 2 of InstructGPT: labelers rank several outputs of the model for one prompt, best first. Every ranking of K
        outputs gives the reward model K(K−1)/2 comparisons.
      </p>
      <LabDataError />
      <div className="rank-progress" data-testid="rank-progress">
        <progress value={Math.min(rankings.length, RANKING_TARGET)} max={RANKING_TARGET} aria-label="Rankings made" />{' '}
        {rankings.length} / {RANKING_TARGET} ranked ({human} by people, {rankings.length - human} simulated)
      </div>
      <div className="fields">
        <ModelChoice disabled={busy || draft !== undefined} />
        <label className="field narrow" title={HYPERPARAMETER_SPECS.K.explanation}>
          {HYPERPARAMETER_SPECS.K.label}
          <select
            value={K}
            onChange={(event) => setHyper('K', Number(event.target.value))}
            disabled={draft !== undefined}
          >
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

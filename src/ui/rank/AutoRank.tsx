// Auto-rank: the simulated labeler ranks, rates and flags the current model's outputs for more
// prompts, a chunk at a time, saying what it does and for how long.
import { useEffect, useState } from 'react';
import { DEFAULT_LABELER_NOISE, useLabDataStore } from '../../store/labDataStore.ts';
import { selectHyper, useLessonStore } from '../../store/lessonStore.ts';
import { useGenerate } from './useGenerate.ts';

const DEFAULT_AUTO_RANK = 5;
/** Prompts auto-ranked per chunk (one batch of the sampler): each chunk is saved and counted before the next is sampled. */
const AUTO_RANK_CHUNK = 8;

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
export function AutoRank({
  disabled,
  onBusy,
  exclude,
  onDone,
}: {
  disabled: boolean;
  onBusy(busy: boolean): void;
  exclude?: string;
  onDone(text: string): void;
}) {
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
      const added = await autoRank(
        Math.min(AUTO_RANK_CHUNK, count - ranked),
        K,
        noise,
        generate,
        exclude ? [exclude] : [],
      ).catch(() => undefined);
      if (added === undefined) failed = true;
      if (!added) break;
      ranked += added;
      setRankedSoFar(ranked);
    }
    setStartedAt(undefined);
    onBusy(false);
    if (!failed)
      onDone(
        ranked > 0
          ? `The simulated labeler ranked ${ranked} more prompts.`
          : 'Every TinyWorld prompt is already ranked.',
      );
  };
  const timeLeft =
    rankedSoFar > 0 ? `, about ${Math.round((elapsed / rankedSoFar) * (count - rankedSoFar))} s left` : '';
  return (
    <div className="auto-rank">
      <h3>Auto-rank with the simulated labeler</h3>
      <p className="muted">
        TinyWorld's training labeler ranks, rates and flags the model's outputs, so a demo can go on without typing. Its
        rankings are marked “simulated”.
      </p>
      <div className="inline-form">
        <label className="field">
          Prompts to auto-rank
          <input
            type="number"
            min={1}
            max={200}
            value={count}
            onChange={(event) => setCount(Math.max(1, Math.floor(Number(event.target.value))))}
          />
        </label>
        <label className="field">
          Labeler noise
          <input
            type="number"
            min={0}
            max={3}
            step={0.1}
            value={noise}
            onChange={(event) => setNoise(Math.min(3, Math.max(0, Number(event.target.value))))}
            aria-describedby="noise-help"
          />
        </label>
        <button type="button" onClick={() => void run()} disabled={disabled || startedAt !== undefined}>
          {startedAt !== undefined ? 'Auto-ranking…' : `Auto-rank ${count} prompts`}
        </button>
      </div>
      {startedAt !== undefined && (
        <p role="status" data-testid="auto-rank-progress">
          Ranked {rankedSoFar} of {count}: sampling {K} outputs for each of the next{' '}
          {Math.min(AUTO_RANK_CHUNK, count - rankedSoFar)} prompts with the current model, then the simulated labeler
          ranks them ({elapsed} s so far{timeLeft}).
        </p>
      )}
      <p id="noise-help" className="muted">
        How much the labeler misjudges each output (standard deviation in Likert points); real labelers agreed with each
        other about 73% of the time.
      </p>
    </div>
  );
}

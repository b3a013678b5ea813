// The saved rankings, newest first (the latest few, or all): who ranked (a person or the simulated
// labeler), the prompt, the order as "B > A = C", each output's text in rank order, and a delete
// button. A failed delete shows as the lab data's error (LabDataError). Text is rendered as text.
import { useMemo, useState } from 'react';
import type { StoredRanking } from '../../data/lab-db.ts';
import { selectRankings, useLabDataStore } from '../../store/labDataStore.ts';
import { letter } from './draft.ts';

const RECENT_SHOWN = 10;

/** Whether the output at `position` is tied with the one above it. */
function tiedWithAbove(ranking: StoredRanking, position: number): boolean {
  return (ranking.ties ?? []).some(([a, b]) => Math.min(a, b) === position - 1 && Math.max(a, b) === position);
}

/** "B > A = C > D": the order by letter, = between tied neighbours. */
function orderText(ranking: StoredRanking): string {
  return ranking.order
    .map(
      (response, position) =>
        (position === 0 ? '' : tiedWithAbove(ranking, position) ? ' = ' : ' > ') + letter(response),
    )
    .join('');
}

/** A saved ranking's outputs best first, with their texts; "=" marks one as good as the one above. */
function RankedTexts({ ranking }: { ranking: StoredRanking }) {
  return (
    <ol className="saved-order">
      {ranking.order.map((response, position) => (
        <li key={response}>
          <span
            className="saved-rank"
            aria-label={tiedWithAbove(ranking, position) ? 'tied with the one above' : `rank ${position + 1}`}
          >
            {tiedWithAbove(ranking, position) ? '=' : position + 1}
          </span>{' '}
          <span className="output-letter">{letter(response)}</span>{' '}
          <span className="output-text">{ranking.responses[response] || '(empty output)'}</span>
        </li>
      ))}
    </ol>
  );
}

export function SavedRankings() {
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
            <span className={`source source-${ranking.source}`}>
              {ranking.source === 'human' ? 'person' : 'simulated'}
            </span>{' '}
            <span className="saved-prompt">{ranking.prompt}</span>{' '}
            <span className="order-text">{orderText(ranking)}</span>
            <RankedTexts ranking={ranking} />
            <button
              type="button"
              className="danger small"
              onClick={() => void deleteRanking(ranking.id).catch(() => undefined)}
              aria-label={`Delete the ranking of: ${ranking.prompt}`}
            >
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

// The evaluation slice: the held-out labeler's table of the chosen checkpoints (its progress in
// words while it runs), and blind A/B comparisons judged by a person, each judgment saved in
// IndexedDB before the next pair is shown.
import { labDb, type StoredJudgment } from '../../data/lab-db.ts';
import { Comlink, labWorker } from '../bridge.ts';
import { errorMessage } from '../errorMessage.ts';
import { blindSides } from '../runRecords.ts';
import { showError } from './failures.ts';
import type { BlindSession, EvaluationSlice, TrainingStore } from './state.ts';

/** The person's judgment of the blind session's current pair. */
function judgmentOf(blind: BlindSession, winner: StoredJudgment['winner']): StoredJudgment {
  const pair = blind.pairs[blind.index];
  return {
    id: `judgment-${Date.now()}-${blind.index}`,
    prompt: pair.prompt,
    a: blind.a,
    b: blind.b,
    aText: pair.a,
    bText: pair.b,
    winner,
    createdAt: Date.now(),
  };
}

export function createEvaluationSlice(store: TrainingStore): EvaluationSlice {
  return {
    evaluation: { status: 'idle' },
    judgments: [],

    async evaluate(names, settings) {
      store.setState({ evaluation: { status: 'running', message: 'starting…' } });
      try {
        const onProgress = Comlink.proxy((message: string) =>
          store.setState((state) => ({ evaluation: { ...state.evaluation, message } })),
        );
        const rows = await labWorker().evaluate(names, settings, onProgress);
        store.setState({ evaluation: { status: 'done', rows } });
      } catch (error) {
        store.setState({ evaluation: { status: 'failed', error: errorMessage(error) } });
      }
    },

    async startBlind(a, b, count, settings) {
      store.setState({ blind: undefined, error: undefined });
      try {
        const pairs = await labWorker().blindPairs(a, b, count, settings);
        store.setState({ blind: { a, b, pairs, swapped: blindSides(pairs.length, settings.seed), index: 0 } });
      } catch (error) {
        showError(store, error);
      }
    },

    async judge(winner) {
      const blind = store.getState().blind;
      if (!blind || blind.index >= blind.pairs.length) return;
      const judgment = judgmentOf(blind, winner);
      try {
        await (await labDb()).putJudgment(judgment);
      } catch (error) {
        showError(store, error);
        return;
      }
      store.setState((state) => ({
        judgments: [...state.judgments, judgment],
        blind: state.blind && { ...state.blind, index: state.blind.index + 1 },
      }));
    },
  };
}

// What users saved under PPO's old names (beta, clip, ppoBatch/batch, the metric beta, the
// policy metadata beta) loads with the same values under the names now: one test per format.
import { describe, expect, it } from 'vitest';
import { migrateCheckpointMeta, migrateLessonQuery, migrateStoredRun } from '../../../src/data/legacy-names.ts';
import type { StoredRun } from '../../../src/data/lab-db.ts';

function run(kind: StoredRun['kind'], settings: StoredRun['settings'], metrics: StoredRun['metrics']): StoredRun {
  return { id: 'r', kind, status: 'done', startedAt: 1, updatedAt: 2, settings, metrics, samples: [] };
}

describe('migrateLessonQuery', () => {
  it('reads an old lesson link under the names now and keeps every other key', () => {
    const params = migrateLessonQuery('?panel=ppo&preset=micro&beta=0&clip=0.3&ppoBatch=4&K=6&debug=1');
    expect(Object.fromEntries(params)).toEqual({
      panel: 'ppo',
      preset: 'micro',
      klCoef: '0',
      clipRange: '0.3',
      batchSize: '4',
      K: '6',
      debug: '1',
    });
  });

  it('lets a new key win over its old one', () => {
    expect(Object.fromEntries(migrateLessonQuery('?beta=0.5&klCoef=0.1'))).toEqual({ klCoef: '0.1' });
    expect(Object.fromEntries(migrateLessonQuery('?klCoef=0.1&beta=0.5'))).toEqual({ klCoef: '0.1' });
  });
});

describe('migrateStoredRun', () => {
  it("reads an old PPO run's settings and its logged β under the names now, with the same values", () => {
    const old = run('ppo', { beta: 0.02, lr: 3e-5, clip: 0.2, ppoEpochs: 4, batch: 8, seed: 1 }, [
      { iteration: 0, 'objective/kl': 0.1, beta: 0.02 },
      { iteration: 1, 'objective/kl': 0.2, beta: 0.021 },
    ]);
    expect(migrateStoredRun(old)).toEqual({
      ...old,
      settings: { lr: 3e-5, ppoEpochs: 4, seed: 1, klCoef: 0.02, clipRange: 0.2, batchSize: 8 },
      metrics: [
        { iteration: 0, 'objective/kl': 0.1, 'objective/kl_coef': 0.02 },
        { iteration: 1, 'objective/kl': 0.2, 'objective/kl_coef': 0.021 },
      ],
    });
  });

  it('leaves a run saved with the names now, and DPO runs (whose beta is DPO β), as they are', () => {
    const now = run('ppo', { klCoef: 0.02, clipRange: 0.2, batchSize: 8 }, [
      { iteration: 0, 'objective/kl_coef': 0.02 },
    ]);
    expect(migrateStoredRun(now)).toEqual(now);
    const dpo = run('dpo', { beta: 0.1, epochs: 1 }, [{ step: 1, beta: 0.1 }]);
    expect(migrateStoredRun(dpo)).toBe(dpo);
  });
});

describe('migrateCheckpointMeta', () => {
  it("reads an old policy checkpoint's beta as kl_coef, with the same value", () => {
    const old = { kind: 'policy', parent: 'sft', beta: '0.02', ptx_coef: '0', steps: '3' };
    expect(migrateCheckpointMeta(old)).toEqual({
      kind: 'policy',
      parent: 'sft',
      kl_coef: '0.02',
      ptx_coef: '0',
      steps: '3',
    });
    expect(migrateCheckpointMeta({ kind: 'policy', kl_coef: '0.05' })).toEqual({ kind: 'policy', kl_coef: '0.05' });
  });

  it('leaves other kinds alone (a DPO checkpoint keeps its beta)', () => {
    const dpo = { kind: 'dpo', beta: '0.1' };
    expect(migrateCheckpointMeta(dpo)).toEqual(dpo);
  });
});

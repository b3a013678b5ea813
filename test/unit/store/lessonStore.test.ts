// The lesson setup in the URL: parse and serialize round-trip, defaults are left out, invalid
// values are ignored, and parameters the lesson does not own are kept.
import { describe, expect, it } from 'vitest';
import { DEFAULT_HYPERPARAMETERS } from '../../../src/store/hyperparameters.ts';
import {
  DEFAULT_LESSON,
  lessonSearch,
  parseLesson,
  presetModelUrl,
  useLessonStore,
} from '../../../src/store/lessonStore.ts';

describe('parseLesson', () => {
  it('reads panel, preset, seed and hyperparameters', () => {
    const lesson = parseLesson('?panel=ppo&preset=micro&seed=3&klCoef=0&K=6&sftLr=0.0005');
    expect(lesson).toEqual({
      panel: 'ppo',
      preset: 'micro',
      seed: 3,
      hyper: { ...DEFAULT_HYPERPARAMETERS, klCoef: 0, K: 6, sftLr: 0.0005 },
    });
  });

  it('reads a link written before PPO took one name per setting (beta, clip, ppoBatch) with the same values', () => {
    const old = parseLesson('?panel=ppo&preset=micro&seed=3&beta=0.05&clip=0.3&ppoBatch=4');
    expect(old.hyper).toEqual({ ...DEFAULT_HYPERPARAMETERS, klCoef: 0.05, clipRange: 0.3, batchSize: 4 });
    expect(old).toEqual(parseLesson('?panel=ppo&preset=micro&seed=3&klCoef=0.05&clipRange=0.3&batchSize=4'));
    // and rewrites it with the names now
    expect(lessonSearch(old, '?beta=0.05&clip=0.3&ppoBatch=4&debug=1')).toBe(
      '?debug=1&panel=ppo&preset=micro&seed=3&klCoef=0.05&clipRange=0.3&batchSize=4',
    );
  });

  it('gives the defaults for an empty query', () => {
    expect(parseLesson('')).toEqual(DEFAULT_LESSON);
  });

  it('ignores invalid values', () => {
    const lesson = parseLesson('?panel=settings&preset=huge&seed=-2&K=12&klCoef=abc&ppoEpochs=2.5&temperature=');
    expect(lesson).toEqual(DEFAULT_LESSON);
    expect(parseLesson('?seed=1.5').seed).toBe(DEFAULT_LESSON.seed);
    expect(parseLesson('?seed=99999999999').seed).toBe(DEFAULT_LESSON.seed);
  });
});

describe('lessonSearch', () => {
  it('writes only non-default values, in a fixed order', () => {
    expect(lessonSearch(DEFAULT_LESSON)).toBe('');
    const lesson = {
      panel: 'rank' as const,
      preset: 'micro' as const,
      seed: 7,
      hyper: { ...DEFAULT_HYPERPARAMETERS, klCoef: 0, K: 5 },
    };
    expect(lessonSearch(lesson)).toBe('?panel=rank&preset=micro&seed=7&K=5&klCoef=0');
  });

  it('round-trips through parseLesson', () => {
    const lesson = {
      panel: 'evaluate' as const,
      preset: 'small' as const,
      seed: 0,
      hyper: { ...DEFAULT_HYPERPARAMETERS, ppoLr: 1e-5, ptxCoef: 27.8, maxNewTokens: 12 },
    };
    expect(parseLesson(lessonSearch(lesson))).toEqual(lesson);
  });

  it('keeps parameters the lesson does not own and replaces the ones it does', () => {
    expect(lessonSearch({ ...DEFAULT_LESSON, seed: 4 }, '?debug=1&seed=9&panel=rank')).toBe('?debug=1&seed=4');
  });
});

describe('useLessonStore', () => {
  it('accepts valid changes and ignores invalid ones', () => {
    const store = useLessonStore.getState();
    store.setHyper('K', 6);
    store.setHyper('K', 10);
    store.setSeed(-1);
    store.setSeed(12);
    store.setPanel('data');
    expect(useLessonStore.getState()).toMatchObject({ panel: 'data', seed: 12, hyper: { K: 6 } });
  });
});

describe('presetModelUrl', () => {
  it('serves small from models/base and micro from models/micro', () => {
    expect(presetModelUrl('small')).toMatch(/models\/base\/$/);
    expect(presetModelUrl('micro')).toMatch(/models\/micro\/$/);
  });
});

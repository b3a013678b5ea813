// A run's progress in words: "step k of n" with the time left once steps after the first (which
// compiles the GPU kernels) were measured, and durations as the status line writes them.
import { describe, expect, it } from 'vitest';
import { formatDuration, stepProgress } from '../../../src/store/runRecords.ts';

describe('stepProgress', () => {
  it('estimates from the steps after the first and counts down', () => {
    let now = 0;
    const progress = stepProgress(() => now);
    now = 40_000; // the first step includes compiling the kernels
    expect(progress(1, 10)).toBe('step 1 of 10 · estimating the time left…');
    now = 45_000;
    expect(progress(2, 10)).toBe('step 2 of 10 · about 40 s left');
    now = 55_000;
    expect(progress(4, 10)).toBe('step 4 of 10 · about 30 s left');
  });
});

describe('formatDuration', () => {
  it('writes seconds under a minute and minutes with seconds above', () => {
    expect(formatDuration(200)).toBe('1 s');
    expect(formatDuration(42_400)).toBe('42 s');
    expect(formatDuration(65_000)).toBe('1 min 5 s');
  });
});

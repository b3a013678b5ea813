// Tests for TinyWorld's seeded PRNG: determinism, ranges and the helpers.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/world/rng.ts';

describe('createRng', () => {
  it('gives the same numbers for the same seed and different ones for another seed', () => {
    const a = createRng(42),
      b = createRng(42),
      c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  it('keeps values in range', () => {
    const rng = createRng('range');
    for (let i = 0; i < 2000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = rng.intBetween(3, 6);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(6);
      expect(Number.isInteger(n)).toBe(true);
    }
  });

  it('hits every integer of a range roughly uniformly', () => {
    const rng = createRng('uniform');
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[rng.intBetween(0, 3)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('shuffles into a permutation and samples distinct items', () => {
    const rng = createRng('shuffle');
    const items = [1, 2, 3, 4, 5, 6, 7];
    expect(rng.shuffle(items).sort()).toEqual(items);
    const s = rng.sample(items, 4);
    expect(new Set(s).size).toBe(4);
    expect(() => rng.pick([])).toThrow();
  });

  it('forks streams that depend on the label, not on the parent state', () => {
    const a = createRng(1),
      b = createRng(1);
    a.next();
    expect(a.fork('x').next()).toBe(b.fork('x').next());
    expect(a.fork('x').next()).not.toBe(a.fork('y').next());
  });

  it('draws weighted values in proportion and normals with mean 0, sd 1', () => {
    const rng = createRng('w');
    let heavy = 0;
    for (let i = 0; i < 4000; i++)
      if (
        rng.weighted([
          ['a', 3],
          ['b', 1],
        ] as const) === 'a'
      )
        heavy++;
    expect(heavy / 4000).toBeCloseTo(0.75, 1);
    const zs = Array.from({ length: 4000 }, () => rng.normal());
    const mean = zs.reduce((s, z) => s + z, 0) / zs.length;
    const sd = Math.sqrt(zs.reduce((s, z) => s + (z - mean) ** 2, 0) / zs.length);
    expect(Math.abs(mean)).toBeLessThan(0.06);
    expect(Math.abs(sd - 1)).toBeLessThan(0.06);
  });
});

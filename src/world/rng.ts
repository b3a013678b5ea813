// Seeded pseudo-random numbers for TinyWorld: the sfc32 generator seeded through a string hash
// (xmur3), with the helpers the generators need. Everything in the world is a pure function of
// a seed; `fork(label)` derives an independent stream so that, e.g., document i of the corpus is
// the same whatever the number of documents asked for. (The model's initialisation and training
// shuffles use model/random.ts Rng, a different generator whose `int(n)` is in [0, n).)

export interface WorldRng {
  /** The key this stream was seeded from (seed plus fork labels). */
  readonly key: string;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  intBetween(min: number, max: number): number;
  /** Uniform float in [min, max). */
  float(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element, uniformly. Throws on an empty list. */
  pick<T>(items: readonly T[]): T;
  /** One value, with probability proportional to its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T;
  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
  /** n distinct elements in random order (all of them if n ≥ length). */
  sample<T>(items: readonly T[], n: number): T[];
  /** Standard normal draw (Box–Muller). */
  normal(): number;
  /** An independent stream derived from this stream's key and a label (not from its state). */
  fork(label: string | number): WorldRng;
}

/** xmur3 string hash: returns a function producing a sequence of 32-bit seeds. */
function xmur3(text: string): () => number {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    h ^= h >>> 16;
    return h >>> 0;
  };
}

/** A 32-bit hash of a string, for seeding and for stable ids. */
export function hashString(text: string): number {
  return xmur3(text)();
}

class Sfc32 implements WorldRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly key: string) {
    const seed = xmur3(key);
    this.a = seed();
    this.b = seed();
    this.c = seed();
    this.d = seed();
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  intBetween(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  float(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('WorldRng.pick: empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1][0];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  sample<T>(items: readonly T[], n: number): T[] {
    return this.shuffle(items).slice(0, n);
  }

  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  fork(label: string | number): WorldRng {
    return new Sfc32(`${this.key}/${label}`);
  }
}

/** A seeded stream. Same seed, same numbers, on every platform. */
export function createRng(seed: number | string): WorldRng {
  return new Sfc32(String(seed));
}

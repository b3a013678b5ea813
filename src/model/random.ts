// Small deterministic seeded random numbers: mulberry32 for uniforms and the Box–Muller transform
// for normals. Used to initialize parameters and to build test data, so that a seed gives the same
// numbers in every browser and in Node. TinyWorld has its own generator (world/rng.ts WorldRng:
// sfc32 seeded from strings, with forks); the two streams are distinct and both are pinned by tests.

/** A seeded random number generator. The seed is taken modulo 2^32. */
export class Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1), with 32 bits of resolution (mulberry32). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Standard normal N(0, 1) by Box–Muller: two uniforms give two independent normals,
   * r·cos θ and r·sin θ with r = sqrt(−2 ln u1), θ = 2π u2; the second is kept for the next call.
   */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    const u1 = 1 - this.uniform(); // in (0, 1], so the log is finite
    const u2 = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

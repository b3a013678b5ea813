// Timing for the browser benchmark: contenders of one comparison run interleaved (A B, then B A,
// ...) after their warm-up, so a slow phase of a shared CPU or GPU hits both alike; each run's rate
// is work / wall-clock seconds, and a comparison reports the median and the spread (min–max).
import type { Spread } from '../../src/cli/bench.ts';

/** One side of a comparison: a repeatable run that waits for its GPU work and resolves with the work done (tokens or FLOPs). */
export interface Contender {
  name: string;
  run(): Promise<number>;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

async function timed(run: () => Promise<number>): Promise<{ seconds: number; work: number }> {
  const started = performance.now();
  const work = await run();
  return { seconds: (performance.now() - started) / 1000, work };
}

/**
 * Rates (work per second) of each contender over `repeats` runs, in alternating order, after
 * `warmups` untimed runs each (pipeline compilation, first allocations, TF.js shader caches).
 */
export async function interleave(
  contenders: Contender[],
  repeats: number,
  warmups: number,
  log: (line: string) => void,
): Promise<Spread[]> {
  for (const contender of contenders) {
    for (let i = 0; i < warmups; i++)
      log(`  warm-up ${contender.name}: ${(await timed(() => contender.run())).seconds.toFixed(2)} s`);
  }
  const rates: number[][] = contenders.map(() => []);
  for (let repeat = 0; repeat < repeats; repeat++) {
    const order = contenders.map((_, i) => i);
    if (repeat % 2 === 1) order.reverse();
    for (const i of order) {
      const { seconds, work } = await timed(() => contenders[i].run());
      rates[i].push(work / seconds);
      log(`  run ${repeat + 1}/${repeats} ${contenders[i].name}: ${seconds.toFixed(2)} s`);
    }
  }
  return rates.map(spread);
}

/**
 * How many repetitions `repeat(count)` needs for a run of about `targetSeconds` (at least 1, at
 * most `most`): after a warm-up call, the count grows fourfold until a call lasts a quarter of the
 * target, then scales. Keeps a run long enough to swamp submit latency on a fast GPU and short
 * enough to finish on a CPU adapter.
 */
export async function repetitionsFor(
  repeat: (count: number) => Promise<unknown>,
  targetSeconds: number,
  most: number,
): Promise<number> {
  await repeat(1);
  for (let count = 1; ; count *= 4) {
    const started = performance.now();
    await repeat(count);
    const s = (performance.now() - started) / 1000;
    if (s >= targetSeconds / 4 || count * 4 > most)
      return Math.max(1, Math.min(most, Math.round((count * targetSeconds) / Math.max(s, 1e-6))));
  }
}

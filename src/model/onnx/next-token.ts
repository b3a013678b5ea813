// Next-token sampling on the CPU: the twin of the GPU sampler's kernel (engine/kernels/sample.wgsl),
// for samplers that get their logits elsewhere (onnxruntime-web). Same rules, same random draws:
//   temperature 0  greedy: the argmax (ties → lowest id).
//   otherwise      p ∝ exp((logit − max)/temperature); keep the first top_k tokens in the order
//                  (logit descending, id ascending); of those keep the shortest prefix of that order
//                  whose fixed-point mass reaches top_p of theirs; draw from what is kept.
// The draw takes u = r·(kept mass) with r from the same PCG hash of (seed, step, row) and walks the
// cumulative mass in id order, so equal logits give the GPU's token. Probabilities are rounded to
// float32 and masses to the kernel's 31-bit fixed point, as the kernel does; only float32 sums in a
// different order (and exp's last bit) can move a draw that falls within rounding of a boundary.

/** The per-step settings of a draw (engine/ops/decode.ts SampleParams). */
export interface NextTokenParams {
  /** 0 = greedy argmax; otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Keep only the topK most likely tokens; 0 = off. */
  topK: number;
  /** Keep the smallest most-likely set whose (top-k renormalised) mass reaches topP; 1 = off. */
  topP: number;
  seed: number;
  /** Decode step: the position of the last token the logits are conditioned on. */
  step: number;
}

/** Positive temperatures below this are treated as 0, as writeSampleParams does (1/T overflows float32). */
const MIN_TEMPERATURE = 1e-30;
/** Probabilities (≤ 1) as fixed point with 31 fraction bits, as in sample.wgsl. */
const MASS_SCALE = 2 ** 31;

/** Throws on settings the GPU sampler rejects, with its messages. */
export function checkSamplingParams(p: Pick<NextTokenParams, 'temperature' | 'topK' | 'topP'>): void {
  if (!(p.temperature >= 0) || !Number.isFinite(p.temperature))
    throw new Error(`temperature must be ≥ 0, got ${p.temperature}`);
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new Error(`topK must be a non-negative integer, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${p.topP}`);
}

/** The next token of row `row` from its logits (V). */
export function sampleNextToken(logits: Float32Array, params: NextTokenParams, row: number): number {
  const keys = orderKeys(logits);
  const best = argmax(keys);
  if (!(params.temperature >= MIN_TEMPERATURE)) return best;
  const maxLogit = logits[best];
  const inverseTemperature = Math.fround(1 / Math.fround(params.temperature));
  const probs = new Float64Array(logits.length); // float32-rounded exp((logit − max)/T), 0 for dropped tokens
  for (let j = 0; j < logits.length; j++)
    probs[j] = Math.fround(Math.exp(Math.fround(Math.fround(logits[j] - maxLogit) * inverseTemperature)));
  const kept = keptTokens(keys, probs, params);
  const dropped = new Uint8Array(logits.length).fill(1);
  for (const id of kept) dropped[id] = 0;
  for (let j = 0; j < logits.length; j++) if (dropped[j]) probs[j] = 0;
  return draw(probs, uniform01(params.seed, params.step, row));
}

/** The kept ids: a prefix of the order (logit descending, id ascending), cut by top-k, then top-p. */
function keptTokens(keys: Uint32Array, probs: Float64Array, params: NextTokenParams): Uint32Array {
  const V = keys.length;
  const order = Uint32Array.from({ length: V }, (_, j) => j).sort((a, b) => keys[b] - keys[a] || a - b);
  const topK = params.topK > 0 && params.topK < V ? order.subarray(0, params.topK) : order;
  if (!(params.topP < 1)) return topK;
  const masses = Array.from(topK, (id) => Math.floor(probs[id] * MASS_SCALE));
  const total = masses.reduce((sum, mass) => sum + mass, 0);
  const goal = Math.max(1, Math.floor(Math.fround(Math.fround(params.topP) * Math.fround(total))));
  let reached = 0;
  for (let i = 0; i < masses.length; i++) {
    reached += masses[i];
    if (reached >= goal) return topK.subarray(0, i + 1);
  }
  return topK;
}

/** The first id whose cumulative mass passes u·total, in id order; rounding past the end gives the last positive one. */
function draw(probs: Float64Array, r: number): number {
  let total = 0;
  for (const p of probs) total += p;
  const u = r * total;
  let cumulative = 0;
  let last = -1;
  for (let j = 0; j < probs.length; j++) {
    if (probs[j] <= 0) continue;
    last = j;
    cumulative += probs[j];
    if (u < cumulative) return j;
  }
  return last;
}

/** The token first in (logit descending, id ascending) order. */
function argmax(keys: Uint32Array): number {
  let best = 0;
  for (let j = 1; j < keys.length; j++) if (keys[j] > keys[best]) best = j;
  return best;
}

/** Order-preserving float32 → u32 keys (sample.wgsl order_key): a < b as floats ⇔ key(a) < key(b). */
function orderKeys(logits: Float32Array): Uint32Array {
  const bits = new Uint32Array(Float32Array.from(logits).buffer);
  return bits.map((b) => ((b & 0x80000000) !== 0 ? ~b : b | 0x80000000) >>> 0);
}

/** Uniform in [0, 1) with 24 bits, a function of (seed, step, row) only: sample.wgsl's uniform01. */
export function uniform01(seed: number, step: number, row: number): number {
  return (pcg((pcg((pcg(seed >>> 0) + (step >>> 0)) >>> 0) + (row >>> 0)) >>> 0) >>> 8) / 16777216;
}

/** PCG hash on u32 (O'Neill; Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020). */
function pcg(v: number): number {
  const state = (Math.imul(v, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

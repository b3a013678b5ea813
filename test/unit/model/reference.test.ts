// Tests for the float64 GPT-2 reference: central finite differences against backward for every
// entry of every parameter tensor (LM loss, scalar head path, both together), known properties of
// the loss, the statistics and the causal mask, and AdamW steps computed by hand.
import { describe, expect, it } from 'vitest';
import {
  findTensor,
  initParameters,
  parameterLayout,
  scalarHeadLayout,
  type GptConfig,
  type ParameterLayout,
} from '../../../src/model/config.ts';
import { Rng } from '../../../src/model/random.ts';
import {
  adamwStep,
  backward,
  crossEntropyLoss,
  forward,
  scalarHeadBackward,
  scalarHeadForward,
  tokenEntropy,
  tokenLogprobs,
} from '../../../src/model/reference.ts';
import type { AdamwHyperparams } from '../../../src/engine/ops/adamw.ts';

// A micro model made smaller still, so that every parameter can be checked by finite differences.
const CONFIG: GptConfig = { nLayer: 2, nEmbd: 8, nHead: 2, nCtx: 5, vocabSize: 11 };
const B = 2;
const T = 5;
const C = CONFIG.nEmbd;
const V = CONFIG.vocabSize;
const LAYOUT = parameterLayout(CONFIG);
const HEAD_LAYOUT = scalarHeadLayout(CONFIG);

const FD_STEP = 1e-5;
const MAX_RELATIVE_ERROR = 1e-6;
// Relative error |a − n| / max(|a|, |n|, FLOOR). Float64 rounding puts ~1e-11 of noise on a
// central difference of a loss of size ~1 with h = 1e-5; the floor keeps gradients that are
// exactly or almost 0 from turning that noise into a large "relative" error.
const RELATIVE_ERROR_FLOOR = 1e-4;

/** GPT-2 init plus noise, so LayerNorm weights are not all 1, biases not all 0 and logits not flat. */
function testParameters(layout: ParameterLayout, init: Float32Array, seed: number): Float64Array {
  const rng = new Rng(seed);
  const params = Float64Array.from(init);
  for (const t of layout.tensors) {
    for (let i = t.offset; i < t.offset + t.size; i++) params[i] += 0.3 * rng.normal();
  }
  return params;
}

function randomTokens(rng: Rng, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(V));
}

const rng = new Rng(2024);
const PARAMS = testParameters(LAYOUT, initParameters(CONFIG, 1), 11);
const HEAD = testParameters(HEAD_LAYOUT, new Float32Array(HEAD_LAYOUT.totalFloats), 12);
const TOKENS = randomTokens(rng, B * T);
const TARGETS = randomTokens(rng, B * T);
TARGETS[9] = -1; // padding: weight 0, so any target is allowed
const WEIGHTS = Float64Array.from([0, 0, 1, 1, 1, 0.5, 1, 2, 1, 0]); // (B,T) a masked prompt, padding
const POSITIONS = Int32Array.from([4, 2]); // (B) where the scalar head reads each sequence
const VALUE_COEFFS = Float64Array.from([0.7, -1.3]); // (B)

function headViews(head: Float64Array): { w: Float64Array; b: Float64Array } {
  const w = findTensor(HEAD_LAYOUT, 'score.weight');
  const b = findTensor(HEAD_LAYOUT, 'score.bias');
  return { w: head.subarray(w.offset, w.offset + w.size), b: head.subarray(b.offset, b.offset + b.size) };
}

/** Language-model loss of the test batch. */
function lmLoss(params: Float64Array): number {
  return crossEntropyLoss(forward(CONFIG, params, TOKENS, B, T).logits, TARGETS, WEIGHTS, V).loss;
}

/** A scalar head objective with a nonlinearity: J = Σ_b coeff_b·value_b + ½ value_b². */
function valueObjective(values: Float64Array): { objective: number; dvalues: Float64Array } {
  let objective = 0;
  const dvalues = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    objective += VALUE_COEFFS[b] * values[b] + 0.5 * values[b] ** 2;
    dvalues[b] = VALUE_COEFFS[b] + values[b];
  }
  return { objective, dvalues };
}

function headValues(params: Float64Array, head: Float64Array): Float64Array {
  const { w, b } = headViews(head);
  const values = new Float64Array(B);
  scalarHeadForward(values, forward(CONFIG, params, TOKENS, B, T).lnf, w, b, POSITIONS, B, T, C);
  return values;
}

/** Analytic gradients of the chosen objective for the trunk and the scalar head. */
function analyticGradients(useLm: boolean, useHead: boolean): { grads: Float64Array; headGrads: Float64Array } {
  const acts = forward(CONFIG, PARAMS, TOKENS, B, T);
  const headGrads = new Float64Array(HEAD_LAYOUT.totalFloats);
  const dlogits = useLm ? crossEntropyLoss(acts.logits, TARGETS, WEIGHTS, V).dlogits : undefined;
  let dlnf: Float64Array | undefined;
  if (useHead) {
    const { w, b } = headViews(HEAD);
    const values = new Float64Array(B);
    scalarHeadForward(values, acts.lnf, w, b, POSITIONS, B, T, C);
    const dw = headViews(headGrads);
    dlnf = new Float64Array(B * T * C);
    scalarHeadBackward(dlnf, dw.w, dw.b, valueObjective(values).dvalues, acts.lnf, w, POSITIONS, B, T, C);
  }
  return { grads: backward(CONFIG, PARAMS, acts, { dlogits, dlnf }), headGrads };
}

interface TensorCheck {
  tensor: string;
  checked: number;
  maxRelError: number;
  maxAbsError: number;
}

/** Central differences (f(x+h) − f(x−h)) / 2h for every entry of every tensor of a layout. */
function checkAgainstFiniteDifferences(
  layout: ParameterLayout,
  values: Float64Array,
  analytic: Float64Array,
  objective: () => number,
): TensorCheck[] {
  return layout.tensors.map((t) => {
    let maxRelError = 0;
    let maxAbsError = 0;
    for (let i = t.offset; i < t.offset + t.size; i++) {
      const original = values[i];
      values[i] = original + FD_STEP;
      const plus = objective();
      values[i] = original - FD_STEP;
      const minus = objective();
      values[i] = original;
      const numeric = (plus - minus) / (2 * FD_STEP);
      const absError = Math.abs(analytic[i] - numeric);
      maxAbsError = Math.max(maxAbsError, absError);
      maxRelError = Math.max(
        maxRelError,
        absError / Math.max(Math.abs(analytic[i]), Math.abs(numeric), RELATIVE_ERROR_FLOOR),
      );
    }
    return { tensor: t.name, checked: t.size, maxRelError, maxAbsError };
  });
}

function report(title: string, checks: TensorCheck[]): void {
  console.log(`${title}: max differences per tensor (analytic vs central differences, h=${FD_STEP})`);
  console.table(
    checks.map((c) => ({
      tensor: c.tensor,
      checked: c.checked,
      maxRelError: c.maxRelError.toExponential(2),
      maxAbsError: c.maxAbsError.toExponential(2),
    })),
  );
}

function expectPaddingZero(layout: ParameterLayout, grads: Float64Array): void {
  let end = 0;
  for (const t of layout.tensors) {
    expect(grads.subarray(end, t.offset).every((g) => g === 0)).toBe(true);
    end = t.offset + t.size;
  }
  expect(grads.subarray(end).every((g) => g === 0)).toBe(true);
}

describe('backward matches finite differences on every parameter', () => {
  it('for the weighted LM cross-entropy loss', () => {
    const { grads } = analyticGradients(true, false);
    const checks = checkAgainstFiniteDifferences(LAYOUT, PARAMS, grads, () => lmLoss(PARAMS));
    report('LM loss', checks);
    expect(checks).toHaveLength(2 + 12 * CONFIG.nLayer + 2);
    for (const c of checks) expect(c.maxRelError, c.tensor).toBeLessThan(MAX_RELATIVE_ERROR);
    expectPaddingZero(LAYOUT, grads);
  });

  it('for a scalar head objective (trunk through dlnf, and the head itself)', () => {
    const { grads, headGrads } = analyticGradients(false, true);
    const objective = () => valueObjective(headValues(PARAMS, HEAD)).objective;
    const checks = [
      ...checkAgainstFiniteDifferences(LAYOUT, PARAMS, grads, objective),
      ...checkAgainstFiniteDifferences(HEAD_LAYOUT, HEAD, headGrads, objective),
    ];
    report('scalar head', checks);
    for (const c of checks) expect(c.maxRelError, c.tensor).toBeLessThan(MAX_RELATIVE_ERROR);
    expectPaddingZero(LAYOUT, grads);
  });

  it('for both at once (dlogits and dlnf summed at the final hidden state)', () => {
    const { grads } = analyticGradients(true, true);
    const objective = () => lmLoss(PARAMS) + valueObjective(headValues(PARAMS, HEAD)).objective;
    const checks = checkAgainstFiniteDifferences(LAYOUT, PARAMS, grads, objective);
    report('LM loss + scalar head', checks);
    for (const c of checks) expect(c.maxRelError, c.tensor).toBeLessThan(MAX_RELATIVE_ERROR);
  });
});

describe('backward', () => {
  it('accumulates parameter gradients into a given buffer', () => {
    const acts = forward(CONFIG, PARAMS, TOKENS, B, T);
    const { dlogits } = crossEntropyLoss(acts.logits, TARGETS, WEIGHTS, V);
    const once = backward(CONFIG, PARAMS, acts, { dlogits });
    const twice = backward(CONFIG, PARAMS, acts, { dlogits }, backward(CONFIG, PARAMS, acts, { dlogits }));
    for (let i = 0; i < once.length; i++) expect(twice[i]).toBeCloseTo(2 * once[i], 14);
  });

  it('needs an upstream gradient', () => {
    const acts = forward(CONFIG, PARAMS, TOKENS, B, T);
    expect(() => backward(CONFIG, PARAMS, acts, {})).toThrow(/dlogits, dlnf or both/);
  });
});

describe('forward', () => {
  it('is causal: changing a token changes no logits before it', () => {
    const changed = TOKENS.slice();
    changed[3] = (changed[3] + 1) % V; // sequence 0, position 3
    const before = forward(CONFIG, PARAMS, TOKENS, B, T).logits;
    const after = forward(CONFIG, PARAMS, changed, B, T).logits;
    const row = (logits: Float64Array, b: number, t: number) => logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
    for (let t = 0; t < 3; t++) expect(row(after, 0, t)).toEqual(row(before, 0, t));
    for (let t = 3; t < T; t++) expect(row(after, 0, t)).not.toEqual(row(before, 0, t));
    for (let t = 0; t < T; t++) expect(row(after, 1, t)).toEqual(row(before, 1, t));
  });

  it('gives uniform logits, so loss log V, when the tied embedding is zero', () => {
    const params = PARAMS.slice();
    const wte = findTensor(LAYOUT, 'transformer.wte.weight');
    params.fill(0, wte.offset, wte.offset + wte.size);
    const { logits } = forward(CONFIG, params, TOKENS, B, T);
    expect(logits.every((x) => x === 0)).toBe(true);
    expect(crossEntropyLoss(logits, TARGETS, WEIGHTS, V).loss).toBeCloseTo(Math.log(V), 14);
  });

  it('rejects sequences longer than the context and tokens outside the vocabulary', () => {
    expect(() => forward(CONFIG, PARAMS, new Int32Array(6), 1, 6)).toThrow(/context length/);
    expect(() => forward(CONFIG, PARAMS, Int32Array.from([0, 1, 11, 2, 3]), 1, 5)).toThrow(/vocabulary/);
  });
});

describe('crossEntropyLoss, tokenLogprobs, tokenEntropy', () => {
  const logits = forward(CONFIG, PARAMS, TOKENS, B, T).logits;

  it('gives log V and (w/Σw)(1/V − onehot) for uniform logits', () => {
    const targets = Int32Array.from([3, 7]);
    const weights = Float64Array.from([1, 3]);
    const { loss, dlogits } = crossEntropyLoss(new Float64Array(2 * V), targets, weights, V);
    expect(loss).toBeCloseTo(Math.log(V), 14);
    expect(dlogits[0 * V + 3]).toBeCloseTo(0.25 * (1 / V - 1), 14);
    expect(dlogits[1 * V + 7]).toBeCloseTo(0.75 * (1 / V - 1), 14);
    expect(dlogits[1 * V + 0]).toBeCloseTo(0.75 / V, 14);
  });

  it('is the weighted mean of −log p(target), 0 when every weight is 0', () => {
    const logprobs = tokenLogprobs(
      logits,
      TARGETS.map((x) => Math.max(x, 0)),
      V,
    );
    let weighted = 0;
    WEIGHTS.forEach((w, i) => (weighted += w * -logprobs[i]));
    const total = WEIGHTS.reduce((s, w) => s + w, 0);
    expect(crossEntropyLoss(logits, TARGETS, WEIGHTS, V).loss).toBeCloseTo(weighted / total, 13);
    const none = crossEntropyLoss(logits, TARGETS, new Float64Array(B * T), V);
    expect(none.loss).toBe(0);
    expect(none.dlogits.every((d) => d === 0)).toBe(true);
  });

  it('gives log-probabilities that exponentiate to a distribution', () => {
    for (let bt = 0; bt < B * T; bt++) {
      let sum = 0;
      for (let v = 0; v < V; v++) {
        const row = logits.subarray(bt * V, (bt + 1) * V);
        sum += Math.exp(tokenLogprobs(row, Int32Array.from([v]), V)[0]);
      }
      expect(sum).toBeCloseTo(1, 14);
    }
    expect(() => tokenLogprobs(logits, TARGETS, V)).toThrow(/outside the vocabulary/);
  });

  it('gives entropy −Σ p log p: log V when uniform, near 0 when peaked', () => {
    const entropy = tokenEntropy(logits, V);
    for (let bt = 0; bt < B * T; bt++) {
      const row = logits.subarray(bt * V, (bt + 1) * V);
      let direct = 0;
      for (let v = 0; v < V; v++) {
        const logp = tokenLogprobs(row, Int32Array.from([v]), V)[0];
        direct -= Math.exp(logp) * logp;
      }
      expect(entropy[bt]).toBeCloseTo(direct, 13);
    }
    expect(tokenEntropy(new Float64Array(V), V)[0]).toBeCloseTo(Math.log(V), 14);
    const peaked = new Float64Array(V);
    peaked[2] = 100;
    expect(tokenEntropy(peaked, V)[0]).toBeLessThan(1e-38);
  });
});

describe('scalar head', () => {
  it('reads lnf at each sequence position: value = lnf·w + b', () => {
    const acts = forward(CONFIG, PARAMS, TOKENS, B, T);
    const { w, b } = headViews(HEAD);
    const values = headValues(PARAMS, HEAD);
    for (let s = 0; s < B; s++) {
      const x = (s * T + POSITIONS[s]) * C;
      let expected = b[0];
      for (let c = 0; c < C; c++) expected += acts.lnf[x + c] * w[c];
      expect(values[s]).toBeCloseTo(expected, 14);
    }
    expect(() => scalarHeadForward(values, acts.lnf, w, b, Int32Array.from([0, 5]), B, T, C)).toThrow(/position/);
  });
});

describe('adamwStep', () => {
  // One 2-D tensor (decays) and one 1-D tensor (does not), with padding between them.
  const layout: ParameterLayout = {
    tensors: [
      { name: 'w', shape: [1, 2], offset: 0, size: 2 },
      { name: 'b', shape: [2], offset: 64, size: 2 },
    ],
    totalFloats: 128,
  };
  const hp: AdamwHyperparams = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5, gradClip: 1 };

  it('matches two steps computed by hand (clipping, bias correction, decoupled decay)', () => {
    const params = new Float64Array(128);
    params.set([1, -2], 0);
    params.set([0.5, 0.25], 64);
    const m = new Float64Array(128);
    const v = new Float64Array(128);

    // Step 1: grads w = (3, 0), b = (0, 4): ‖g‖ = 5 > clip 1, so g is scaled by 0.2 → (0.6, 0), (0, 0.8).
    // Bias correction makes m̂ = g and v̂ = g², so the Adam update is g/(|g| + eps) ≈ ±1 or 0.
    const grads1 = new Float64Array(128);
    grads1.set([3, 0], 0);
    grads1.set([0, 4], 64);
    expect(adamwStep(layout, params, grads1, m, v, 1, hp)).toBe(5);
    expect(grads1[0]).toBe(3); // clipping does not touch the gradient buffer
    expect(m[0]).toBeCloseTo(0.06, 15); // (1 − 0.9)·0.6
    expect(v[0]).toBeCloseTo(0.0036, 15); // (1 − 0.99)·0.36
    expect(params[0]).toBeCloseTo(1 - 0.1 * (0.6 / (0.6 + 1e-8) + 0.5 * 1), 15); // 0.8500000016666667
    expect(params[1]).toBeCloseTo(-2 - 0.1 * (0 + 0.5 * -2), 15); // −1.9: decay only
    expect(params[64]).toBe(0.5); // 1-D: no decay, no gradient
    expect(params[65]).toBeCloseTo(0.25 - 0.1 * (0.8 / (0.8 + 1e-8)), 15); // 0.15000000125
    expect(params[2]).toBe(0); // padding untouched

    // Step 2: grads w = (0.1, 0), b = 0: ‖g‖ = 0.1, no clipping.
    // w0: m = 0.9·0.06 + 0.1·0.1 = 0.064, v = 0.99·0.0036 + 0.01·0.01 = 0.003664,
    //     m̂ = 0.064/0.19, v̂ = 0.003664/0.0199, w0 −= 0.1·(m̂/(√v̂ + eps) + 0.5·w0) → 0.72899900529008...
    // b1: m = 0.9·0.08 = 0.072, v = 0.99·0.0064 = 0.006336 → 0.08284198771125592
    const grads2 = new Float64Array(128);
    grads2[0] = 0.1;
    expect(adamwStep(layout, params, grads2, m, v, 2, hp)).toBeCloseTo(0.1, 15);
    expect(m[0]).toBeCloseTo(0.064, 15);
    expect(v[0]).toBeCloseTo(0.003664, 15);
    expect(params[0]).toBeCloseTo(0.7289990052900839, 14);
    expect(params[1]).toBeCloseTo(-1.805, 14);
    expect(params[64]).toBe(0.5);
    expect(params[65]).toBeCloseTo(0.08284198771125592, 14);
  });

  it('does not clip gradients under the limit and rejects step 0', () => {
    const params = new Float64Array(128);
    const m = new Float64Array(128);
    const v = new Float64Array(128);
    const grads = new Float64Array(128);
    grads[65] = 0.5;
    expect(adamwStep(layout, params, grads, m, v, 1, { ...hp, gradClip: Infinity })).toBe(0.5);
    expect(m[65]).toBeCloseTo(0.05, 15);
    expect(() => adamwStep(layout, params, grads, m, v, 0, hp)).toThrow(/step/);
  });
});

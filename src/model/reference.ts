// Float64 reference implementation of GPT-2 in plain TypeScript: forward, backward, cross-entropy,
// the scalar (reward / value) head and AdamW. It is the twin the WebGPU kernels are tested against,
// and the file to read to understand GPT-2 — like llm.c's train_gpt2.c CPU code.
//
// The model (pre-LayerNorm transformer; one block repeated L times):
//   x    = wte[tokens] + wpe[0..T)                            token + position embeddings
//   x    = x + attn(ln_1(x))                                  causal multi-head self-attention
//   x    = x + mlp(ln_2(x))                                   mlp(z) = gelu(z @ Wfc + bfc) @ Wproj + bproj
//   lnf  = ln_f(x)                                            final hidden state
//   logits = lnf @ wte^T                                      LM head tied to the token embedding
//
// Size letters, used in every shape comment:
//   B  batch size (sequences)        T  sequence length (T <= nCtx)
//   C  channels (nEmbd)              V  vocabulary size
//   NH attention heads               HS head size = C / NH
//   L  number of blocks              OC output channels of a matmul
// Tensors are flat row-major Float64Arrays: element [b,t,c] of a (B,T,C) tensor is at (b*T + t)*C + c.
// Weights use Hugging Face GPT-2's Conv1D layout (in, out): y = x @ W + b.
//
// Conventions (llm.c): layer functions come in xxxForward / xxxBackward pairs whose arguments are
// outputs first, then saved values, then inputs, then sizes. Parameter gradients accumulate (+=),
// so micro-batches can be summed into one gradient buffer; activation gradients overwrite (=).
// Model-level functions (forward, backward, crossEntropyLoss, ...) allocate and return their results.

import { findTensor, parameterLayout, type GptConfig, type ParameterLayout } from './config.ts';
import type { AdamwHyperparams } from '../engine/ops/adamw.ts';

/** LayerNorm's epsilon, as in GPT-2 (layer_norm_epsilon). */
export const LAYERNORM_EPS = 1e-5;

// ---------------------------------------------------------------------------------------------
// Parameters: named views into the flat buffer (the same struct serves parameters and gradients)

/** One transformer block's parameters (Hugging Face name in brackets). */
export interface BlockParams {
  ln1w: Float64Array; // (C)     [ln_1.weight]
  ln1b: Float64Array; // (C)     [ln_1.bias]
  qkvw: Float64Array; // (C,3C)  [attn.c_attn.weight]
  qkvb: Float64Array; // (3C)    [attn.c_attn.bias]
  attprojw: Float64Array; // (C,C)   [attn.c_proj.weight]
  attprojb: Float64Array; // (C)     [attn.c_proj.bias]
  ln2w: Float64Array; // (C)     [ln_2.weight]
  ln2b: Float64Array; // (C)     [ln_2.bias]
  fcw: Float64Array; // (C,4C)  [mlp.c_fc.weight]
  fcb: Float64Array; // (4C)    [mlp.c_fc.bias]
  fcprojw: Float64Array; // (4C,C)  [mlp.c_proj.weight]
  fcprojb: Float64Array; // (C)     [mlp.c_proj.bias]
}

/** All trunk parameters as views into one flat buffer laid out by parameterLayout. */
export interface GptParams {
  wte: Float64Array; // (V,C)    [transformer.wte.weight], also the LM head
  wpe: Float64Array; // (nCtx,C) [transformer.wpe.weight]
  blocks: BlockParams[]; // L of them [transformer.h.{i}]
  lnfw: Float64Array; // (C)      [transformer.ln_f.weight]
  lnfb: Float64Array; // (C)      [transformer.ln_f.bias]
}

/** Named views (no copies) into a flat parameter or gradient buffer. */
export function parameterViews(config: GptConfig, flat: Float64Array): GptParams {
  const layout = parameterLayout(config);
  checkLength('flat parameters', flat, layout.totalFloats);
  const view = (name: string): Float64Array => {
    const tensor = findTensor(layout, name);
    return flat.subarray(tensor.offset, tensor.offset + tensor.size);
  };
  const blocks: BlockParams[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const h = `transformer.h.${i}`;
    blocks.push({
      ln1w: view(`${h}.ln_1.weight`),
      ln1b: view(`${h}.ln_1.bias`),
      qkvw: view(`${h}.attn.c_attn.weight`),
      qkvb: view(`${h}.attn.c_attn.bias`),
      attprojw: view(`${h}.attn.c_proj.weight`),
      attprojb: view(`${h}.attn.c_proj.bias`),
      ln2w: view(`${h}.ln_2.weight`),
      ln2b: view(`${h}.ln_2.bias`),
      fcw: view(`${h}.mlp.c_fc.weight`),
      fcb: view(`${h}.mlp.c_fc.bias`),
      fcprojw: view(`${h}.mlp.c_proj.weight`),
      fcprojb: view(`${h}.mlp.c_proj.bias`),
    });
  }
  return {
    wte: view('transformer.wte.weight'),
    wpe: view('transformer.wpe.weight'),
    blocks,
    lnfw: view('transformer.ln_f.weight'),
    lnfb: view('transformer.ln_f.bias'),
  };
}

// ---------------------------------------------------------------------------------------------
// Layers

/** Embeddings: out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]. */
export function encoderForward(
  out: Float64Array, // (B,T,C)
  tokens: Int32Array, // (B,T)
  wte: Float64Array, // (V,C)
  wpe: Float64Array, // (nCtx,C)
  B: number,
  T: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const tok = tokens[b * T + t] * C;
      const pos = t * C;
      for (let c = 0; c < C; c++) out[o + c] = wte[tok + c] + wpe[pos + c];
    }
  }
}

/** Embedding backward: scatter-add each position's gradient into its token's and position's rows. */
export function encoderBackward(
  dwte: Float64Array, // (V,C)     +=
  dwpe: Float64Array, // (nCtx,C)  +=
  dout: Float64Array, // (B,T,C)
  tokens: Int32Array, // (B,T)
  B: number,
  T: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const d = (b * T + t) * C;
      const tok = tokens[b * T + t] * C;
      const pos = t * C;
      for (let c = 0; c < C; c++) {
        dwte[tok + c] += dout[d + c];
        dwpe[pos + c] += dout[d + c];
      }
    }
  }
}

/**
 * LayerNorm over the channels of each position:
 *   mean = Σc x/C,  var = Σc (x − mean)²/C (biased),  rstd = 1/sqrt(var + eps),
 *   out  = (x − mean)·rstd·weight + bias.
 * mean and rstd are saved for the backward pass.
 */
export function layernormForward(
  out: Float64Array, // (B,T,C)
  mean: Float64Array, // (B,T)
  rstd: Float64Array, // (B,T)
  inp: Float64Array, // (B,T,C)
  weight: Float64Array, // (C)
  bias: Float64Array, // (C)
  B: number,
  T: number,
  C: number,
): void {
  for (let bt = 0; bt < B * T; bt++) {
    const x = bt * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += inp[x + c];
    m /= C;
    let variance = 0;
    for (let c = 0; c < C; c++) variance += (inp[x + c] - m) ** 2;
    variance /= C;
    const s = 1 / Math.sqrt(variance + LAYERNORM_EPS);
    for (let c = 0; c < C; c++) out[x + c] = (inp[x + c] - m) * s * weight[c] + bias[c];
    mean[bt] = m;
    rstd[bt] = s;
  }
}

/**
 * LayerNorm backward. With norm = (x − mean)·rstd and dnorm = dout·weight:
 *   dbias   += dout,   dweight += dout·norm,
 *   dx = rstd·(dnorm − mean_c(dnorm) − norm·mean_c(dnorm·norm))
 * (the two means are the gradient flowing through mean and through rstd).
 */
export function layernormBackward(
  dinp: Float64Array, // (B,T,C)  =
  dweight: Float64Array, // (C)      +=
  dbias: Float64Array, // (C)      +=
  dout: Float64Array, // (B,T,C)
  inp: Float64Array, // (B,T,C)
  weight: Float64Array, // (C)
  mean: Float64Array, // (B,T)
  rstd: Float64Array, // (B,T)
  B: number,
  T: number,
  C: number,
): void {
  for (let bt = 0; bt < B * T; bt++) {
    const x = bt * C;
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const norm = (inp[x + c] - mean[bt]) * rstd[bt];
      const dnorm = dout[x + c] * weight[c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const norm = (inp[x + c] - mean[bt]) * rstd[bt];
      const dnorm = dout[x + c] * weight[c];
      dbias[c] += dout[x + c];
      dweight[c] += dout[x + c] * norm;
      dinp[x + c] = (dnorm - dnormMean - norm * dnormNormMean) * rstd[bt];
    }
  }
}

/** Affine map of every position (HF Conv1D): out[bt,:] = inp[bt,:] @ weight + bias. */
export function matmulForward(
  out: Float64Array, // (B,T,OC)
  inp: Float64Array, // (B,T,C)
  weight: Float64Array, // (C,OC)
  bias: Float64Array, // (OC)
  B: number,
  T: number,
  C: number,
  OC: number,
): void {
  for (let bt = 0; bt < B * T; bt++) {
    const y = bt * OC;
    for (let o = 0; o < OC; o++) out[y + o] = bias[o];
    for (let i = 0; i < C; i++) {
      const x = inp[bt * C + i];
      const w = i * OC;
      for (let o = 0; o < OC; o++) out[y + o] += x * weight[w + o];
    }
  }
}

/**
 * Matmul backward: dinp = dout @ weight^T,  dweight += inp^T @ dout,  dbias += Σ_bt dout.
 */
export function matmulBackward(
  dinp: Float64Array, // (B,T,C)   =
  dweight: Float64Array, // (C,OC)    +=
  dbias: Float64Array, // (OC)      +=
  dout: Float64Array, // (B,T,OC)
  inp: Float64Array, // (B,T,C)
  weight: Float64Array, // (C,OC)
  B: number,
  T: number,
  C: number,
  OC: number,
): void {
  for (let bt = 0; bt < B * T; bt++) {
    const dy = bt * OC;
    for (let o = 0; o < OC; o++) dbias[o] += dout[dy + o];
    for (let i = 0; i < C; i++) {
      const x = inp[bt * C + i];
      const w = i * OC;
      let dx = 0;
      for (let o = 0; o < OC; o++) {
        dx += dout[dy + o] * weight[w + o];
        dweight[w + o] += x * dout[dy + o];
      }
      dinp[bt * C + i] = dx;
    }
  }
}

/**
 * Causal multi-head self-attention over the packed qkv = [q | k | v] (each C wide; head h uses
 * channels h·HS..(h+1)·HS of each). For each head and query position t:
 *   preatt[t2] = q_t · k_t2 / sqrt(HS)   for t2 <= t (a query never sees later positions)
 *   att        = softmax(preatt) over t2 <= t
 *   out_t      = Σ_t2 att[t2] · v_t2      written to the head's channels of out
 * Masked entries (t2 > t) of preatt and att are 0 (not used).
 */
export function attentionForward(
  out: Float64Array, // (B,T,C)
  preatt: Float64Array, // (B,NH,T,T)
  att: Float64Array, // (B,NH,T,T)
  inp: Float64Array, // (B,T,3C) qkv
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const q = (b * T + t) * 3 * C + h * HS;
        const row = ((b * NH + h) * T + t) * T; // att[b,h,t,:]
        // scores against every visible key, and their max for a stable softmax
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const k = (b * T + t2) * 3 * C + C + h * HS;
          let dot = 0;
          for (let i = 0; i < HS; i++) dot += inp[q + i] * inp[k + i];
          preatt[row + t2] = dot * scale;
          max = Math.max(max, dot * scale);
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          att[row + t2] = Math.exp(preatt[row + t2] - max);
          sum += att[row + t2];
        }
        for (let t2 = 0; t2 <= t; t2++) att[row + t2] /= sum;
        for (let t2 = t + 1; t2 < T; t2++) {
          preatt[row + t2] = 0;
          att[row + t2] = 0;
        }
        // weighted sum of the values
        const o = (b * T + t) * C + h * HS;
        for (let i = 0; i < HS; i++) out[o + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const v = (b * T + t2) * 3 * C + 2 * C + h * HS;
          for (let i = 0; i < HS; i++) out[o + i] += att[row + t2] * inp[v + i];
        }
      }
    }
  }
}

/**
 * Attention backward, per head and query position t (the forward steps in reverse):
 *   out_t = Σ att[t2]·v_t2      →  datt[t2] = dout_t · v_t2,        dv_t2 += att[t2]·dout_t
 *   att   = softmax(preatt)     →  dpreatt[t2] = att[t2]·(datt[t2] − Σ_t3 att[t3]·datt[t3])
 *   preatt[t2] = q_t·k_t2/√HS   →  dq_t += dpreatt[t2]·k_t2/√HS,   dk_t2 += dpreatt[t2]·q_t/√HS
 * dinp is overwritten: it is zeroed first, then gathers the contributions of every (t, t2) pair.
 */
export function attentionBackward(
  dinp: Float64Array, // (B,T,3C)  =
  dout: Float64Array, // (B,T,C)
  inp: Float64Array, // (B,T,3C) qkv
  att: Float64Array, // (B,NH,T,T)
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  const HS = C / NH;
  const scale = 1 / Math.sqrt(HS);
  const datt = new Float64Array(T); // (T) one row of d att
  const dpreatt = new Float64Array(T); // (T) one row of d preatt
  dinp.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        const row = ((b * NH + h) * T + t) * T;
        const q = (b * T + t) * 3 * C + h * HS;
        const o = (b * T + t) * C + h * HS;
        let attDotDatt = 0; // Σ_t3 att[t3]·datt[t3]
        for (let t2 = 0; t2 <= t; t2++) {
          const v = (b * T + t2) * 3 * C + 2 * C + h * HS;
          let d = 0;
          for (let i = 0; i < HS; i++) {
            d += dout[o + i] * inp[v + i];
            dinp[v + i] += att[row + t2] * dout[o + i];
          }
          datt[t2] = d;
          attDotDatt += att[row + t2] * d;
        }
        for (let t2 = 0; t2 <= t; t2++) dpreatt[t2] = att[row + t2] * (datt[t2] - attDotDatt);
        for (let t2 = 0; t2 <= t; t2++) {
          const k = (b * T + t2) * 3 * C + C + h * HS;
          for (let i = 0; i < HS; i++) {
            dinp[q + i] += dpreatt[t2] * inp[k + i] * scale;
            dinp[k + i] += dpreatt[t2] * inp[q + i] * scale;
          }
        }
      }
    }
  }
}

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** GELU, tanh approximation (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))). */
export function geluForward(
  out: Float64Array, // (N)
  inp: Float64Array, // (N)
  N: number,
): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i];
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + GELU_CUBIC * x ** 3)));
  }
}

/**
 * GELU backward. With u = sqrt(2/π)·(x + 0.044715·x³):
 *   d gelu/dx = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·sqrt(2/π)·(1 + 3·0.044715·x²).
 */
export function geluBackward(
  dinp: Float64Array, // (N)  =
  inp: Float64Array, // (N)
  dout: Float64Array, // (N)
  N: number,
): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i];
    const tanhU = Math.tanh(GELU_SCALE * (x + GELU_CUBIC * x ** 3));
    const dudx = GELU_SCALE * (1 + 3 * GELU_CUBIC * x * x);
    const local = 0.5 * (1 + tanhU) + 0.5 * x * (1 - tanhU * tanhU) * dudx;
    dinp[i] = local * dout[i];
  }
}

/** Residual connection: out = inp1 + inp2. */
export function residualForward(
  out: Float64Array, // (N)
  inp1: Float64Array, // (N)
  inp2: Float64Array, // (N)
  N: number,
): void {
  for (let i = 0; i < N; i++) out[i] = inp1[i] + inp2[i];
}

/**
 * A tensor read by two consumers (the residual stream feeds both the skip connection and a
 * LayerNorm) gets the sum of the gradients from each: dinp = dout1 + dout2.
 */
export function sumGradients(
  dinp: Float64Array, // (N)  =
  dout1: Float64Array, // (N)
  dout2: Float64Array, // (N)
  N: number,
): void {
  for (let i = 0; i < N; i++) dinp[i] = dout1[i] + dout2[i];
}

/** LM head tied to the token embedding: logits[bt,v] = inp[bt,:] · wte[v,:], i.e. inp @ wte^T. */
export function lmHeadForward(
  logits: Float64Array, // (B,T,V)
  inp: Float64Array, // (B,T,C)
  wte: Float64Array, // (V,C)
  B: number,
  T: number,
  C: number,
  V: number,
): void {
  for (let bt = 0; bt < B * T; bt++) {
    for (let v = 0; v < V; v++) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += inp[bt * C + c] * wte[v * C + c];
      logits[bt * V + v] = dot;
    }
  }
}

/** LM head backward: dinp = dlogits @ wte,  dwte += dlogits^T @ inp. */
export function lmHeadBackward(
  dinp: Float64Array, // (B,T,C)  =
  dwte: Float64Array, // (V,C)    +=
  dlogits: Float64Array, // (B,T,V)
  inp: Float64Array, // (B,T,C)
  wte: Float64Array, // (V,C)
  B: number,
  T: number,
  C: number,
  V: number,
): void {
  for (let bt = 0; bt < B * T; bt++) {
    for (let c = 0; c < C; c++) dinp[bt * C + c] = 0;
    for (let v = 0; v < V; v++) {
      const d = dlogits[bt * V + v];
      for (let c = 0; c < C; c++) {
        dinp[bt * C + c] += d * wte[v * C + c];
        dwte[v * C + c] += d * inp[bt * C + c];
      }
    }
  }
}

/**
 * Scalar head (reward model, PPO value function): one number per sequence, read from the final
 * hidden state at a chosen position (e.g. the last token of the response):
 *   values[b] = lnf[b, positions[b], :] · headW + headB.
 */
export function scalarHeadForward(
  values: Float64Array, // (B)
  lnf: Float64Array, // (B,T,C)
  headW: Float64Array, // (C)  score.weight (1,C)
  headB: Float64Array, // (1)  score.bias
  positions: Int32Array, // (B)
  B: number,
  T: number,
  C: number,
): void {
  checkPositions(positions, B, T);
  for (let b = 0; b < B; b++) {
    const x = (b * T + positions[b]) * C;
    let dot = headB[0];
    for (let c = 0; c < C; c++) dot += lnf[x + c] * headW[c];
    values[b] = dot;
  }
}

/**
 * Scalar head backward: dlnf is dvalues[b]·headW at each sequence's position and 0 elsewhere
 * (pass it to backward as `dlnf`);  dheadW += Σ_b dvalues[b]·lnf[b, positions[b], :],
 * dheadB += Σ_b dvalues[b].
 */
export function scalarHeadBackward(
  dlnf: Float64Array, // (B,T,C)  =
  dheadW: Float64Array, // (C)      +=
  dheadB: Float64Array, // (1)      +=
  dvalues: Float64Array, // (B)
  lnf: Float64Array, // (B,T,C)
  headW: Float64Array, // (C)
  positions: Int32Array, // (B)
  B: number,
  T: number,
  C: number,
): void {
  checkPositions(positions, B, T);
  dlnf.fill(0);
  for (let b = 0; b < B; b++) {
    const x = (b * T + positions[b]) * C;
    for (let c = 0; c < C; c++) {
      dlnf[x + c] = dvalues[b] * headW[c];
      dheadW[c] += dvalues[b] * lnf[x + c];
    }
    dheadB[0] += dvalues[b];
  }
}

// ---------------------------------------------------------------------------------------------
// The model: forward

/** What one block saves for the backward pass (and what GPU tests compare, layer by layer). */
export interface BlockActivations {
  ln1: Float64Array; // (B,T,C)
  ln1Mean: Float64Array; // (B,T)
  ln1Rstd: Float64Array; // (B,T)
  qkv: Float64Array; // (B,T,3C)
  preatt: Float64Array; // (B,NH,T,T)
  att: Float64Array; // (B,NH,T,T)
  atty: Float64Array; // (B,T,C)  attention output before the projection
  attproj: Float64Array; // (B,T,C)
  residual2: Float64Array; // (B,T,C)  x + attention branch
  ln2: Float64Array; // (B,T,C)
  ln2Mean: Float64Array; // (B,T)
  ln2Rstd: Float64Array; // (B,T)
  fch: Float64Array; // (B,T,4C)
  fchGelu: Float64Array; // (B,T,4C)
  fcproj: Float64Array; // (B,T,C)
  residual3: Float64Array; // (B,T,C)  block output: residual2 + MLP branch
}

/** Everything forward computed: the inputs, every layer's outputs and the saved statistics. */
export interface Activations {
  B: number;
  T: number;
  tokens: Int32Array; // (B,T)
  encoded: Float64Array; // (B,T,C)  embeddings, the first block's input
  blocks: BlockActivations[]; // L of them
  lnf: Float64Array; // (B,T,C)  final hidden state (after ln_f)
  lnfMean: Float64Array; // (B,T)
  lnfRstd: Float64Array; // (B,T)
  logits: Float64Array; // (B,T,V)
}

/** GPT-2 forward pass over a batch of token sequences. */
export function forward(
  config: GptConfig,
  params: Float64Array, // flat, parameterLayout(config)
  tokens: Int32Array, // (B,T)
  B: number,
  T: number,
): Activations {
  const { nEmbd: C, nHead: NH, vocabSize: V } = config;
  checkTokens(config, tokens, B, T);
  const p = parameterViews(config, params);
  const encoded = new Float64Array(B * T * C); // (B,T,C)
  encoderForward(encoded, tokens, p.wte, p.wpe, B, T, C);
  const blocks: BlockActivations[] = [];
  let x: Float64Array = encoded; // (B,T,C) the residual stream
  for (const blockParams of p.blocks) {
    const acts = blockForward(blockParams, x, B, T, C, NH);
    blocks.push(acts);
    x = acts.residual3;
  }
  const lnf = new Float64Array(B * T * C); // (B,T,C)
  const lnfMean = new Float64Array(B * T); // (B,T)
  const lnfRstd = new Float64Array(B * T); // (B,T)
  layernormForward(lnf, lnfMean, lnfRstd, x, p.lnfw, p.lnfb, B, T, C);
  const logits = new Float64Array(B * T * V); // (B,T,V)
  lmHeadForward(logits, lnf, p.wte, B, T, C, V);
  return { B, T, tokens, encoded, blocks, lnf, lnfMean, lnfRstd, logits };
}

function blockForward(
  p: BlockParams,
  inp: Float64Array, // (B,T,C)
  B: number,
  T: number,
  C: number,
  NH: number,
): BlockActivations {
  const a = allocateBlockActivations(B, T, C, NH);
  // attention branch
  layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, inp, p.ln1w, p.ln1b, B, T, C);
  matmulForward(a.qkv, a.ln1, p.qkvw, p.qkvb, B, T, C, 3 * C);
  attentionForward(a.atty, a.preatt, a.att, a.qkv, B, T, C, NH);
  matmulForward(a.attproj, a.atty, p.attprojw, p.attprojb, B, T, C, C);
  residualForward(a.residual2, inp, a.attproj, B * T * C);
  // MLP branch
  layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.residual2, p.ln2w, p.ln2b, B, T, C);
  matmulForward(a.fch, a.ln2, p.fcw, p.fcb, B, T, C, 4 * C);
  geluForward(a.fchGelu, a.fch, B * T * 4 * C);
  matmulForward(a.fcproj, a.fchGelu, p.fcprojw, p.fcprojb, B, T, 4 * C, C);
  residualForward(a.residual3, a.residual2, a.fcproj, B * T * C);
  return a;
}

function allocateBlockActivations(B: number, T: number, C: number, NH: number): BlockActivations {
  const btc = () => new Float64Array(B * T * C);
  const bt = () => new Float64Array(B * T);
  return {
    ln1: btc(),
    ln1Mean: bt(),
    ln1Rstd: bt(),
    qkv: new Float64Array(B * T * 3 * C),
    preatt: new Float64Array(B * NH * T * T),
    att: new Float64Array(B * NH * T * T),
    atty: btc(),
    attproj: btc(),
    residual2: btc(),
    ln2: btc(),
    ln2Mean: bt(),
    ln2Rstd: bt(),
    fch: new Float64Array(B * T * 4 * C),
    fchGelu: new Float64Array(B * T * 4 * C),
    fcproj: btc(),
    residual3: btc(),
  };
}

// ---------------------------------------------------------------------------------------------
// The model: losses and per-token statistics of the logits

export interface CrossEntropyResult {
  /** Σ_bt w·(−log p(target)) / Σ_bt w; 0 when every weight is 0. */
  loss: number;
  /** (B,T,V) d loss / d logits = (w/Σw)·(softmax − onehot(target)). */
  dlogits: Float64Array;
}

/**
 * Weighted next-token cross-entropy. weights (non-negative) mask prompt tokens and padding: the loss
 * is the weighted mean over positions, Σ w·(−log p(target)) / Σ w, so it does not depend on how
 * many tokens are masked. Positions with weight 0 are skipped and their target may be anything
 * (e.g. −1 for padding). If Σ w = 0 the loss and dlogits are 0.
 */
export function crossEntropyLoss(
  logits: Float64Array, // (B,T,V)
  targets: Int32Array, // (B,T)
  weights: Float64Array, // (B,T)
  V: number,
): CrossEntropyResult {
  const BT = targets.length;
  checkLength('logits', logits, BT * V);
  checkLength('weights', weights, BT);
  const dlogits = new Float64Array(BT * V); // (B,T,V)
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  if (weightSum === 0) return { loss: 0, dlogits };
  let loss = 0;
  for (let bt = 0; bt < BT; bt++) {
    const w = weights[bt];
    if (w === 0) continue;
    const target = checkTarget(targets[bt], V);
    const lse = logSumExp(logits, bt * V, V);
    loss += w * (lse - logits[bt * V + target]); // −log softmax(logits)[target]
    const scale = w / weightSum;
    for (let v = 0; v < V; v++) dlogits[bt * V + v] = scale * Math.exp(logits[bt * V + v] - lse);
    dlogits[bt * V + target] -= scale;
  }
  return { loss: loss / weightSum, dlogits };
}

/** log p(target) at every position: logits[target] − logsumexp(logits). */
export function tokenLogprobs(
  logits: Float64Array, // (B,T,V)
  targets: Int32Array, // (B,T)
  V: number,
): Float64Array {
  const BT = targets.length;
  checkLength('logits', logits, BT * V);
  const logprobs = new Float64Array(BT); // (B,T)
  for (let bt = 0; bt < BT; bt++) {
    const target = checkTarget(targets[bt], V);
    logprobs[bt] = logits[bt * V + target] - logSumExp(logits, bt * V, V);
  }
  return logprobs;
}

/** Entropy of the next-token distribution at every position: −Σ p log p = logsumexp − Σ p·logit. */
export function tokenEntropy(
  logits: Float64Array, // (B,T,V)
  V: number,
): Float64Array {
  const BT = Math.floor(logits.length / V);
  checkLength('logits', logits, BT * V);
  const entropy = new Float64Array(BT); // (B,T)
  for (let bt = 0; bt < BT; bt++) {
    const lse = logSumExp(logits, bt * V, V);
    let expectedLogit = 0;
    for (let v = 0; v < V; v++) {
      expectedLogit += Math.exp(logits[bt * V + v] - lse) * logits[bt * V + v];
    }
    entropy[bt] = lse - expectedLogit;
  }
  return entropy;
}

/** log Σ_v exp(row[v]) for the V values starting at offset, computed without overflow. */
function logSumExp(values: Float64Array, offset: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, values[offset + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(values[offset + v] - max);
  return max + Math.log(sum);
}

// ---------------------------------------------------------------------------------------------
// The model: backward

/** Gradients arriving at the top of the trunk; give either or both. */
export interface UpstreamGradients {
  /** (B,T,V) d loss / d logits, e.g. from crossEntropyLoss. */
  dlogits?: Float64Array;
  /** (B,T,C) d loss / d lnf from a head reading the final hidden state, e.g. scalarHeadBackward. */
  dlnf?: Float64Array;
}

/**
 * GPT-2 backward pass: from d logits and/or d lnf down to every parameter. Gradients are added (+=)
 * to `grads` (flat, parameterLayout(config)), a fresh zero buffer unless one is given to accumulate
 * into. The token embedding gets two contributions, tied LM head and embedding lookup.
 */
export function backward(
  config: GptConfig,
  params: Float64Array, // flat, parameterLayout(config)
  acts: Activations,
  upstream: UpstreamGradients,
  grads: Float64Array = new Float64Array(parameterLayout(config).totalFloats),
): Float64Array {
  const { nEmbd: C, nHead: NH, vocabSize: V } = config;
  const { B, T } = acts;
  const p = parameterViews(config, params);
  const g = parameterViews(config, grads);
  const dlnf = finalHiddenGradient(g.wte, upstream, acts, p.wte, C, V); // (B,T,C)
  // ln_f; then dresidual holds d loss / d (output of the block being processed)
  let dresidual = new Float64Array(B * T * C); // (B,T,C)
  let dblockInput = new Float64Array(B * T * C); // (B,T,C)
  const lnfInput = blockInput(acts, config.nLayer); // (B,T,C) the last block's output
  layernormBackward(dresidual, g.lnfw, g.lnfb, dlnf, lnfInput, p.lnfw, acts.lnfMean, acts.lnfRstd, B, T, C);
  const scratch = allocateBackwardScratch(B, T, C);
  for (let l = config.nLayer - 1; l >= 0; l--) {
    const inp = blockInput(acts, l); // (B,T,C)
    blockBackward(dblockInput, g.blocks[l], scratch, dresidual, p.blocks[l], acts.blocks[l], inp, B, T, C, NH);
    [dresidual, dblockInput] = [dblockInput, dresidual];
  }
  encoderBackward(g.wte, g.wpe, dresidual, acts.tokens, B, T, C);
  return grads;
}

/** d loss / d lnf: the LM head's share (which also adds to dwte) plus any head's dlnf. */
function finalHiddenGradient(
  dwte: Float64Array, // (V,C)  +=
  upstream: UpstreamGradients,
  acts: Activations,
  wte: Float64Array, // (V,C)
  C: number,
  V: number,
): Float64Array {
  const { B, T } = acts;
  const { dlogits, dlnf } = upstream;
  if (dlnf !== undefined) checkLength('dlnf', dlnf, B * T * C);
  if (dlogits === undefined) {
    if (dlnf === undefined) throw new Error('backward needs dlogits, dlnf or both');
    return dlnf;
  }
  checkLength('dlogits', dlogits, B * T * V);
  const dlnfTotal = new Float64Array(B * T * C); // (B,T,C)
  lmHeadBackward(dlnfTotal, dwte, dlogits, acts.lnf, wte, B, T, C, V);
  if (dlnf !== undefined) sumGradients(dlnfTotal, dlnfTotal, dlnf, B * T * C);
  return dlnfTotal;
}

/** Activation-gradient buffers one block's backward needs, reused by every block. */
interface BackwardScratch {
  dfchGelu: Float64Array; // (B,T,4C)
  dfch: Float64Array; // (B,T,4C)
  dln: Float64Array; // (B,T,C)   d ln2, then d ln1
  dlnInput: Float64Array; // (B,T,C)   LayerNorm backward's share of its input's gradient
  dresidual2: Float64Array; // (B,T,C)
  datty: Float64Array; // (B,T,C)
  dqkv: Float64Array; // (B,T,3C)
}

function allocateBackwardScratch(B: number, T: number, C: number): BackwardScratch {
  return {
    dfchGelu: new Float64Array(B * T * 4 * C),
    dfch: new Float64Array(B * T * 4 * C),
    dln: new Float64Array(B * T * C),
    dlnInput: new Float64Array(B * T * C),
    dresidual2: new Float64Array(B * T * C),
    datty: new Float64Array(B * T * C),
    dqkv: new Float64Array(B * T * 3 * C),
  };
}

/** Block l's input: the embeddings for l = 0, else block l−1's output (l = L gives ln_f's input). */
function blockInput(acts: Activations, l: number): Float64Array {
  return l === 0 ? acts.encoded : acts.blocks[l - 1].residual3;
}

/** One block's backward, blockForward's steps in reverse. */
function blockBackward(
  dinp: Float64Array, // (B,T,C)  = d loss / d block input
  g: BlockParams, // +=
  s: BackwardScratch,
  dout: Float64Array, // (B,T,C)  d loss / d block output (residual3)
  p: BlockParams,
  a: BlockActivations,
  inp: Float64Array, // (B,T,C)  block input
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  // MLP branch: residual3 = residual2 + fcproj, so d fcproj = dout
  matmulBackward(s.dfchGelu, g.fcprojw, g.fcprojb, dout, a.fchGelu, p.fcprojw, B, T, 4 * C, C);
  geluBackward(s.dfch, a.fch, s.dfchGelu, B * T * 4 * C);
  matmulBackward(s.dln, g.fcw, g.fcb, s.dfch, a.ln2, p.fcw, B, T, C, 4 * C);
  layernormBackward(s.dlnInput, g.ln2w, g.ln2b, s.dln, a.residual2, p.ln2w, a.ln2Mean, a.ln2Rstd, B, T, C);
  sumGradients(s.dresidual2, dout, s.dlnInput, B * T * C); // residual2 feeds the skip and ln_2
  // attention branch: residual2 = inp + attproj, so d attproj = dresidual2
  matmulBackward(s.datty, g.attprojw, g.attprojb, s.dresidual2, a.atty, p.attprojw, B, T, C, C);
  attentionBackward(s.dqkv, s.datty, a.qkv, a.att, B, T, C, NH);
  matmulBackward(s.dln, g.qkvw, g.qkvb, s.dqkv, a.ln1, p.qkvw, B, T, C, 3 * C);
  layernormBackward(s.dlnInput, g.ln1w, g.ln1b, s.dln, inp, p.ln1w, a.ln1Mean, a.ln1Rstd, B, T, C);
  sumGradients(dinp, s.dresidual2, s.dlnInput, B * T * C); // inp feeds the skip and ln_1
}

// ---------------------------------------------------------------------------------------------
// Optimizer

/**
 * One AdamW step (Loshchilov & Hutter) over every tensor of `layout`, in place on params, m and v:
 *   g = grad · min(1, gradClip / ‖grad‖)          global norm clipping (grads are left unchanged)
 *   m = β1·m + (1−β1)·g,   v = β2·v + (1−β2)·g²
 *   m̂ = m / (1 − β1^step), v̂ = v / (1 − β2^step)  bias correction (step counts from 1)
 *   param −= lr · (m̂ / (sqrt(v̂) + eps) + decay · param)
 * Weight decay follows nanoGPT: tensors with 2+ dimensions decay (wte, wpe, every matmul weight,
 * score.weight); biases and LayerNorm weights (1-D) do not. Returns ‖grad‖ before clipping.
 */
export function adamwStep(
  layout: ParameterLayout,
  params: Float64Array, // flat, layout
  grads: Float64Array, // flat, layout
  m: Float64Array, // flat, layout: first moment
  v: Float64Array, // flat, layout: second moment
  step: number,
  hp: AdamwHyperparams,
): number {
  if (!Number.isInteger(step) || step < 1) throw new Error(`AdamW step counts from 1, got ${step}`);
  for (const [name, array] of Object.entries({ params, grads, m, v })) {
    checkLength(name, array, layout.totalFloats);
  }
  const gradNorm = globalNorm(layout, grads);
  const clipScale = gradNorm > hp.gradClip ? hp.gradClip / gradNorm : 1;
  const biasCorrection1 = 1 - hp.beta1 ** step;
  const biasCorrection2 = 1 - hp.beta2 ** step;
  for (const tensor of layout.tensors) {
    const decay = tensor.shape.length >= 2 ? hp.weightDecay : 0;
    for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) {
      const g = grads[i] * clipScale;
      m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * g;
      v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * g * g;
      const mHat = m[i] / biasCorrection1;
      const vHat = v[i] / biasCorrection2;
      params[i] -= hp.lr * (mHat / (Math.sqrt(vHat) + hp.eps) + decay * params[i]);
    }
  }
  return gradNorm;
}

/** L2 norm of all the layout's tensors taken together. */
function globalNorm(layout: ParameterLayout, flat: Float64Array): number {
  let sumSquares = 0;
  for (const tensor of layout.tensors) {
    for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) sumSquares += flat[i] * flat[i];
  }
  return Math.sqrt(sumSquares);
}

// ---------------------------------------------------------------------------------------------
// Input checks

function checkLength(name: string, array: ArrayLike<number>, expected: number): void {
  if (array.length !== expected) {
    throw new Error(`${name} has length ${array.length}, expected ${expected}`);
  }
}

function checkTokens(config: GptConfig, tokens: Int32Array, B: number, T: number): void {
  if (T > config.nCtx) throw new Error(`sequence length ${T} exceeds the context length ${config.nCtx}`);
  checkLength('tokens', tokens, B * T);
  for (const token of tokens) checkTarget(token, config.vocabSize);
}

function checkTarget(token: number, V: number): number {
  if (!(token >= 0 && token < V)) throw new Error(`token ${token} is outside the vocabulary [0, ${V})`);
  return token;
}

function checkPositions(positions: Int32Array, B: number, T: number): void {
  checkLength('positions', positions, B);
  for (const position of positions) {
    if (!(position >= 0 && position < T)) throw new Error(`position ${position} is outside [0, ${T})`);
  }
}

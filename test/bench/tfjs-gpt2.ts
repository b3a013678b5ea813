// The benchmark's TensorFlow.js peer: GPT-2 written the way TF.js documents it — variables, tf ops,
// automatic differentiation through `optimizer.minimize` and `tf.train.adam` — with the lab's exact
// architecture (pre-LayerNorm blocks, tanh GELU, causal attention, LM head tied to wte) so its loss
// on the same parameters and batch equals ours. Backend-agnostic: the caller registers and selects
// a backend (WebGPU in the benchmark page, CPU in the unit test).
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone has no gradients; the umbrella @tensorflow/tfjs package registers them with this import.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { parameterLayout, type GptConfig } from '../../src/model/config.ts';
import { LAYERNORM_EPS } from '../../src/model/reference.ts';

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;
/** Added to attention scores above the diagonal; exp() of it is exactly 0 in float32. */
const MASKED_SCORE = -1e9;

/** Adam settings: the lab's AdamW betas and eps (TF.js has no decoupled weight decay or clipping). */
export interface TfjsAdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** GPT-2 as TF.js variables named like Hugging Face's tensors, initialised from the lab's flat parameters. */
export class TfjsGpt2 {
  readonly variables = new Map<string, tf.Variable>();
  /** TF.js variable names are global to the engine: each model gets its own prefix. */
  private static instances = 0;
  private readonly optimizer: tf.Optimizer;
  private readonly causalMask: tf.Tensor; // (nCtx,nCtx) 0 on and below the diagonal, MASKED_SCORE above

  constructor(
    readonly config: GptConfig,
    flatParams: Float32Array, // flat, parameterLayout(config)
    adam: TfjsAdamSettings,
  ) {
    const layout = parameterLayout(config);
    if (flatParams.length !== layout.totalFloats)
      throw new Error(`expected ${layout.totalFloats} parameter floats, got ${flatParams.length}`);
    const prefix = `gpt2-${TfjsGpt2.instances++}`;
    for (const { name, shape, offset, size } of layout.tensors) {
      const initial = tf.tensor(flatParams.subarray(offset, offset + size), shape, 'float32');
      this.variables.set(name, tf.variable(initial, true, `${prefix}/${name}`));
      initial.dispose();
    }
    this.optimizer = tf.train.adam(adam.lr, adam.beta1, adam.beta2, adam.eps);
    const n = config.nCtx;
    this.causalMask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([n, n]), -1, 0)), MASKED_SCORE));
  }

  private v(name: string): tf.Variable {
    const variable = this.variables.get(name);
    if (!variable) throw new Error(`no TF.js variable ${name}`);
    return variable;
  }

  /** Logits (B·T, V) of a (B,T) int32 batch of token ids. */
  logits(tokens: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = tokens.shape;
    const { nEmbd: C, nHead: NH, nLayer: L } = this.config;
    const HS = C / NH;
    const wte = this.v('transformer.wte.weight');
    const positions = tf.tile(tf.slice(this.v('transformer.wpe.weight'), [0, 0], [T, C]), [B, 1]); // (BT,C)
    let x: tf.Tensor2D = tf.add(tf.gather(wte, tf.reshape(tokens, [B * T])), positions); // (BT,C)
    const mask = tf.slice(this.causalMask, [0, 0], [T, T]); // (T,T)
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, NH, HS]), [0, 2, 1, 3]); // (B,NH,T,HS)
    for (let l = 0; l < L; l++) {
      const w = (name: string) => this.v(`transformer.h.${l}.${name}`);
      const [q, k, value] = tf.split(
        this.linear(
          this.layerNorm(x, w('ln_1.weight'), w('ln_1.bias')),
          w('attn.c_attn.weight'),
          w('attn.c_attn.bias'),
        ),
        3,
        1,
      );
      const scores = tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(HS)), mask); // (B,NH,T,T)
      const y = tf.reshape<tf.Rank.R2>(tf.transpose(tf.matMul(tf.softmax(scores), heads(value)), [0, 2, 1, 3]), [
        B * T,
        C,
      ]); // (BT,C)
      x = tf.add(x, this.linear(y, w('attn.c_proj.weight'), w('attn.c_proj.bias')));
      const hidden = gelu(
        this.linear(this.layerNorm(x, w('ln_2.weight'), w('ln_2.bias')), w('mlp.c_fc.weight'), w('mlp.c_fc.bias')),
      ); // (BT,4C)
      x = tf.add(x, this.linear(hidden, w('mlp.c_proj.weight'), w('mlp.c_proj.bias')));
    }
    const lnf = this.layerNorm(x, this.v('transformer.ln_f.weight'), this.v('transformer.ln_f.bias'));
    return tf.matMul(lnf, wte, false, true); // (BT,V) tied LM head
  }

  /** Mean next-token cross-entropy over the batch (tokens and targets (B,T) int32). */
  loss(tokens: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    const logits = this.logits(tokens);
    const onehot = tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, this.config.vocabSize);
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  }

  /** One training step (forward, backward, Adam); returns the loss before the update when asked. */
  trainStep(tokens: tf.Tensor2D, targets: tf.Tensor2D, returnLoss: boolean): tf.Scalar | null {
    return this.optimizer.minimize(() => this.loss(tokens, targets), returnLoss, [...this.variables.values()]);
  }

  /** d loss / d every variable, by name (tf.variableGrads). */
  gradients(tokens: tf.Tensor2D, targets: tf.Tensor2D): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    const { value, grads } = tf.variableGrads(() => this.loss(tokens, targets), [...this.variables.values()]);
    const byName = Object.fromEntries([...this.variables].map(([name, variable]) => [name, grads[variable.name]]));
    return { value, grads: byName };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.causalMask.dispose();
    this.variables.forEach((variable) => variable.dispose());
  }

  private linear(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
    return tf.add(tf.matMul(x, weight), bias); // Conv1D layout: (in,out)
  }

  private layerNorm(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYERNORM_EPS))), weight), bias);
  }
}

/** GPT-2's tanh approximation of GELU ("gelu_new"). */
function gelu(x: tf.Tensor2D): tf.Tensor2D {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), GELU_CUBIC)), GELU_SCALE);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

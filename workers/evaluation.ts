// Evaluation in the worker, as the pipeline's step 6 does it: each checkpoint answers TinyWorld's
// held-out prompts and the held-out labeler judges the answers (evaluationRow: Likert, instruction
// following, truthfulness, hallucination, toxicity, win rates against SFT and base), plus the
// pretraining loss on the corpus's held-out documents (the alignment tax). Also the answer pairs a person
// judges blind in the A/B comparison. With a GPU device the answers and losses come from the GPU;
// without one (no WebGPU in this browser) from onnxruntime-web on the checkpoints' ONNX export.
import { GptModel, type Batch } from '../src/model/gpt.ts';
import { evaluationLoss } from '../src/model/lm-training.ts';
import type { OrtSampler } from '../src/model/ort-sampler.ts';
import { buildPromptSet, formatPrompt, type Prompt } from '../src/world/index.ts';
import { generateResponses, type Response } from '../src/rlhf/evaluate.ts';
import { evaluationRow, type EvaluationMetrics } from '../src/rlhf/evaluation-stage.ts';
import { heldoutPretrainingWindows } from '../src/rlhf/pretraining-text.ts';
import { SAMPLER_ROWS, type CheckpointRegistry } from './checkpoints.ts';
import { trainingShape } from './training.ts';
import { MIN_RESPONSE_ROOM } from './ppo-session.ts';

export interface EvaluationSettings {
  /** TinyWorld seed: its held-out prompts and held-out corpus documents. */
  worldSeed: number;
  /** Held-out prompts answered per model. */
  prompts: number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

export interface EvaluationRow extends EvaluationMetrics {
  name: string;
}

export interface BlindPair {
  prompt: string;
  a: string;
  b: string;
}

/** Corpus documents generated for the held-out pretraining loss (only their held-out prefix is used). */
const LOSS_DOCUMENTS = 2000;
const LOSS_BATCHES = 2;

/** Held-out prompts whose chat frame leaves room for a response (cut at the context if longer). */
function heldoutPrompts(
  registry: CheckpointRegistry,
  settings: Pick<EvaluationSettings, 'worldSeed' | 'maxNewTokens'>,
  count: number,
): Prompt[] {
  const base = registry.base();
  const room = Math.min(settings.maxNewTokens, MIN_RESPONSE_ROOM);
  const fits = (p: Prompt) => base.tokenizer.encode(formatPrompt(p.text)).length + room <= base.config.nCtx;
  const prompts = buildPromptSet(settings.worldSeed).heldout.filter(fits).slice(0, count);
  if (prompts.length === 0)
    throw new Error(`no held-out prompt leaves room for a response in the model's ${base.config.nCtx} tokens`);
  return prompts;
}

/** A checkpoint's answers, SAMPLER_ROWS prompts at a time (generateResponses: seed + index of the first). */
async function answers(
  device: GPUDevice | undefined,
  registry: CheckpointRegistry,
  name: string,
  prompts: readonly Prompt[],
  settings: EvaluationSettings,
): Promise<Response[]> {
  const generator = await registry.generator(name, device);
  const options = {
    maxNewTokens: settings.maxNewTokens,
    temperature: settings.temperature,
    topK: 0,
    topP: 1,
    seed: settings.seed,
  };
  return generateResponses(
    { B: SAMPLER_ROWS, generate: (ids, o) => generator.generate(ids, o) },
    registry.base().tokenizer,
    prompts,
    options,
  );
}

/** Mean −log p per target token over the windows, from onnxruntime-web's logits (B,T,V). */
async function ortLoss(sampler: OrtSampler, windows: readonly Batch[], B: number, T: number): Promise<number> {
  const V = sampler.model.vocabSize;
  let total = 0;
  for (const { tokens, targets } of windows) {
    const logits = await sampler.forward(tokens, B, T);
    let sum = 0;
    for (let i = 0; i < B * T; i++) sum += negativeLogProb(logits.subarray(i * V, (i + 1) * V), targets![i]); // evaluationWindows sets targets
    total += sum / (B * T);
  }
  return total / windows.length;
}

/** −log softmax(logits)[target], computed stably in float64. */
function negativeLogProb(logits: Float32Array, target: number): number {
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  return Math.log(sum) + max - logits[target];
}

/** The held-out pretraining loss of each named checkpoint: on the GPU, or with onnxruntime-web. */
async function pretrainLosses(
  device: GPUDevice | undefined,
  registry: CheckpointRegistry,
  names: readonly string[],
  windows: readonly Batch[],
): Promise<Map<string, number>> {
  const base = registry.base();
  const { B, T } = trainingShape(base.config);
  const losses = new Map<string, number>();
  if (!device) {
    for (const name of names) losses.set(name, await ortLoss(await registry.ortSampler(name), windows, B, T));
    return losses;
  }
  const evaluator = new GptModel(device, base.config, 'lm', B, T, 'evaluation');
  try {
    for (const name of names) {
      evaluator.writeParams(registry.get(name).params);
      losses.set(name, await evaluationLoss(evaluator, [...windows]));
    }
  } finally {
    evaluator.destroy();
  }
  return losses;
}

/** The held-out labeler's table for the named language-model checkpoints (no device: onnxruntime-web). */
export async function evaluateCheckpoints(
  device: GPUDevice | undefined,
  registry: CheckpointRegistry,
  names: readonly string[],
  settings: EvaluationSettings,
  onProgress?: (message: string) => void,
): Promise<EvaluationRow[]> {
  const models = names.filter((name) => !registry.get(name).scalarHead);
  if (models.length === 0)
    throw new Error('choose at least one language model to evaluate (a reward model writes no answers)');
  const base = registry.base();
  const prompts = heldoutPrompts(registry, settings, settings.prompts);
  const windows = heldoutPretrainingWindows(base.tokenizer, settings.worldSeed, LOSS_DOCUMENTS, {
    ...trainingShape(base.config),
    batches: LOSS_BATCHES,
  });
  const responses = new Map<string, Response[]>();
  const needed = [...new Set([...models, ...['sft', 'base'].filter((n) => registry.has(n))])];
  for (const name of needed) {
    onProgress?.(`${name}: answering ${prompts.length} held-out prompts`);
    responses.set(name, await answers(device, registry, name, prompts, settings));
  }
  onProgress?.('measuring the pretraining loss on held-out text');
  const losses = await pretrainLosses(device, registry, models, windows);
  const against = { sft: responses.get('sft'), base: responses.get('base') };
  return models.map((name) => ({
    name,
    ...evaluationRow(prompts, { responses: responses.get(name)!, pretrainLoss: losses.get(name)! }, against),
  }));
}

/** Answers of two checkpoints to the same held-out prompts, for a person to judge blind (no device: onnxruntime-web). */
export async function blindPairs(
  device: GPUDevice | undefined,
  registry: CheckpointRegistry,
  a: string,
  b: string,
  count: number,
  settings: EvaluationSettings,
): Promise<BlindPair[]> {
  const prompts = heldoutPrompts(registry, settings, count);
  const first = await answers(device, registry, a, prompts, settings);
  const second = await answers(device, registry, b, prompts, settings);
  return prompts.map((prompt, i) => ({ prompt: prompt.text, a: first[i].text, b: second[i].text }));
}

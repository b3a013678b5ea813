// The SFT stage as the worker, the CLI and the pipeline run it: a GPU 'lm' model of shape (B,T)
// starts from the given parameters, trainSft fine-tunes it on the demonstrations, and the trained
// parameters come back; the model is freed whatever happens. Optionally the loss on held-out
// demonstrations is measured about ten times a run and reported with the progress.
import { GptModel } from '../model/gpt.ts';
import type { GptConfig } from '../model/config.ts';
import { sequenceBatch, type Sequence } from './batches.ts';
import { trainSft, type SftOptions, type SftProgress, type SftResult } from './sft.ts';
import { fitSequences, PAD_ID, type StageHooks } from './training-loop.ts';

/** Held-out losses per SFT run, about (and one at the last step). */
const SFT_HELDOUT_EVALUATIONS = 10;

export interface SftStageSettings extends Omit<SftOptions, keyof StageHooks<SftProgress>> {
  /** Rows per batch and sequence length of the model. */
  B: number;
  T: number;
  /** Demonstrations never trained on, whose mean response loss is reported (the first B that fit). */
  heldout?: readonly Sequence[];
}

/** SFT's progress: the trainer's, with the held-out loss at some steps. */
export interface SftReport extends SftProgress {
  /** Mean loss on the held-out demonstrations' response tokens. */
  heldout_loss?: number;
}

/** Fine-tunes a copy of `start` on the demonstrations and returns the trained parameters. */
export async function runSftStage(
  device: GPUDevice,
  start: { config: GptConfig; params: Float32Array },
  demonstrations: readonly Sequence[],
  settings: SftStageSettings,
  hooks: StageHooks<SftReport> = {},
): Promise<{ params: Float32Array; result: SftResult }> {
  const { B, T, heldout: heldoutData, ...options } = settings;
  const model = new GptModel(device, start.config, 'lm', B, T, 'sft');
  try {
    model.writeParams(start.params);
    const heldout = fitSequences((heldoutData ?? []).slice(0, B), T + 1).sequences;
    const onProgress = async (p: SftProgress) => {
      const every = Math.max(1, Math.round(p.totalSteps / SFT_HELDOUT_EVALUATIONS));
      const due = heldout.length > 0 && (p.step % every === 0 || p.step === p.totalSteps);
      await hooks.onProgress?.(due ? { ...p, heldout_loss: await responseLoss(model, heldout) } : p);
    };
    const result = await trainSft(model, demonstrations, { ...options, shouldStop: hooks.shouldStop, onProgress });
    return { params: await model.readParams(), result };
  } finally {
    model.destroy();
  }
}

/** Mean −log p of the response tokens of `sequences` (one forward pass; the weights are untouched). */
async function responseLoss(model: GptModel, sequences: readonly Sequence[]): Promise<number> {
  const batch = sequenceBatch(sequences, model.B, model.T, PAD_ID);
  model.setBatch(batch);
  const { logprobs } = await model.evaluate();
  let loss = 0;
  let weight = 0;
  batch.weights.forEach((w, i) => {
    loss -= w * logprobs![i];
    weight += w;
  });
  return loss / weight;
}

// `rlhf-lab pretrain --out DIR [--preset small --seed 1 --steps N --batch B --seq T --lr X
// --vocab V --documents N --checkpoint-every N]`: trains the base model on TinyWorld's corpus with the lab's own engine.
// Deterministic from the seed; progress is printed; a checkpoint (plus optimizer state and
// train_state.json) is written every --checkpoint-every steps, and a rerun with the same --out
// resumes from it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeConfig, initParameters, PRESETS, type PresetName } from '../model/config.ts';
import { GptModel } from '../model/gpt.ts';
import { evaluationLoss, evaluationWindows, heldoutCount, pretrain, tokenStream, type PretrainProgress } from '../model/lm-training.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { trainBpe, type Tokenizer } from '../model/tokenizer.ts';
import { generateWorld } from '../world/index.ts';
import { readCheckpointDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, stringOption } from './options.ts';
import { adapterName } from './sft-command.ts';
import type { CommandContext } from './main.ts';
import { withGpu } from './with-gpu.ts';

/** Everything that determines a run; stored in train_state.json so a resume continues the same run. */
interface RunSettings {
  preset: PresetName;
  seed: number;
  steps: number;
  batch: number;
  seq: number;
  lr: number;
  vocab: number;
  documents: number;
  checkpointEvery: number;
}

interface TrainState {
  settings: RunSettings;
  step: number;
  history: PretrainProgress[];
}

const STATE_FILE = 'train_state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Corpus documents of a default run (its first heldoutCount(...) are held out). */
export const PRETRAIN_DOCUMENTS = 20000;

function settingsFrom(context: CommandContext): RunSettings {
  const preset = (stringOption(context, 'preset') ?? 'small') as PresetName;
  if (!(preset in PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
  return {
    preset,
    seed: numberOption(context, 'seed', 1, { integer: true, min: 0 }),
    steps: numberOption(context, 'steps', 3000, { integer: true, min: 1 }),
    batch: numberOption(context, 'batch', 16, { integer: true, min: 1 }),
    seq: numberOption(context, 'seq', PRESETS[preset].nCtx, { integer: true, min: 2, max: PRESETS[preset].nCtx }),
    lr: numberOption(context, 'lr', 3e-3, { min: 0 }),
    vocab: numberOption(context, 'vocab', 1024, { integer: true, min: 258 }),
    documents: numberOption(context, 'documents', PRETRAIN_DOCUMENTS, { integer: true, min: 20 }),
    checkpointEvery: numberOption(context, 'checkpoint-every', 250, { integer: true, min: 1 }),
  };
}

async function readState(out: string): Promise<TrainState | undefined> {
  const text = await readFile(join(out, STATE_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as TrainState);
}

export async function pretrainCommand(context: CommandContext): Promise<unknown> {
  const out = stringOption(context, 'out');
  if (!out) throw new Error('--out DIR is required (the checkpoint folder to write)');
  const previous = await readState(out);
  const settings = previous?.settings ?? settingsFrom(context);
  if (previous) context.log(`resuming ${out} at step ${previous.step} of ${settings.steps}`);
  const started = performance.now();

  context.log(`generating TinyWorld (seed ${settings.seed}, ${settings.documents} documents)…`);
  const world = generateWorld(settings.seed, { documents: settings.documents });
  const heldoutDocuments = heldoutCount(world.corpus.length);
  const trainDocs = world.corpus.slice(heldoutDocuments);
  const heldoutDocs = world.corpus.slice(0, heldoutDocuments);
  const tokenizer: Tokenizer = previous ? (await readCheckpointDir(out)).tokenizer : trainBpe(trainDocs, settings.vocab);
  const stream = tokenStream(tokenizer, trainDocs);
  const heldoutStream = tokenStream(tokenizer, heldoutDocs);
  context.log(`tokenizer: ${tokenizer.vocabSize} tokens; corpus ${stream.length} train tokens, ${heldoutStream.length} held-out`);

  const config = makeConfig(settings.preset, tokenizer.vocabSize);
  return withGpu(async (gpu) => {
    context.log(`device: ${adapterName(gpu)}`);
    const model = new GptModel(gpu.device, config, 'lm', settings.batch, settings.seq, 'pretrain');
    const history = previous?.history ?? [];
    if (previous) {
      model.writeParams((await readCheckpointDir(out)).params);
      const optimizer = readSafetensors(new Uint8Array(await readFile(join(out, OPTIMIZER_FILE)))).tensors;
      model.writeOptimizerState({ m: optimizer.get('m')!.data, v: optimizer.get('v')!.data, step: previous.step });
    } else {
      model.writeParams(initParameters(config, settings.seed));
    }
    const heldout = evaluationWindows(heldoutStream, settings.batch, settings.seq, 8);
    const save = async (step: number) => {
      const params = await model.readParams();
      const meta = { kind: 'base', preset: settings.preset, seed: String(settings.seed), steps: String(step) };
      await writeCheckpointDir(out, { config, params, tokenizer, meta });
      const { m, v } = await model.readOptimizerState();
      await writeFile(join(out, OPTIMIZER_FILE), writeSafetensors([{ name: 'm', shape: [m.length], data: m }, { name: 'v', shape: [v.length], data: v }]));
      await writeFile(join(out, STATE_FILE), JSON.stringify({ settings, step, history } satisfies TrainState, null, 1));
    };
    const result = await pretrain(model, {
      stream,
      heldout,
      schedule: { maxLr: settings.lr, minLr: settings.lr / 10, warmupSteps: Math.min(100, Math.ceil(settings.steps / 10)), totalSteps: settings.steps },
      seed: settings.seed,
      startStep: previous?.step ?? 0,
      logEvery: Math.min(25, settings.checkpointEvery),
      evalEvery: settings.checkpointEvery,
      checkpointEvery: settings.checkpointEvery,
      onCheckpoint: save,
      onProgress: (p) => {
        gpu.assertHealthy();
        history.push(p);
        const heldoutText = p.heldoutLoss !== undefined ? ` held-out ${p.heldoutLoss.toFixed(3)}` : '';
        context.log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}${heldoutText} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(2)} ${p.tokensPerSecond.toFixed(0)} tok/s`);
      },
    });
    const heldoutLoss = await evaluationLoss(model, heldout);
    return {
      out,
      preset: settings.preset,
      seed: settings.seed,
      steps: result.step,
      tokens: result.step * settings.batch * settings.seq,
      train_loss: result.loss,
      heldout_loss: heldoutLoss,
      vocab_size: tokenizer.vocabSize,
      seconds: (performance.now() - started) / 1000,
      adapter: adapterName(gpu),
    };
  });
}

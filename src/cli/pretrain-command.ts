// `rlhf-lab pretrain` (options and defaults: commands.ts, `rlhf-lab pretrain --help`): trains the
// base model on TinyWorld's corpus with the lab's own engine.
// Deterministic from the seed; progress is printed; a checkpoint (plus optimizer state and
// train_state.json, in the same folder written whole or not at all) is written every
// --checkpoint-every steps, and a rerun with the same --out resumes from it: options it gives must
// be the run's, except --steps (more steps: the schedule then ends later) and --checkpoint-every.
// A NaN or infinite loss stops the run at the step it appears, the last checkpoint kept.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfig, initParameters, PRESETS, type PresetName } from '../model/config.ts';
import { GptModel } from '../model/gpt.ts';
import {
  evaluationLoss,
  evaluationWindows,
  heldoutCount,
  pretrain,
  tokenStream,
  type PretrainProgress,
} from '../model/lm-training.ts';
import { readSafetensors, writeSafetensors } from '../model/safetensors.ts';
import { trainBpe } from '../model/bpe-training.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { generateWorld } from '../world/index.ts';
import { MAX_READ_BYTES, readFileBytes, readFileText } from './files.ts';
import { checkCheckpointOutput, readCheckpointDir, writeCheckpointDir } from './fs-checkpoint.ts';
import { numberOption, optionalNumberOption, optionalStringOption, stringOption } from './options.ts';
import { adapterName } from './common.ts';
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
/** train_state.json holds the settings and the logged history (a few hundred bytes a log line). */
const MAX_STATE_BYTES = 64 * 2 ** 20;
/** Each setting's command-line option. */
const OPTION_OF: Record<keyof RunSettings, string> = {
  preset: 'preset',
  seed: 'seed',
  steps: 'steps',
  batch: 'batch',
  seq: 'seq',
  lr: 'lr',
  vocab: 'vocab',
  documents: 'documents',
  checkpointEvery: 'checkpoint-every',
};
/** The settings a resume may change: they do not change the steps already taken. */
const CHANGEABLE_ON_RESUME: readonly (keyof RunSettings)[] = ['steps', 'checkpointEvery'];

function settingsFrom(context: CommandContext): RunSettings {
  const preset = stringOption(context, 'preset') as PresetName;
  if (!(preset in PRESETS))
    throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
  return {
    preset,
    seed: numberOption(context, 'seed'),
    steps: numberOption(context, 'steps'),
    batch: numberOption(context, 'batch'),
    seq: optionalNumberOption(context, 'seq', { max: PRESETS[preset].nCtx }) ?? PRESETS[preset].nCtx,
    lr: numberOption(context, 'lr'),
    vocab: numberOption(context, 'vocab'),
    documents: numberOption(context, 'documents'),
    checkpointEvery: numberOption(context, 'checkpoint-every'),
  };
}

/** The run saved in OUT (checked by checkCheckpointOutput first), or undefined for a new run; a damaged train_state.json is an error that names it. */
async function readState(out: string): Promise<TrainState | undefined> {
  const path = join(out, STATE_FILE);
  if (!existsSync(path)) {
    if (existsSync(join(out, 'model.safetensors')))
      throw new Error(
        `--out ${out} holds a checkpoint but no ${STATE_FILE}, so it is not a pretraining run to resume: choose another --out`,
      );
    return undefined;
  }
  const text = await readFileText(path, MAX_STATE_BYTES, STATE_FILE);
  try {
    return checkedState(JSON.parse(text));
  } catch (error) {
    throw new Error(
      `${path} is damaged (${(error as Error).message}): delete ${out} to start the run again, or choose another --out`,
      { cause: error },
    );
  }
}

function checkedState(json: unknown): TrainState {
  const state = json as Partial<TrainState> | null;
  if (typeof state !== 'object' || state === null || typeof state.settings !== 'object' || state.settings === null)
    throw new Error('no "settings" object');
  for (const key of Object.keys(OPTION_OF) as (keyof RunSettings)[]) {
    const value = state.settings[key];
    const valid =
      key === 'preset'
        ? typeof value === 'string' && value in PRESETS
        : typeof value === 'number' && Number.isFinite(value);
    if (!valid) throw new Error(`settings.${key} is ${JSON.stringify(value)}`);
  }
  if (!Number.isSafeInteger(state.step) || state.step! < 0 || state.step! > state.settings.steps)
    throw new Error(`"step" is ${JSON.stringify(state.step)}`);
  if (!Array.isArray(state.history)) throw new Error('no "history" list');
  return state as TrainState;
}

/**
 * The settings of a resumed run: the saved ones, with --steps and --checkpoint-every as given
 * (logged); any other option given with another value than the run's is refused, naming them all.
 */
function resumedSettings(context: CommandContext, out: string, state: TrainState): RunSettings {
  const asked = settingsFrom(context);
  const changed = (Object.keys(OPTION_OF) as (keyof RunSettings)[]).filter(
    (key) => context.values[OPTION_OF[key]] !== undefined && asked[key] !== state.settings[key],
  );
  const refused = changed.filter((key) => !CHANGEABLE_ON_RESUME.includes(key));
  if (refused.length > 0) {
    const of = (settings: RunSettings) => refused.map((key) => `--${OPTION_OF[key]} ${settings[key]}`).join(' ');
    throw new Error(
      `${out} is a run with ${of(state.settings)}; this command asks for ${of(asked)}: resume with the run's options (only --steps and --checkpoint-every may change) or choose another --out`,
    );
  }
  const settings = { ...state.settings };
  for (const key of changed) {
    context.log(
      `--${OPTION_OF[key]} ${asked[key]} replaces the run's ${state.settings[key]}${key === 'steps' ? ` (the learning-rate schedule now ends at step ${asked.steps})` : ''}`,
    );
    Object.assign(settings, { [key]: asked[key] });
  }
  if (changed.includes('steps') && settings.steps <= state.step) {
    throw new Error(
      `${out} is already at step ${state.step}; --steps ${settings.steps} asks for no more: give --steps above ${state.step}`,
    );
  }
  return settings;
}

export async function pretrainCommand(context: CommandContext): Promise<unknown> {
  const out = optionalStringOption(context, 'out');
  if (!out) throw new Error('--out DIR is required (the checkpoint folder to write)');
  await checkCheckpointOutput(out, '--out');
  const previous = await readState(out);
  const settings = previous ? resumedSettings(context, out, previous) : settingsFrom(context);
  if (previous) context.log(`resuming ${out} at step ${previous.step} of ${settings.steps}`);
  const started = performance.now();

  context.log(`generating TinyWorld (seed ${settings.seed}, ${settings.documents} documents)…`);
  const world = generateWorld(settings.seed, { documents: settings.documents });
  const heldoutDocuments = heldoutCount(world.corpus.length);
  const trainDocs = world.corpus.slice(heldoutDocuments);
  const heldoutDocs = world.corpus.slice(0, heldoutDocuments);
  const tokenizer: Tokenizer = previous
    ? (await readCheckpointDir(out)).tokenizer
    : trainBpe(trainDocs, settings.vocab);
  const stream = tokenStream(tokenizer, trainDocs);
  const heldoutStream = tokenStream(tokenizer, heldoutDocs);
  context.log(
    `tokenizer: ${tokenizer.vocabSize} tokens; corpus ${stream.length} train tokens, ${heldoutStream.length} held-out`,
  );

  const config = makeConfig(settings.preset, tokenizer.vocabSize);
  return withGpu(async (gpu) => {
    context.log(`device: ${adapterName(gpu)}`);
    const model = new GptModel(gpu.device, config, 'lm', settings.batch, settings.seq, 'pretrain');
    try {
      const history = previous?.history ?? [];
      if (previous) {
        model.writeParams((await readCheckpointDir(out)).params);
        const optimizer = readSafetensors(
          await readFileBytes(join(out, OPTIMIZER_FILE), MAX_READ_BYTES, OPTIMIZER_FILE),
        ).tensors;
        model.writeOptimizerState({ m: optimizer.get('m')!.data, v: optimizer.get('v')!.data, step: previous.step });
      } else {
        model.writeParams(initParameters(config, settings.seed));
      }
      const heldout = evaluationWindows(heldoutStream, settings.batch, settings.seq, 8);
      let savedStep = previous?.step;
      const save = async (step: number) => {
        const params = await model.readParams();
        const meta = { kind: 'base', preset: settings.preset, seed: String(settings.seed), steps: String(step) };
        const { m, v } = await model.readOptimizerState();
        await writeCheckpointDir(
          out,
          { config, params, tokenizer, meta },
          {
            [OPTIMIZER_FILE]: writeSafetensors([
              { name: 'm', shape: [m.length], data: m },
              { name: 'v', shape: [v.length], data: v },
            ]),
            [STATE_FILE]: JSON.stringify({ settings, step, history } satisfies TrainState, null, 1),
          },
        );
        savedStep = step;
      };
      const result = await pretrain(model, {
        stream,
        heldout,
        schedule: {
          maxLr: settings.lr,
          minLr: settings.lr / 10,
          warmupSteps: Math.min(100, Math.ceil(settings.steps / 10)),
          totalSteps: settings.steps,
        },
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
          context.log(
            `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}${heldoutText} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(2)} ${p.tokensPerSecond.toFixed(0)} tok/s`,
          );
        },
      }).catch((error: Error) => {
        const kept =
          savedStep === undefined ? 'no checkpoint was saved' : `${out} keeps the checkpoint of step ${savedStep}`;
        throw new Error(`${error.message} (${kept})`, { cause: error });
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
    } finally {
      model.destroy();
    }
  });
}

// The commands of `rlhf-lab` and their options, declared once: a summary, the positional words,
// each option's value, description, default and bounds, and examples. main.ts builds the parser
// and every --help from this table, and the commands read the parsed values (options.ts), so the
// help cannot drift from what a command does. Defaults that depend on the run (the model's
// context, its lineage seed, the adapter) are worked out by the command and described here.
import { PRESETS } from '../model/config.ts';
import { DEFAULT_SAMPLING } from '../model/sampler.ts';
import { TRL_DPO_BETA } from '../rlhf/dpo.ts';
import { MAX_PACK_PROMPTS } from '../rlhf/ranking-packs.ts';
import { PRETRAIN_DOCUMENTS } from './common.ts';
import { flag, integer, real, text, type OptionSpecs } from './options.ts';

export interface CommandSpec {
  /** One line, for `rlhf-lab --help` and the top of the command's help. */
  summary: string;
  /** Positional words as the usage line shows them (commander syntax: `<action> [files...]`), each with its description. */
  arguments?: readonly (readonly [string, string])[];
  options: OptionSpecs;
  /** Command lines shown under "Examples:" in the command's help. */
  examples: readonly string[];
  /** Options that an earlier version took under another name: old name → its name now. Not in the help; giving one is a usage error that names the new option. */
  renamed?: Readonly<Record<string, string>>;
}

const MODEL_NOTE = 'the shipped base model, public/models/base';

const WORLD_SEED = integer('S', 'TinyWorld seed of the prompts and demonstrations', {
  min: 0,
  defaultNote: "the seed in the model's lineage, else 1",
});

const TRAINING_SEED = integer('N', 'training seed: data order, initialisation, sampling', { default: 1, min: 0 });

/** The (B, T) shape of the training commands: batch rows and sequence length. */
const SHAPE = {
  batch: integer('B', 'sequences per batch', { default: 16, min: 1 }),
  seq: integer('T', "sequence length, at most the model's context", {
    min: 2,
    defaultNote: "128, or the model's context when shorter",
  }),
};

const OUT_CHECKPOINT = text('DIR', 'the checkpoint folder to write (required)');

/** The comparison data of rm and dpo: files, or K outputs of the model ranked by TinyWorld's labelers. */
const RANKING_DATA = {
  rankings: text('FILE', 'K-way rankings JSONL to train on', {
    defaultNote: 'K outputs of --model per TinyWorld train prompt, ranked by the training labeler',
  }),
  comparisons: text('FILE', 'TRL prompt/chosen/rejected JSONL to train on, instead of --rankings'),
  'heldout-rankings': text('FILE', 'held-out rankings JSONL to measure accuracy on', {
    defaultNote: "--model's outputs on held-out prompts, ranked by the held-out labeler",
  }),
  'heldout-comparisons': text('FILE', 'held-out TRL comparisons JSONL, instead of --heldout-rankings'),
  K: integer('K', 'outputs sampled per prompt', { default: 4, min: 2, max: 9 }),
  prompts: integer('N', 'train prompts to sample outputs for', { default: 200, min: 1 }),
  'heldout-prompts': integer('N', 'held-out prompts to sample outputs for; 0 for no held-out accuracy', {
    default: 50,
    min: 0,
  }),
  'max-tokens': integer('N', 'new tokens per sampled output', { default: 48, min: 1 }),
  temperature: real('X', 'sampling temperature', { default: 1, min: 0 }),
  'save-rankings': text('FILE', 'also write the train rankings as JSONL'),
  'world-seed': WORLD_SEED,
};

/**
 * bench's sizes by where it runs. SwiftShader runs WebGPU on the CPU (about 0.1–0.3 GFLOP/s, and
 * the development machine's 2 cores are shared), so its sizes are cut down to finish in minutes; a
 * real GPU gets the sizes issue 8 asks for (sampling batches 1 and 64, 64 new tokens); `dawn` is
 * the engine-only run in Node.
 */
export const BENCH_DEFAULTS = {
  dawn: { presets: 'micro,small', batch: 8, seq: 64, steps: 5, repeats: 3, matmul: '256,512' },
  swiftshader: {
    presets: 'small,medium',
    batch: 2,
    seq: 16,
    steps: 1,
    repeats: 3,
    sampleBatches: '1,4',
    newTokens: 8,
    matmul: '256,512,32x512x128',
  },
  gpu: {
    presets: 'small,medium',
    batch: 8,
    seq: 128,
    steps: 5,
    repeats: 5,
    sampleBatches: '1,64',
    newTokens: 64,
    matmul: '256,512,1024,2048,1024x512x128',
  },
} as const;

/** The help's note of a bench default: in Chromium on SwiftShader and on a GPU, and with `dawn` where it has one. */
function benchNote(key: keyof typeof BENCH_DEFAULTS.swiftshader): string {
  const [cpu, gpu] = [BENCH_DEFAULTS.swiftshader[key], BENCH_DEFAULTS.gpu[key]];
  const browser = cpu === gpu ? `${cpu}` : `${cpu} on SwiftShader, ${gpu} on a GPU`;
  return key in BENCH_DEFAULTS.dawn
    ? `${browser}; ${BENCH_DEFAULTS.dawn[key as keyof typeof BENCH_DEFAULTS.dawn]} with dawn`
    : browser;
}

const MODEL_PRESETS = Object.keys(PRESETS).join(', ');

export const COMMANDS = {
  gpu: {
    summary: 'print the WebGPU adapter, limits and features as JSON',
    options: { check: flag('also run the matmul self-check against the CPU') },
    examples: ['rlhf-lab gpu', 'rlhf-lab gpu --check --json', 'RLHF_LAB_WEBGPU=llvmpipe rlhf-lab gpu'],
  },
  world: {
    summary:
      'write TinyWorld as corpus.jsonl, prompts.jsonl and demonstrations.jsonl (or, with --tokens, the corpus as token ids)',
    options: {
      out: text('DIR', 'the folder to write (required)'),
      // The seed docs/tinyworld.md describes.
      seed: text('S', 'TinyWorld seed', { default: '1' }),
      documents: integer('N', 'pretraining corpus documents', { default: 20_000, min: 1 }),
      tokens: flag(
        'write the corpus as uint16 token ids for tools/pretrain.py (train.bin, heldout.bin, tokenizer.json, tokens.json)',
      ),
      model: text('DIR', 'with --tokens: the checkpoint whose tokenizer encodes the corpus', {
        defaultNote: MODEL_NOTE,
      }),
    },
    examples: ['rlhf-lab world --out /tmp/world', 'rlhf-lab world --tokens --out /tmp/tokens --documents 300000'],
  },
  tokenize: {
    summary: "token ids of a text under a model's tokenizer, and their decoding",
    options: {
      text: text('TEXT', 'the text to encode (required)'),
      model: text('DIR', 'the checkpoint whose tokenizer encodes it', { defaultNote: MODEL_NOTE }),
    },
    examples: ['rlhf-lab tokenize --text "What colour is a frog?" --json'],
  },
  score: {
    summary: 'per-token log-probs of a text under a checkpoint: {"ids", "logprobs"}',
    options: {
      text: text('TEXT', 'the text to score (required)'),
      model: text('DIR', 'the checkpoint', { defaultNote: MODEL_NOTE }),
    },
    examples: ['rlhf-lab score --text "A frog is green." --json'],
  },
  sample: {
    summary: 'sample a continuation of a prompt',
    options: {
      prompt: text('TEXT', 'the prompt (required)'),
      chat: flag('frame the prompt as "Human: …\\nAssistant:", as the RLHF stages do'),
      model: text('DIR', 'the checkpoint', { defaultNote: MODEL_NOTE }),
      temperature: real('X', 'sampling temperature', { default: DEFAULT_SAMPLING.temperature, min: 0 }),
      'top-k': integer('K', 'sample from the K likeliest tokens; 0 for all', {
        default: DEFAULT_SAMPLING.topK,
        min: 0,
      }),
      'top-p': real('P', 'nucleus sampling: the likeliest tokens up to probability P', {
        default: DEFAULT_SAMPLING.topP,
        min: 0,
        max: 1,
      }),
      seed: integer('N', 'sampling seed', { default: DEFAULT_SAMPLING.seed, min: 0 }),
      'max-tokens': integer('N', 'new tokens at most', { default: DEFAULT_SAMPLING.maxNewTokens, min: 1 }),
    },
    examples: ['rlhf-lab sample --chat --prompt "What colour is a frog?" --temperature 0.8 --top-k 40 --json'],
  },
  'export-onnx': {
    summary: 'write a checkpoint as ONNX (opset 17), input_ids → logits',
    options: {
      out: text('FILE', 'the .onnx file to write (required)'),
      model: text('DIR', 'the checkpoint', { defaultNote: MODEL_NOTE }),
      head: text('HEAD', "lm for logits, or scalar for a reward model's values", { default: 'lm' }),
      'kv-cache': flag(
        'add attention_mask, position_ids and past_key_values inputs and present.* outputs, for generation',
      ),
    },
    examples: [
      'rlhf-lab export-onnx --model /tmp/ppo --out /tmp/policy.onnx',
      'rlhf-lab export-onnx --model /tmp/rm --out /tmp/rm.onnx --head scalar',
    ],
  },
  pretrain: {
    summary: 'train the base model on the TinyWorld corpus; rerun with the same --out to resume',
    options: {
      out: OUT_CHECKPOINT,
      preset: text('NAME', `model size: ${MODEL_PRESETS}`, { default: 'small' }),
      seed: TRAINING_SEED,
      steps: integer('N', 'optimizer steps; a resumed run may ask for more', { default: 3000, min: 1 }),
      batch: SHAPE.batch,
      seq: integer('T', "sequence length, at most the preset's context", {
        min: 2,
        defaultNote: "the preset's context, n_ctx",
      }),
      lr: real('X', 'peak learning rate', { default: 3e-3, min: 0 }),
      vocab: integer('V', 'BPE vocabulary size', { default: 1024, min: 258 }),
      documents: integer('N', 'TinyWorld corpus documents, the first held out', {
        default: PRETRAIN_DOCUMENTS,
        min: 20,
      }),
      'checkpoint-every': integer('N', 'steps between checkpoints', { default: 250, min: 1 }),
    },
    examples: ['rlhf-lab pretrain --out /tmp/base --steps 500 --batch 8 --seq 64'],
  },
  sft: {
    summary: 'supervised fine-tuning on demonstrations (InstructGPT §3.5)',
    options: {
      out: OUT_CHECKPOINT,
      model: text('DIR', 'the base checkpoint to fine-tune', { defaultNote: MODEL_NOTE }),
      data: text('FILE', 'demonstrations: a TRL prompt–completion JSONL file', {
        defaultNote: "TinyWorld's starter demonstrations",
      }),
      epochs: integer('N', 'passes over the demonstrations', { default: 3, min: 1 }),
      lr: real('X', 'learning rate', { default: 1e-3, min: 0 }),
      seed: TRAINING_SEED,
      ...SHAPE,
      limit: integer('N', 'train on the first N demonstrations only', { min: 1, defaultNote: 'all' }),
      'pretrain-mix': real('X', 'weight of a pretraining-loss term on TinyWorld corpus text; 0 for none', {
        default: 0,
        min: 0,
      }),
      'world-seed': WORLD_SEED,
    },
    examples: [
      'rlhf-lab sft --out /tmp/sft --epochs 1 --json',
      'rlhf-lab sft --model /tmp/base --data demos.jsonl --out /tmp/sft',
    ],
  },
  rm: {
    summary: 'reward model (SFT trunk + scalar head) from K-way rankings (InstructGPT §3.5)',
    options: {
      model: text('SFT_DIR', 'the SFT checkpoint whose trunk the reward model starts from (required)'),
      out: OUT_CHECKPOINT,
      lr: real('X', 'learning rate', { default: 3e-4, min: 0 }),
      epochs: integer('N', 'passes over the comparisons', { default: 1, min: 1 }),
      seed: TRAINING_SEED,
      ...SHAPE,
      ...RANKING_DATA,
    },
    examples: [
      'rlhf-lab rm --model /tmp/sft --out /tmp/rm --json',
      'rlhf-lab rm --model /tmp/sft --out /tmp/rm --rankings class.jsonl --heldout-prompts 0',
    ],
  },
  ppo: {
    summary: 'PPO against a reward model with a per-token KL penalty (PPO-ptx with --ptx)',
    options: {
      policy: text('SFT_DIR', 'the SFT checkpoint PPO starts from (required)'),
      'reward-model': text('RM_DIR', 'a reward model written by rlhf-lab rm (required)'),
      out: OUT_CHECKPOINT,
      iterations: integer('N', 'PPO iterations, each on one batch of episodes', { default: 60, min: 1 }),
      'kl-coef': real('β', 'KL penalty coefficient (TRL kl_coef)', { default: 0.02, min: 0 }),
      'kl-target': real('KL', 'adapt β toward this KL: the adaptive KL controller', {
        min: 0,
        defaultNote: 'β stays fixed',
      }),
      lr: real('X', 'learning rate', { default: 3e-5, min: 0 }),
      ptx: real('γ', 'PPO-ptx: weight of the pretraining loss; 0 for plain PPO', { default: 0, min: 0 }),
      epochs: integer('N', 'PPO epochs per iteration', { default: 4, min: 1 }),
      'max-tokens': integer('N', 'new tokens per response', { default: 48, min: 1 }),
      seed: TRAINING_SEED,
      ...SHAPE,
      metrics: text('FILE', "write each iteration's metrics as JSONL"),
      'world-seed': WORLD_SEED,
    },
    examples: [
      'rlhf-lab ppo --policy /tmp/sft --reward-model /tmp/rm --out /tmp/ppo --iterations 20 --metrics /tmp/ppo.jsonl',
    ],
    renamed: { beta: 'kl-coef' },
  },
  dpo: {
    summary: 'DPO on the comparison data rm uses',
    options: {
      model: text('SFT_DIR', 'the SFT checkpoint DPO starts from and keeps as its reference (required)'),
      out: OUT_CHECKPOINT,
      beta: real('β', 'DPO temperature, above 0', { default: TRL_DPO_BETA, min: 0 }),
      lr: real('X', 'learning rate', { default: 3e-5, min: 0 }),
      epochs: integer('N', 'passes over the comparisons', { default: 2, min: 1 }),
      seed: TRAINING_SEED,
      ...SHAPE,
      ...RANKING_DATA,
    },
    examples: ['rlhf-lab dpo --model /tmp/sft --out /tmp/dpo --json'],
  },
  pack: {
    summary: "ranking packs for a class: create one from a model's outputs, merge the students' hand-ins",
    arguments: [
      [
        '<action>',
        'create (sample K outputs per TinyWorld train prompt into a pack) or merge (validate and merge hand-ins, print their agreement)',
      ],
      ['[files...]', "merge: the pack, then the students' rankings files or text codes"],
    ],
    options: {
      out: text('FILE', 'create: the pack to write (required); merge: the merged rankings JSONL'),
      model: text('DIR[,DIR…]', 'create: the checkpoint, or several whose outputs are mixed', {
        defaultNote: MODEL_NOTE,
      }),
      prompts: integer(
        'N',
        "create: TinyWorld train prompts in the pack; a link holds about 75 prompts × 4 of the base model's outputs, longer outputs fit fewer, and the command says whether the pack fits",
        { default: 10, min: 1, max: MAX_PACK_PROMPTS },
      ),
      K: integer('K', 'create: outputs per prompt', { default: 4, min: 2, max: 9 }),
      'max-tokens': integer('N', 'create: new tokens per output', { default: DEFAULT_SAMPLING.maxNewTokens, min: 1 }),
      temperature: real('X', 'create: sampling temperature', { default: DEFAULT_SAMPLING.temperature, min: 0 }),
      seed: integer('N', 'create: sampling seed', { default: DEFAULT_SAMPLING.seed, min: 0 }),
      'world-seed': WORLD_SEED,
      ...SHAPE,
      exclude: text('NAME,NAME', "merge: leave out these students' hand-ins"),
    },
    examples: [
      'rlhf-lab pack create --model /tmp/sft --prompts 12 --K 4 --out /tmp/pack.json',
      'rlhf-lab pack merge /tmp/pack.json ada.json ben.json --out /tmp/class.jsonl --json',
    ],
  },
  eval: {
    summary: "the held-out labeler's report of a checkpoint on held-out prompts",
    options: {
      model: text('DIR', 'the checkpoint', { defaultNote: MODEL_NOTE }),
      prompts: integer('N', 'held-out prompts', { default: 100, min: 1 }),
      temperature: real('X', 'sampling temperature', { default: 0.7, min: 0 }),
      seed: integer('N', 'sampling seed', { default: 1, min: 0 }),
      'world-seed': WORLD_SEED,
    },
    examples: ['rlhf-lab eval --model /tmp/ppo --prompts 100 --json'],
  },
  pipeline: {
    summary: 'base → SFT → rankings → reward model → PPO, PPO-ptx, DPO → held-out evaluation',
    options: {
      preset: text('NAME', 'pipeline preset: micro or small', { default: 'small' }),
      seed: TRAINING_SEED,
      model: text('DIR', 'the base checkpoint', { defaultNote: MODEL_NOTE }),
      'world-seed': WORLD_SEED,
      out: text('DIR', 'save each trained model and report.json there; a rerun resumes after the last finished stage'),
    },
    examples: [
      'rlhf-lab pipeline --preset micro --json',
      'RLHF_LAB_WEBGPU=llvmpipe rlhf-lab pipeline --preset small --out /tmp/small --json',
    ],
  },
  bench: {
    summary:
      'the lab vs TF.js (training), onnxruntime-web (sampling) and tf.matMul in headless Chromium; `dawn`: the engine alone in Node',
    arguments: [
      [
        '[sections...]',
        'any of train, sample, matmul (the default three), profile (per-kernel times), ppo (episodes/s by phase); or dawn',
      ],
    ],
    options: {
      presets: text('NAME,NAME', 'model presets to train, and with dawn to sample', {
        defaultNote: benchNote('presets'),
      }),
      batch: integer('B', 'batch rows', { min: 1, defaultNote: benchNote('batch') }),
      seq: integer('T', 'training sequence length', { min: 2, defaultNote: benchNote('seq') }),
      steps: integer('N', 'training steps per timed run', { min: 1, defaultNote: benchNote('steps') }),
      repeats: integer('N', 'timed runs per figure, of which the median is reported', {
        min: 1,
        defaultNote: benchNote('repeats'),
      }),
      matmul: text('N|MxNxK,…', 'matmul shapes', { defaultNote: benchNote('matmul') }),
      'sample-preset': text('NAME', 'model preset of the sampling section', { default: 'small' }),
      'sample-batches': text('B,B', 'sampling batch sizes', { defaultNote: benchNote('sampleBatches') }),
      'new-tokens': integer('N', 'new tokens per sampled sequence', { min: 1, defaultNote: benchNote('newTokens') }),
      'ppo-preset': text(
        'NAME',
        "pipeline preset whose PPO iteration the ppo section times, at the small model's size",
        { default: 'small' },
      ),
    },
    examples: [
      'rlhf-lab bench --json',
      'rlhf-lab bench train --presets small --repeats 2',
      'RLHF_LAB_WEBGPU=llvmpipe rlhf-lab bench dawn --presets micro --matmul 256,512',
    ],
  },
  'gpu-check': {
    summary: 'the figures a GPU is lent for: FMA peak, matmul share of it, peak memory per preset, bench ratios',
    options: {
      smoke: flag('tiny sizes on any adapter: checks that every part runs, says nothing of speed'),
      pipeline: flag("also time the small pipeline's wall time"),
    },
    examples: ['RLHF_LAB_WEBGPU=native rlhf-lab gpu-check --json', 'rlhf-lab gpu-check --smoke'],
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

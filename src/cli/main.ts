// The `rlhf-lab` command line: headless runs of the lab's engine through Dawn (WebGPU in Node).
// Every command accepts --json and then prints one JSON object as its last line. Text printed to
// the terminal has its control characters escaped (printable), since it may echo a file's bytes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { benchCommand, BENCH_OPTIONS } from './bench-command.ts';
import { dpoCommand } from './dpo-command.ts';
import { evalCommand } from './eval-command.ts';
import { exportOnnxCommand } from './export-onnx-command.ts';
import { GPU_CHECK_OPTIONS, gpuCheckCommand } from './gpu-check-command.ts';
import { gpuCommand } from './gpu-command.ts';
import { PACK_OPTIONS, PACK_SUMMARY, packCommand } from './pack-command.ts';
import { pipelineCommand } from './pipeline-command.ts';
import { ppoCommand } from './ppo-command.ts';
import { pretrainCommand } from './pretrain-command.ts';
import { RANKING_DATA_OPTIONS, rmCommand } from './rm-command.ts';
import { sampleCommand } from './sample-command.ts';
import { scoreCommand } from './score-command.ts';
import { sftCommand } from './sft-command.ts';
import { tokenizeCommand } from './tokenize-command.ts';
import { worldCommand } from './world-command.ts';

export interface CommandContext {
  /** Options parsed by node:util parseArgs; unknown options are rejected there. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  json: boolean;
  /** Human-readable progress and results (stderr when --json, so stdout ends with the JSON line). */
  log(message: string): void;
}

type Command = { summary: string; options: NonNullable<ParseArgsConfig['options']>; run(context: CommandContext): Promise<unknown> };

const COMMANDS: Record<string, Command> = {
  gpu: {
    summary: 'print the WebGPU adapter, limits and features as JSON (--check also runs the matmul self-check)',
    options: { check: { type: 'boolean' } },
    run: gpuCommand,
  },
  world: {
    summary: 'write TinyWorld as corpus.jsonl, prompts.jsonl and demonstrations.jsonl (--out DIR [--seed S] [--documents N]); with --tokens, the corpus as uint16 token ids for tools/pretrain.py ([--model DIR] whose tokenizer encodes them)',
    options: { out: { type: 'string' }, seed: { type: 'string' }, documents: { type: 'string' }, tokens: { type: 'boolean' }, model: { type: 'string' } },
    run: worldCommand,
  },
  tokenize: {
    summary: 'token ids of --text "..." under a model\'s tokenizer, and their decoding ([--model DIR], default public/models/base)',
    options: { model: { type: 'string' }, text: { type: 'string' } },
    run: tokenizeCommand,
  },
  score: {
    summary: 'per-token log-probs of --text "..." under a checkpoint ([--model DIR]): {"ids", "logprobs"}',
    options: { model: { type: 'string' }, text: { type: 'string' } },
    run: scoreCommand,
  },
  sample: {
    summary: 'sample a continuation of --prompt "..." [--chat --temperature --top-k --top-p --seed --max-tokens --model DIR]',
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      chat: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      'max-tokens': { type: 'string' },
    },
    run: sampleCommand,
  },
  'export-onnx': { summary: 'write a checkpoint as ONNX, input_ids → logits (--out FILE.onnx [--model DIR --head lm|scalar --kv-cache: + past_key_values → present])', options: { model: { type: 'string' }, out: { type: 'string' }, head: { type: 'string' }, 'kv-cache': { type: 'boolean' } }, run: exportOnnxCommand },
  pretrain: {
    summary: 'train the base model on the TinyWorld corpus (--out DIR [--preset --seed --steps --batch --seq --lr --vocab --documents]); resumable',
    options: {
      out: { type: 'string' },
      preset: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      seq: { type: 'string' },
      lr: { type: 'string' },
      vocab: { type: 'string' },
      documents: { type: 'string' },
      'checkpoint-every': { type: 'string' },
    },
    run: pretrainCommand,
  },
  sft: {
    summary: 'supervised fine-tuning on demonstrations (--out DIR [--model DIR --data demos.jsonl --epochs --lr --seed --batch --seq --limit --pretrain-mix --world-seed])',
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      seq: { type: 'string' },
      limit: { type: 'string' },
      'pretrain-mix': { type: 'string' },
      'world-seed': { type: 'string' },
    },
    run: sftCommand,
  },
  rm: {
    summary: 'reward model from K-way rankings (--model SFT_DIR --out DIR [--rankings|--comparisons FILE --heldout-rankings|--heldout-comparisons FILE --K --prompts --heldout-prompts --save-rankings FILE --lr --epochs --seed --batch --seq])',
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      lr: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      seq: { type: 'string' },
      ...RANKING_DATA_OPTIONS,
    },
    run: rmCommand,
  },
  ppo: {
    summary: 'PPO (PPO-ptx with --ptx γ) against a reward model (--policy SFT_DIR --reward-model RM_DIR --out DIR [--iterations --beta --kl-target --lr --ptx --epochs --max-tokens --seed --batch --seq --metrics FILE.jsonl])',
    options: {
      policy: { type: 'string' },
      'reward-model': { type: 'string' },
      out: { type: 'string' },
      iterations: { type: 'string' },
      beta: { type: 'string' },
      'kl-target': { type: 'string' },
      lr: { type: 'string' },
      ptx: { type: 'string' },
      epochs: { type: 'string' },
      'max-tokens': { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      seq: { type: 'string' },
      metrics: { type: 'string' },
      'world-seed': { type: 'string' },
    },
    run: ppoCommand,
  },
  dpo: {
    summary: 'DPO on the comparison data rm uses (--model SFT_DIR --out DIR [--rankings|--comparisons FILE --beta --lr --epochs --seed --batch --seq, rm\'s data options])',
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      beta: { type: 'string' },
      lr: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      seq: { type: 'string' },
      ...RANKING_DATA_OPTIONS,
    },
    run: dpoCommand,
  },
  pack: { summary: PACK_SUMMARY, options: PACK_OPTIONS, run: packCommand },
  eval: {
    summary: 'held-out labeler report of a checkpoint on held-out prompts [--model DIR --world-seed --prompts N --temperature --seed]',
    options: { model: { type: 'string' }, 'world-seed': { type: 'string' }, prompts: { type: 'string' }, temperature: { type: 'string' }, seed: { type: 'string' } },
    run: evalCommand,
  },
  pipeline: {
    summary: 'base → SFT → rankings → reward model → PPO, PPO-ptx, DPO → held-out evaluation [--preset micro|small --seed --model DIR --world-seed --out DIR (saves each trained model and report.json)]',
    options: { preset: { type: 'string' }, seed: { type: 'string' }, model: { type: 'string' }, 'world-seed': { type: 'string' }, out: { type: 'string' } },
    run: pipelineCommand,
  },
  bench: {
    summary: 'the lab vs TF.js WebGPU (training), onnxruntime-web on the KV-cache export (sampling) and tf.matMul in headless Chromium on one adapter, PPO episodes/s by phase [train sample matmul profile ppo | dawn] [--presets small,medium --batch --seq --steps --repeats --matmul 256,512 --sample-preset --sample-batches 1,64 --new-tokens 64 --ppo-preset small]',
    options: BENCH_OPTIONS,
    run: benchCommand,
  },
  'gpu-check': {
    summary: 'the figures a GPU is lent for: adapter, FMA peak, matmul 1024³–4096³ as a share of it, peak GPU memory per preset, bench ratios vs TF.js and onnxruntime-web [--smoke: tiny sizes, any adapter; --pipeline: + the small pipeline\'s wall time]',
    options: GPU_CHECK_OPTIONS,
    run: gpuCheckCommand,
  },
};

/** Control characters other than newline and tab (C0, DEL, C1), which a terminal would act on. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The text with each control character written as a \u escape (ESC → \u001b), safe to print; JSON stays valid JSON. */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`);
  return [
    'usage: rlhf-lab <command> [options] [--json]',
    '',
    'commands:',
    ...lines,
    '',
    'environment: RLHF_LAB_WEBGPU=swiftshader|llvmpipe|native picks the Dawn backend (default swiftshader).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(name && name !== '--help' ? `unknown command: ${name}\n\n${usage()}` : usage());
    return name && name !== '--help' ? 2 : 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, json: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    console.error(`rlhf-lab ${name}: ${printable((error as Error).message)}`);
    return 2;
  }
  const json = parsed.values.json === true;
  const context: CommandContext = {
    values: parsed.values as CommandContext['values'],
    positionals: parsed.positionals,
    json,
    log: (message) => (json ? console.error(printable(message)) : console.log(printable(message))),
  };
  try {
    const result = await command.run(context);
    console.log(printable(JSON.stringify(result, null, json ? undefined : 2)));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`rlhf-lab ${name}: ${printable(message)}`);
    if (json) console.log(printable(JSON.stringify({ error: message })));
    return 1;
  }
}

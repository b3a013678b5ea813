// `rlhf-lab export-onnx` (options and defaults: commands.ts, `rlhf-lab export-onnx --help`): writes a
// checkpoint's GPT-2 as an ONNX model (opset 17, float32; input_ids → logits, or → values for a
// reward model's scalar head) that onnxruntime and other ONNX runtimes load. No GPU is needed.
// --kv-cache adds Optimum's decoder inputs and outputs (attention_mask, position_ids,
// past_key_values.{i}.key|value → present.{i}.key|value), what transformers.js-style generation
// needs; the default stays the one-input file, which scores whole sequences and loads anywhere.
import { resolve } from 'node:path';
import {
  exportOnnx,
  ONNX_INPUT,
  ONNX_LOGITS,
  ONNX_OPSET,
  ONNX_VALUES,
  type OnnxHead,
} from '../model/onnx/gpt2-graph.ts';
import { checkOutputFile, writeFileAtomically } from './files.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { optionalStringOption, stringOption } from './options.ts';
import type { CommandContext } from './main.ts';

export interface ExportOnnxResult {
  model: string;
  out: string;
  bytes: number;
  opset: number;
  head: OnnxHead;
  kvCache: boolean;
  input: string;
  output: string;
}

export async function exportOnnxCommand(context: CommandContext): Promise<ExportOnnxResult> {
  const out = optionalStringOption(context, 'out');
  if (out === undefined) throw new Error('--out FILE.onnx is required');
  const head = parseHead(stringOption(context, 'head'));
  const path = resolve(out);
  await checkOutputFile(path, '--out');
  const modelDir = resolveModelDir(context.values.model);
  const checkpoint = await readCheckpointDir(modelDir);
  const kvCache = context.values['kv-cache'] === true;
  const bytes = exportOnnx(checkpoint, { head, kvCache });
  await writeFileAtomically(path, bytes);
  const output = head === 'lm' ? ONNX_LOGITS : ONNX_VALUES;
  const cache = kvCache ? [', attention_mask, position_ids, past_key_values.*', ', present.*'] : ['', ''];
  context.log(
    `wrote ${path} (${(bytes.length / 2 ** 20).toFixed(2)} MiB, opset ${ONNX_OPSET}): ${ONNX_INPUT}${cache[0]} → ${output}${cache[1]}`,
  );
  return {
    model: modelDir,
    out: path,
    bytes: bytes.length,
    opset: ONNX_OPSET,
    head,
    kvCache,
    input: ONNX_INPUT,
    output,
  };
}

function parseHead(value: string): OnnxHead {
  if (value === 'lm' || value === 'scalar') return value;
  throw new Error(`--head must be lm or scalar, got '${value}'`);
}

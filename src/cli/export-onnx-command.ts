// `rlhf-lab export-onnx [--model DIR] --out FILE.onnx [--head lm|scalar]`: writes a checkpoint's
// GPT-2 as an ONNX model (opset 17, float32; input_ids → logits, or → values for a reward model's
// scalar head) that onnxruntime and other ONNX runtimes load. No GPU is needed.
import { resolve } from 'node:path';
import { exportOnnx, ONNX_INPUT, ONNX_LOGITS, ONNX_OPSET, ONNX_VALUES, type OnnxHead } from '../model/onnx/gpt2-graph.ts';
import { checkOutputFile, writeFileAtomically } from './files.ts';
import { readCheckpointDir, resolveModelDir } from './fs-checkpoint.ts';
import { stringOption } from './options.ts';
import type { CommandContext } from './main.ts';

export interface ExportOnnxResult {
  model: string;
  out: string;
  bytes: number;
  opset: number;
  head: OnnxHead;
  input: string;
  output: string;
}

export async function exportOnnxCommand(context: CommandContext): Promise<ExportOnnxResult> {
  const out = stringOption(context, 'out');
  if (out === undefined) throw new Error('--out FILE.onnx is required');
  const head = parseHead(stringOption(context, 'head'));
  const path = resolve(out);
  await checkOutputFile(path, '--out');
  const modelDir = resolveModelDir(context.values.model);
  const checkpoint = await readCheckpointDir(modelDir);
  const bytes = exportOnnx(checkpoint, { head });
  await writeFileAtomically(path, bytes);
  const output = head === 'lm' ? ONNX_LOGITS : ONNX_VALUES;
  context.log(`wrote ${path} (${(bytes.length / 2 ** 20).toFixed(2)} MiB, opset ${ONNX_OPSET}): ${ONNX_INPUT} → ${output}`);
  return { model: modelDir, out: path, bytes: bytes.length, opset: ONNX_OPSET, head, input: ONNX_INPUT, output };
}

function parseHead(value: string | undefined): OnnxHead {
  if (value === undefined || value === 'lm' || value === 'scalar') return value ?? 'lm';
  throw new Error(`--head must be lm or scalar, got '${value}'`);
}

// ONNX export of the lab's GPT-2 (with or without a KV cache): the graph builder, the message
// encoder and its protobuf writer, and the CPU twin of the GPU sampling kernel used by samplers
// that run the exported model.
export {
  exportOnnx,
  gpt2OnnxModel,
  ONNX_ATTENTION_MASK,
  ONNX_BATCH_DIM,
  ONNX_INPUT,
  ONNX_IR_VERSION,
  ONNX_LOGITS,
  ONNX_OPSET,
  ONNX_PAST_SEQUENCE_DIM,
  ONNX_POSITION_IDS,
  ONNX_SEQUENCE_DIM,
  ONNX_TOTAL_SEQUENCE_DIM,
  ONNX_VALUES,
  onnxPastName,
  onnxPresentName,
  type CacheTensor,
  type OnnxExportOptions,
  type OnnxHead,
} from './gpt2-graph.ts';
export { checkSamplingParams, sampleNextToken, uniform01, type NextTokenParams } from './next-token.ts';
export { encodeModel, type OnnxModel } from './onnx-proto.ts';
export { encodeVarint, ProtoWriter } from './protobuf.ts';

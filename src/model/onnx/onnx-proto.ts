// The ONNX messages this lab writes (onnx/onnx.proto, IR version 8), as plain objects encoded with
// the protobuf writer: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw little-
// endian data), ValueInfoProto with TypeProto.Tensor and TensorShapeProto (fixed or named dims),
// OperatorSetIdProto and StringStringEntryProto. Field numbers are those of onnx.proto.
import { ProtoWriter } from './protobuf.ts';

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values used here. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export interface OnnxTensor {
  name: string;
  dataType: DataType;
  dims: readonly number[];
  /** The elements, little-endian, row-major (TensorProto.raw_data). */
  raw: Uint8Array;
}

export type OnnxAttribute =
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'string'; value: string }
  | { name: string; kind: 'ints'; value: readonly number[] };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
}

/** A dimension: a fixed size, or a name shared by inputs and outputs of the same (dynamic) size. */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  elemType: DataType;
  shape: readonly OnnxDim[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: OnnxGraph;
  /** ModelProto.metadata_props: free-form strings a runtime can show. */
  metadata?: Record<string, string>;
}

/** Serialises a model to the bytes of an .onnx file. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const proto = new ProtoWriter()
    .varint(1, model.irVersion) // ir_version
    .string(2, model.producerName) // producer_name
    .string(3, model.producerVersion); // producer_version
  if (model.docString !== undefined) proto.string(6, model.docString); // doc_string
  proto.message(7, encodeGraph(model.graph)); // graph
  proto.message(8, new ProtoWriter().string(1, '').varint(2, model.opsetVersion)); // opset_import: domain "", version
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    proto.message(14, new ProtoWriter().string(1, key).string(2, value)); // metadata_props
  }
  return proto.finish();
}

function encodeGraph(graph: OnnxGraph): ProtoWriter {
  const proto = new ProtoWriter();
  for (const node of graph.nodes) proto.message(1, encodeNode(node)); // node
  proto.string(2, graph.name); // name
  for (const tensor of graph.initializers) proto.message(5, encodeTensor(tensor)); // initializer
  for (const input of graph.inputs) proto.message(11, encodeValueInfo(input)); // input
  for (const output of graph.outputs) proto.message(12, encodeValueInfo(output)); // output
  return proto;
}

function encodeNode(node: OnnxNode): ProtoWriter {
  const proto = new ProtoWriter();
  for (const input of node.inputs) proto.string(1, input); // input
  for (const output of node.outputs) proto.string(2, output); // output
  proto.string(3, node.name).string(4, node.opType); // name, op_type
  for (const attribute of node.attributes ?? []) proto.message(5, encodeAttribute(attribute)); // attribute
  return proto;
}

function encodeAttribute(attribute: OnnxAttribute): ProtoWriter {
  const proto = new ProtoWriter().string(1, attribute.name); // name
  switch (attribute.kind) {
    case 'float':
      return proto.float(2, attribute.value).varint(20, AttributeType.FLOAT); // f, type
    case 'int':
      return proto.varint(3, attribute.value).varint(20, AttributeType.INT); // i, type
    case 'string':
      return proto.bytes(4, new TextEncoder().encode(attribute.value)).varint(20, AttributeType.STRING); // s, type
    case 'ints':
      return proto.packedVarints(8, attribute.value).varint(20, AttributeType.INTS); // ints, type
  }
}

/** A TensorProto with raw_data; throws unless the bytes hold exactly the dims' elements. */
export function encodeTensor(tensor: OnnxTensor): ProtoWriter {
  const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
  const expected = elements * elementBytes(tensor.dataType);
  if (tensor.raw.length !== expected) {
    throw new Error(
      `ONNX tensor ${tensor.name}: ${tensor.raw.length} bytes for dims [${tensor.dims.join(',')}], expected ${expected}`,
    );
  }
  return new ProtoWriter()
    .packedVarints(1, tensor.dims) // dims
    .varint(2, tensor.dataType) // data_type
    .string(8, tensor.name) // name
    .bytes(9, tensor.raw); // raw_data
}

function elementBytes(dataType: DataType): number {
  switch (dataType) {
    case DataType.FLOAT:
      return 4;
    case DataType.INT64:
      return 8;
    case DataType.BOOL:
      return 1;
  }
}

function encodeValueInfo(info: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    // TensorShapeProto.dim: dim_value (1) or dim_param (2)
    shape.message(1, typeof dim === 'number' ? new ProtoWriter().varint(1, dim) : new ProtoWriter().string(2, dim));
  }
  const tensorType = new ProtoWriter().varint(1, info.elemType).message(2, shape); // elem_type, shape
  const type = new ProtoWriter().message(1, tensorType); // TypeProto.tensor_type
  return new ProtoWriter().string(1, info.name).message(2, type); // name, type
}

/** float32 values as little-endian bytes: a view when the host is little-endian (every browser), else a copy. */
export function float32Bytes(values: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** int64 values as little-endian bytes. */
export function int64Bytes(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setBigInt64(i * 8, BigInt(value), true));
  return bytes;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

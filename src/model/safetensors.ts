// safetensors reader and writer on plain byte arrays (browser, worker and Node alike).
// Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header, then the tensor data.
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// into the data that follows the header) and may hold "__metadata__": {string: string}.
// Writing follows the reference implementation (huggingface/safetensors): compact JSON with
// "__metadata__" first, tensors sorted by name (all are F32, so dtype does not reorder them), data
// packed in that order, header padded with spaces to a multiple of 8 bytes. Reading validates the
// whole header (data must be covered exactly: no overlaps, no holes, nothing out of range), copies
// every tensor out so alignment never matters, and widens F16 and BF16 to Float32.
// Byte order: tensor data is little-endian, as is every platform that runs WebGPU.

/** A tensor to write: row-major float32 data of the given shape. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A tensor read back; `dtype` is the stored dtype, `data` is always widened to float32. */
export interface LoadedTensor {
  shape: number[];
  dtype: string;
  data: Float32Array;
}

export interface SafetensorsFile {
  /** Tensors by name, in the order their data appears in the file. */
  tensors: Map<string, LoadedTensor>;
  /** The "__metadata__" strings; empty when the file has none. */
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** Headers above this size are refused, as the reference implementation does (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of every dtype the format defines. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The dtypes read converts to float32. */
const READABLE_DTYPES = ['F32', 'F16', 'BF16'];

const utf8Encoder = new TextEncoder();
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Orders strings by code point, which is the byte order of their UTF-8 (Rust's string order). */
function compareCodePoints(a: string, b: string): number {
  const aPoints = Array.from(a, (c) => c.codePointAt(0)!);
  const bPoints = Array.from(b, (c) => c.codePointAt(0)!);
  const n = Math.min(aPoints.length, bPoints.length);
  for (let i = 0; i < n; i++) {
    if (aPoints[i] !== bPoints[i]) return aPoints[i] - bPoints[i];
  }
  return aPoints.length - bPoints.length;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}

function isDim(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

// ---------------------------------------------------------------------------------------------
// Writing

function checkTensorsToWrite(tensors: readonly NamedTensor[]): void {
  const names = new Set<string>();
  for (const { name, shape, data } of tensors) {
    if (name === METADATA_KEY) throw new Error(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (names.has(name)) throw new Error(`tensor name ${JSON.stringify(name)} is used twice`);
    names.add(name);
    if (!shape.every(isDim))
      throw new Error(`tensor ${JSON.stringify(name)} has shape [${shape}]; dims must be non-negative integers`);
    if (elementCount(shape) !== data.length) {
      throw new Error(
        `tensor ${JSON.stringify(name)} has shape [${shape}] (${elementCount(shape)} elements) but ${data.length} values`,
      );
    }
  }
}

/** The file bytes of some float32 tensors and optional string metadata. */
export function writeSafetensors(tensors: NamedTensor[], metadata?: Record<string, string>): Uint8Array {
  checkTensorsToWrite(tensors);
  const ordered = [...tensors].sort((a, b) => compareCodePoints(a.name, b.name));
  const entries: string[] = metadata === undefined ? [] : [jsonEntry(METADATA_KEY, metadataJson(metadata))];
  let offset = 0;
  for (const { name, shape, data } of ordered) {
    entries.push(
      jsonEntry(name, JSON.stringify({ dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] })),
    );
    offset += data.byteLength;
  }
  const json = utf8Encoder.encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // pad with spaces
  let position = 8 + headerLength;
  for (const { data } of ordered) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return out;
}

/** One `"key":value` of a JSON object, written by hand so keys keep their order (and "__proto__" is a key). */
function jsonEntry(key: string, valueJson: string): string {
  return `${JSON.stringify(key)}:${valueJson}`;
}

/** The metadata as JSON object text, keys in code point order. */
function metadataJson(metadata: Record<string, string>): string {
  const keys = Object.keys(metadata).sort(compareCodePoints);
  for (const key of keys) {
    if (typeof metadata[key] !== 'string') throw new Error(`metadata ${JSON.stringify(key)} must be a string`);
  }
  return `{${keys.map((key) => jsonEntry(key, JSON.stringify(metadata[key]))).join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Reading

interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses a safetensors file, validating the header against the data; tensors are copied out. */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  const { header, dataStart } = readHeader(bytes);
  const dataLength = bytes.length - dataStart;
  const metadata = parseMetadata(header[METADATA_KEY]);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, info]) => parseEntry(name, info, dataLength));
  checkCoverage(entries, dataLength);
  const tensors = new Map<string, LoadedTensor>();
  for (const entry of entries) {
    const raw = bytes.slice(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, { shape: entry.shape, dtype: entry.dtype, data: toFloat32(raw, entry.dtype) });
  }
  return { tensors, metadata };
}

function readHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8)
    throw new Error(`safetensors file too short: ${bytes.length} bytes, the 8-byte header length is missing`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES))
    throw new Error(`safetensors header length ${declared} is over the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) {
    throw new Error(
      `safetensors header length ${headerLength} goes beyond the end of the file (${bytes.length} bytes)`,
    );
  }
  let text: string;
  try {
    text = strictUtf8Decoder.decode(bytes.subarray(8, 8 + headerLength));
  } catch (error) {
    throw new Error('safetensors header is not valid UTF-8', { cause: error });
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new Error(`safetensors header is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error('safetensors header must be a JSON object');
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + headerLength };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`safetensors "${METADATA_KEY}" must be an object of strings`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string')
      throw new Error(`safetensors "${METADATA_KEY}" value of ${JSON.stringify(key)} is not a string`);
  }
  return { ...(value as Record<string, string>) };
}

function parseEntry(name: string, info: unknown, dataLength: number): TensorEntry {
  const where = `safetensors tensor ${JSON.stringify(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info))
    throw new Error(`${where}: header entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
    throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!READABLE_DTYPES.includes(dtype))
    throw new Error(`${where}: dtype ${dtype} is not supported (only ${READABLE_DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isDim))
    throw new Error(`${where}: shape must be an array of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) {
    throw new Error(`${where}: data_offsets must be two non-negative integers [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new Error(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength)
    throw new Error(`${where}: data_offsets [${begin}, ${end}] are out of range (the data has ${dataLength} bytes)`);
  const needed = elementCount(shape) * DTYPE_BYTES[dtype];
  if (needed !== end - begin) {
    throw new Error(
      `${where}: shape [${shape}] of ${dtype} needs ${needed} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** Sorts entries by offset and checks they tile the data exactly: from 0, no overlap, no hole, to the end. */
function checkCoverage(entries: TensorEntry[], dataLength: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const { name, begin, end } of entries) {
    if (begin < covered) {
      throw new Error(
        `safetensors tensors ${JSON.stringify(previous)} and ${JSON.stringify(name)} overlap (${name} begins at ${begin}, before ${covered})`,
      );
    }
    if (begin > covered)
      throw new Error(
        `safetensors data has a hole: bytes ${covered}..${begin} belong to no tensor (before ${JSON.stringify(name)})`,
      );
    covered = end;
    previous = name;
  }
  if (covered !== dataLength) {
    throw new Error(
      `safetensors data has ${dataLength - covered} trailing bytes after the last tensor (bytes ${covered}..${dataLength})`,
    );
  }
}

/** Widens little-endian F32 / F16 / BF16 bytes (a private copy) to float32 values. */
function toFloat32(raw: Uint8Array, dtype: string): Float32Array {
  if (dtype === 'F32') return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const halves = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  const out = new Float32Array(halves.length);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  } else {
    for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
  }
  return out;
}

/** IEEE 754 binary16 bits to its value: sign, 5-bit exponent (bias 15), 10-bit fraction. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// A minimal Protocol Buffers writer (the wire format of proto2/proto3), enough for ONNX: varint
// fields (int32/int64/enum, negatives as 10-byte two's complement), fixed32 floats, length-delimited
// strings, bytes, packed repeated varints and floats, and embedded messages. Embedded messages and
// large byte fields are kept as parts and concatenated once in finish(), so a model's weights are
// copied a single time.
//
// Wire format: every field is a key varint (field_number << 3 | wire_type) followed by its value.
// Wire types used here: 0 varint, 2 length-delimited, 5 fixed32.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const UINT64_MODULUS = 1n << 64n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = UINT64_MODULUS - 1n;

/** The varint bytes of an integer: 7 bits per byte, least significant first; negatives as uint64 two's complement. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = toUint64(value);
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Uint8Array.from(bytes);
}

function toUint64(value: number | bigint): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new Error(`protobuf varint: ${value} is not a safe integer`);
  const big = BigInt(value);
  if (big < INT64_MIN || big > UINT64_MAX) throw new Error(`protobuf varint: ${big} does not fit in 64 bits`);
  return big < 0n ? big + UINT64_MODULUS : big;
}

function fieldKey(field: number, wireType: number): Uint8Array {
  if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff)
    throw new Error(`protobuf: field number ${field} is out of range`);
  return encodeVarint(field * 8 + wireType);
}

/** One message under construction: fields are appended in call order. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private byteLength = 0;

  /** Encoded size so far, in bytes. */
  get length(): number {
    return this.byteLength;
  }

  /** An int32, int64, uint64, enum or bool field (wire type 0). */
  varint(field: number, value: number | bigint | boolean): this {
    const numeric = typeof value === 'boolean' ? Number(value) : value;
    return this.push(fieldKey(field, WIRE_VARINT), encodeVarint(numeric));
  }

  /** A float field (wire type 5, IEEE 754 single precision, little-endian). */
  float(field: number, value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    return this.push(fieldKey(field, WIRE_FIXED32), bytes);
  }

  /** A string field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A bytes field; the array is referenced, not copied, until finish(). */
  bytes(field: number, value: Uint8Array): this {
    return this.push(fieldKey(field, WIRE_LENGTH_DELIMITED), encodeVarint(value.length), value);
  }

  /** An embedded message field; its parts are shared, not copied, until finish(). */
  message(field: number, child: ProtoWriter): this {
    this.push(fieldKey(field, WIRE_LENGTH_DELIMITED), encodeVarint(child.byteLength));
    for (const part of child.parts) this.push(part);
    return this;
  }

  /** A repeated varint field in packed encoding (one length-delimited run); nothing when empty. */
  packedVarints(field: number, values: ReadonlyArray<number | bigint>): this {
    if (values.length === 0) return this;
    return this.bytes(field, concatBytes(values.map((value) => encodeVarint(value))));
  }

  /** A repeated float field in packed encoding; nothing when empty. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, bytes);
  }

  /** The message's bytes, in one new array. */
  finish(): Uint8Array {
    return concatBytes(this.parts, this.byteLength);
  }

  private push(...parts: Uint8Array[]): this {
    for (const part of parts) {
      this.parts.push(part);
      this.byteLength += part.length;
    }
    return this;
  }
}

function concatBytes(
  parts: readonly Uint8Array[],
  total = parts.reduce((sum, part) => sum + part.length, 0),
): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// The protobuf writer and the ONNX message encoder: varint edge cases and the byte examples of the
// protobuf encoding guide, a round trip through an independent wire-format decoder written here
// (property-based), and small hand-built ONNX models that onnxruntime-web (wasm) loads and runs,
// with their declared input and output shapes read back from the session.
import fc from 'fast-check';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import {
  DataType,
  encodeModel,
  encodeTensor,
  float32Bytes,
  int64Bytes,
  type OnnxModel,
} from '../../../src/model/onnx/onnx-proto.ts';
import { encodeVarint, ProtoWriter } from '../../../src/model/onnx/protobuf.ts';

ort.env.wasm.numThreads = 1;

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** One decoded field: varints as bigint (uint64), fixed32 as their 4 bytes, length-delimited as bytes. */
type Field =
  | { field: number; wire: 0; value: bigint }
  | { field: number; wire: 2; value: Uint8Array }
  | { field: number; wire: 5; value: Uint8Array };

function readVarint(bytes: Uint8Array, start: number): [value: bigint, next: number] {
  let value = 0n;
  let shift = 0n;
  for (let i = start; i < bytes.length; i++) {
    value |= BigInt(bytes[i] & 0x7f) << shift;
    shift += 7n;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('truncated varint');
}

/** Decodes one message's fields (not recursively); throws on anything malformed. */
function decodeFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < bytes.length) {
    const [key, afterKey] = readVarint(bytes, at);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [value, next] = readVarint(bytes, afterKey);
      fields.push({ field, wire, value });
      at = next;
    } else if (wire === 2) {
      const [length, start] = readVarint(bytes, afterKey);
      const end = start + Number(length);
      if (end > bytes.length) throw new Error('truncated bytes field');
      fields.push({ field, wire, value: bytes.subarray(start, end) });
      at = end;
    } else if (wire === 5) {
      fields.push({ field, wire, value: bytes.subarray(afterKey, afterKey + 4) });
      at = afterKey + 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return fields;
}

const only = (fields: Field[], field: number) => fields.filter((f) => f.field === field);
const text = (f: Field) => new TextDecoder().decode(f.value as Uint8Array);

describe('protobuf varints', () => {
  it("encodes the edges of 7-bit groups, 32 and 64 bits, and negatives as 10-byte two's complement", () => {
    const cases: Array<[number | bigint, string]> = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '80 01'],
      [150, '96 01'],
      [300, 'ac 02'],
      [16383, 'ff 7f'],
      [16384, '80 80 01'],
      [2 ** 31 - 1, 'ff ff ff ff 07'],
      [2 ** 32, '80 80 80 80 10'],
      [Number.MAX_SAFE_INTEGER, 'ff ff ff ff ff ff ff 0f'],
      [-1, 'ff ff ff ff ff ff ff ff ff 01'],
      [-2, 'fe ff ff ff ff ff ff ff ff 01'],
      [-(2n ** 63n), '80 80 80 80 80 80 80 80 80 01'],
      [2n ** 63n - 1n, 'ff ff ff ff ff ff ff ff 7f'],
      [2n ** 64n - 1n, 'ff ff ff ff ff ff ff ff ff 01'],
    ];
    for (const [value, bytes] of cases) expect(hex(encodeVarint(value)), String(value)).toBe(bytes);
  });

  it('rejects values that are not 64-bit integers', () => {
    expect(() => encodeVarint(0.5)).toThrow(/not a safe integer/);
    expect(() => encodeVarint(2 ** 53)).toThrow(/not a safe integer/);
    expect(() => encodeVarint(2n ** 64n)).toThrow(/64 bits/);
    expect(() => encodeVarint(-(2n ** 63n) - 1n)).toThrow(/64 bits/);
    expect(() => new ProtoWriter().varint(0, 1)).toThrow(/field number 0/);
  });

  it('round-trips any int64 through the decoder (as uint64)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        const [decoded, end] = readVarint(encodeVarint(value), 0);
        expect(BigInt.asIntN(64, decoded)).toBe(value);
        expect(end).toBe(encodeVarint(value).length);
      }),
    );
  });
});

describe('ProtoWriter', () => {
  it("writes the protobuf encoding guide's examples byte for byte", () => {
    expect(hex(new ProtoWriter().varint(1, 150).finish())).toBe('08 96 01');
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('12 07 74 65 73 74 69 6e 67');
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)).finish())).toBe('1a 03 08 96 01');
    expect(hex(new ProtoWriter().packedVarints(4, [3, 270, 86942]).finish())).toBe('22 06 03 8e 02 9e a7 05');
    expect(hex(new ProtoWriter().float(1, 1).finish())).toBe('0d 00 00 80 3f');
    expect(hex(new ProtoWriter().varint(2, true).finish())).toBe('10 01');
    expect(new ProtoWriter().packedVarints(4, []).length).toBe(0);
  });

  it('round-trips nested messages of random fields through an independent decoder', () => {
    const fieldNumber = fc.integer({ min: 1, max: 2 ** 29 - 1 });
    const scalar = fc.oneof(
      fc.record({
        kind: fc.constant('varint' as const),
        field: fieldNumber,
        value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      }),
      fc.record({ kind: fc.constant('string' as const), field: fieldNumber, value: fc.string() }),
      fc.record({ kind: fc.constant('float' as const), field: fieldNumber, value: fc.float({ noNaN: true }) }),
      fc.record({
        kind: fc.constant('packed' as const),
        field: fieldNumber,
        value: fc.array(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), { minLength: 1, maxLength: 8 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(scalar, { maxLength: 12 }),
        fc.array(scalar, { maxLength: 6 }),
        fieldNumber,
        (outer, inner, childField) => {
          const write = (writer: ProtoWriter, items: typeof outer) => {
            for (const item of items) {
              if (item.kind === 'varint') writer.varint(item.field, item.value);
              else if (item.kind === 'string') writer.string(item.field, item.value);
              else if (item.kind === 'float') writer.float(item.field, item.value);
              else writer.packedVarints(item.field, item.value);
            }
            return writer;
          };
          const child = write(new ProtoWriter(), inner);
          const bytes = write(new ProtoWriter(), outer).message(childField, child).finish();
          const check = (fields: Field[], items: typeof outer) => {
            expect(fields.map((f) => f.field)).toEqual(items.map((i) => i.field));
            items.forEach((item, i) => {
              const f = fields[i];
              if (item.kind === 'varint') expect(f.value).toBe(BigInt.asUintN(64, item.value));
              else if (item.kind === 'string') expect(text(f)).toBe(item.value);
              else if (item.kind === 'float')
                expect(new DataView((f.value as Uint8Array).slice().buffer).getFloat32(0, true)).toBe(
                  Math.fround(item.value),
                );
              else expect(decodePacked(f.value as Uint8Array)).toEqual(item.value);
            });
          };
          const fields = decodeFields(bytes);
          expect(bytes.length).toBe(write(new ProtoWriter(), outer).message(childField, child).length);
          check(fields.slice(0, -1), outer);
          expect(fields.at(-1)!.field).toBe(childField);
          check(decodeFields(fields.at(-1)!.value as Uint8Array), inner);
        },
      ),
      { numRuns: 200 },
    );
  });
});

function decodePacked(bytes: Uint8Array): number[] {
  const values: number[] = [];
  for (let at = 0; at < bytes.length;) {
    const [value, next] = readVarint(bytes, at);
    values.push(Number(BigInt.asIntN(64, value)));
    at = next;
  }
  return values;
}

/** y = x + bias, x (batch, 3) float32, with its dynamic batch dimension named. */
function addBiasModel(bias: number[]): OnnxModel {
  return {
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'test',
    producerVersion: '0',
    graph: {
      name: 'add_bias',
      nodes: [{ opType: 'Add', name: 'add', inputs: ['x', 'bias'], outputs: ['y'] }],
      initializers: [{ name: 'bias', dataType: DataType.FLOAT, dims: [3], raw: float32Bytes(Float32Array.from(bias)) }],
      inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['batch', 3] }],
      outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['batch', 3] }],
    },
    metadata: { note: 'hello' },
  };
}

describe('ONNX messages', () => {
  it('encode a model whose ModelProto fields decode as written', () => {
    const fields = decodeFields(encodeModel(addBiasModel([1, 2, 3])));
    expect(only(fields, 1)[0].value).toBe(8n); // ir_version
    expect(text(only(fields, 2)[0])).toBe('test'); // producer_name
    const opset = decodeFields(only(fields, 8)[0].value as Uint8Array);
    expect(text(only(opset, 1)[0])).toBe(''); // the default domain
    expect(only(opset, 2)[0].value).toBe(17n);
    const graph = decodeFields(only(fields, 7)[0].value as Uint8Array);
    const initializer = decodeFields(only(graph, 5)[0].value as Uint8Array);
    expect(decodePacked(only(initializer, 1)[0].value as Uint8Array)).toEqual([3]); // dims
    expect(only(initializer, 2)[0].value).toBe(1n); // FLOAT
    expect(Array.from(new Float32Array((only(initializer, 9)[0].value as Uint8Array).slice().buffer))).toEqual([
      1, 2, 3,
    ]);
    const metadata = decodeFields(only(fields, 14)[0].value as Uint8Array);
    expect([text(metadata[0]), text(metadata[1])]).toEqual(['note', 'hello']);
  });

  it('rejects a tensor whose bytes do not match its dims', () => {
    expect(() => encodeTensor({ name: 'w', dataType: DataType.FLOAT, dims: [2, 3], raw: new Uint8Array(20) })).toThrow(
      'ONNX tensor w: 20 bytes for dims [2,3], expected 24',
    );
    expect(() =>
      encodeTensor({ name: 'i', dataType: DataType.INT64, dims: [2], raw: int64Bytes([1, -1]) }),
    ).not.toThrow();
  });

  it('give models that onnxruntime-web loads and runs, with the declared names and shapes', async () => {
    const session = await ort.InferenceSession.create(encodeModel(addBiasModel([0.5, -1, 2])), {
      executionProviders: ['wasm'],
    });
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    expect(session.inputMetadata[0]).toMatchObject({ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 3] });
    expect(session.outputMetadata[0]).toMatchObject({
      name: 'y',
      isTensor: true,
      type: 'float32',
      shape: ['batch', 3],
    });
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 1, 2, 2, 2]), [2, 3]) });
    expect(y.dims).toEqual([2, 3]);
    expect(Array.from(y.data as Float32Array)).toEqual([1.5, 0, 3, 2.5, 1, 4]);
    await session.release();
  });

  it('carry negative int64 attributes and initializers (axis −1, shape 0 and −1) through onnxruntime', async () => {
    // y = Softmax(Reshape(x, [0, -1]), axis = -1): x (batch, 2, 2) → (batch, 4)
    const model: OnnxModel = {
      irVersion: 8,
      opsetVersion: 17,
      producerName: 'test',
      producerVersion: '0',
      graph: {
        name: 'softmax_rows',
        nodes: [
          { opType: 'Reshape', name: 'flat', inputs: ['x', 'shape'], outputs: ['flat'] },
          {
            opType: 'Softmax',
            name: 'y',
            inputs: ['flat'],
            outputs: ['y'],
            attributes: [{ name: 'axis', kind: 'int', value: -1 }],
          },
        ],
        initializers: [{ name: 'shape', dataType: DataType.INT64, dims: [2], raw: int64Bytes([0, -1]) }],
        inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: ['batch', 2, 2] }],
        outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: ['batch', 4] }],
      },
    };
    const session = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['wasm'] });
    const { y } = await session.run({
      x: new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0, 0, Math.log(3), 0, 0]), [2, 2, 2]),
    });
    expect(y.dims).toEqual([2, 4]);
    const values = Array.from(y.data as Float32Array);
    expect(values.slice(0, 4).map((v) => v.toFixed(6))).toEqual(Array(4).fill('0.250000'));
    expect(values.slice(4).map((v) => v.toFixed(6))).toEqual(['0.166667', '0.500000', '0.166667', '0.166667']);
    await session.release();
  });
});

// Tests for the safetensors reader/writer: byte-exact agreement with the reference layout on
// hand-made buffers, exact round-trips (every float32 bit pattern, random shapes and names), F16 and
// BF16 widening, and one clear error for each kind of corrupt file.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../../../src/model/safetensors.ts';

/** A file by hand: u64 little-endian header length, the header text padded with spaces, the data. */
function handMade(header: string, data: Uint8Array = new Uint8Array(0), padTo8 = true): Uint8Array {
  const json = new TextEncoder().encode(header);
  const length = padTo8 ? Math.ceil(json.length / 8) * 8 : json.length;
  const out = new Uint8Array(8 + length + data.length).fill(0x20, 8, 8 + length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(json, 8);
  out.set(data, 8 + length);
  return out;
}

function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function bits(data: Float32Array): Uint32Array {
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

describe('writeSafetensors / readSafetensors layout', () => {
  it('writes the reference layout byte for byte (single F32 tensor)', () => {
    // The 64-byte header needs no padding; the data follows at byte 72.
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    const expected = handMade(header, float32Bytes([0, 1, 2, 3, 4, 5]));
    expect(expected.length).toBe(8 + 64 + 24);
    const written = writeSafetensors([{ name: 'attn.0', shape: [1, 2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) }]);
    expect(written).toEqual(expected);
  });

  it('pads the header with spaces to a multiple of 8 and puts __metadata__ first', () => {
    expect(writeSafetensors([])).toEqual(handMade('{}'));
    expect(writeSafetensors([])).toEqual(Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32));
    expect(writeSafetensors([], { framework: 'pt' })).toEqual(handMade('{"__metadata__":{"framework":"pt"}}'));
    const withBoth = writeSafetensors([{ name: 'x', shape: [], data: Float32Array.of(1) }], { b: '2', a: '1' });
    expect(withBoth).toEqual(
      handMade(
        '{"__metadata__":{"a":"1","b":"2"},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}',
        float32Bytes([1]),
      ),
    );
  });

  it('sorts tensors by name in code point order, data in the same order', () => {
    const t = (name: string, value: number): NamedTensor => ({ name, shape: [1], data: Float32Array.of(value) });
    const written = writeSafetensors([
      t('\u{1F600}', 4),
      t('b', 2),
      t('\uFFFD', 3),
      t('a', 1),
      t('10', 0.5),
      t('9', 0.25),
    ]);
    const header = new TextDecoder().decode(
      written.subarray(8, 8 + Number(new DataView(written.buffer).getBigUint64(0, true))),
    );
    const names = [...header.matchAll(/"([^"]+)":\{"dtype"/gu)].map((match) => match[1]);
    expect(names).toEqual(['10', '9', 'a', 'b', '\uFFFD', '\u{1F600}']);
    const file = readSafetensors(written);
    expect([...file.tensors.keys()]).toEqual(names);
    expect([...file.tensors.values()].map((tensor) => tensor.data[0])).toEqual([0.5, 0.25, 1, 2, 3, 4]);
  });

  it('reads a hand-made file with its metadata, in offset order', () => {
    const header =
      '{"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"__metadata__":{"step":"7"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}';
    const file = readSafetensors(handMade(header, float32Bytes([1, 2, -3.5, 1e-7])));
    expect(file.metadata).toEqual({ step: '7' });
    expect([...file.tensors.keys()]).toEqual(['a', 'b']);
    expect(file.tensors.get('a')).toEqual({ shape: [2, 1], dtype: 'F32', data: Float32Array.of(1, 2) });
    expect(file.tensors.get('b')!.data).toEqual(Float32Array.of(-3.5, 1e-7));
  });

  it('accepts an unpadded header and gives empty metadata when there is none', () => {
    const file = readSafetensors(
      handMade('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', float32Bytes([9]), false),
    );
    expect(file.metadata).toEqual({});
    expect(file.tensors.get('w')!.data).toEqual(Float32Array.of(9));
  });

  it('widens F16 and BF16 to float32', () => {
    const halves = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x3555);
    const brains = Uint16Array.of(0x3f80, 0xc0a0, 0x0000, 0xff80);
    const header = `{"h":{"dtype":"F16","shape":[8],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[16,24]}}`;
    const data = new Uint8Array(24);
    data.set(new Uint8Array(halves.buffer), 0);
    data.set(new Uint8Array(brains.buffer), 16);
    const file = readSafetensors(handMade(header, data));
    expect(Array.from(file.tensors.get('h')!.data)).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      -0,
      Infinity,
      -Infinity,
      Math.fround(0.333251953125),
    ]);
    expect(file.tensors.get('h')!.dtype).toBe('F16');
    expect(Array.from(file.tensors.get('b')!.data)).toEqual([1, -5, 0, -Infinity]);
    const nan = readSafetensors(
      handMade('{"n":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', Uint8Array.of(0x00, 0x7e)),
    );
    expect(nan.tensors.get('n')!.data[0]).toBeNaN();
  });
});

describe('round-trips', () => {
  it('keeps every float32 bit pattern (NaN payloads, -0, subnormals) and copies data out', () => {
    const raw = Uint32Array.of(0x7fc00001, 0xffffffff, 0x80000000, 0x00000001, 0x7f800000, 0x3f800000);
    const source = new Float32Array(raw.buffer);
    const written = writeSafetensors([{ name: 'w', shape: [2, 3], data: source }]);
    // Read from an odd offset inside a bigger buffer: the reader must not depend on alignment.
    const shifted = new Uint8Array(written.length + 3);
    shifted.set(written, 3);
    const loaded = readSafetensors(shifted.subarray(3)).tensors.get('w')!;
    expect(bits(loaded.data)).toEqual(raw);
    shifted.fill(0);
    expect(bits(loaded.data)).toEqual(raw);
  });

  it('writes from views into bigger buffers', () => {
    const big = Float32Array.of(9, 1, 2, 3, 9);
    const loaded = readSafetensors(writeSafetensors([{ name: 'v', shape: [3], data: big.subarray(1, 4) }]));
    expect(loaded.tensors.get('v')!.data).toEqual(Float32Array.of(1, 2, 3));
  });

  it('round-trips random tensors, shapes, names and metadata exactly', () => {
    const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
    const tensor = fc.tuple(fc.string({ unit: 'grapheme', maxLength: 8 }), shape).chain(([name, dims]) => {
      const size = dims.reduce((a, b) => a * b, 1);
      return fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: size, maxLength: size }).map((words) => ({
        name,
        shape: dims,
        data: new Float32Array(Uint32Array.from(words).buffer),
      }));
    });
    const tensors = fc
      .uniqueArray(tensor, { selector: (t) => t.name, maxLength: 6 })
      .filter((ts) => ts.every((t) => t.name !== '__metadata__'));
    const metadata = fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 }), { nil: undefined });
    fc.assert(
      fc.property(tensors, metadata, (inputs, meta) => {
        const file = readSafetensors(writeSafetensors(inputs, meta));
        expect(file.metadata).toEqual(meta ?? {});
        expect(file.tensors.size).toBe(inputs.length);
        for (const input of inputs) {
          const loaded = file.tensors.get(input.name)!;
          expect(loaded.shape).toEqual(input.shape);
          expect(loaded.dtype).toBe('F32');
          expect(bits(loaded.data)).toEqual(bits(input.data));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('corrupt files', () => {
  const entry = (dtype: string, shape: number[], begin: number, end: number): string =>
    JSON.stringify({ dtype, shape, data_offsets: [begin, end] });
  const file = (tensors: Record<string, string>, dataBytes: number): Uint8Array =>
    handMade(
      `{${Object.entries(tensors)
        .map(([name, info]) => `${JSON.stringify(name)}:${info}`)
        .join(',')}}`,
      new Uint8Array(dataBytes),
    );

  it('refuses files too short for the header length', () => {
    expect(() => readSafetensors(new Uint8Array(5))).toThrow(/too short: 5 bytes/);
  });

  it('refuses a header length beyond the file or over the limit', () => {
    const bytes = handMade('{}');
    new DataView(bytes.buffer).setBigUint64(0, 9n, true);
    expect(() => readSafetensors(bytes)).toThrow(/header length 9 goes beyond the end of the file \(16 bytes\)/);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(() => readSafetensors(bytes)).toThrow(/over the 100000000-byte limit/);
  });

  it('refuses a header that is not UTF-8, not JSON, or not an object', () => {
    const notUtf8 = handMade('{}');
    notUtf8[9] = 0xff;
    expect(() => readSafetensors(notUtf8)).toThrow(/not valid UTF-8/);
    expect(() => readSafetensors(handMade('{"a":'))).toThrow(/not valid JSON/);
    expect(() => readSafetensors(handMade('[1,2]'))).toThrow(/must be a JSON object/);
  });

  it('refuses unknown and unsupported dtypes', () => {
    expect(() => readSafetensors(file({ w: entry('F33', [1], 0, 4) }, 4))).toThrow(/tensor "w": unknown dtype "F33"/);
    expect(() => readSafetensors(file({ w: entry('I64', [1], 0, 8) }, 8))).toThrow(
      /dtype I64 is not supported \(only F32, F16, BF16\)/,
    );
  });

  it('refuses malformed entries and metadata', () => {
    expect(() => readSafetensors(file({ w: '[]' }, 0))).toThrow(/tensor "w": header entry must be an object/);
    expect(() => readSafetensors(file({ w: entry('F32', [-1], 0, 4) }, 4))).toThrow(
      /shape must be an array of non-negative integers/,
    );
    expect(() => readSafetensors(file({ w: '{"dtype":"F32","shape":[1],"data_offsets":[0]}' }, 4))).toThrow(
      /data_offsets must be two/,
    );
    expect(() => readSafetensors(file({ w: entry('F32', [0], 4, 0) }, 4))).toThrow(/\[4, 0\] end before they begin/);
    expect(() => readSafetensors(file({ __metadata__: '{"a":1}' }, 0))).toThrow(
      /"__metadata__" value of "a" is not a string/,
    );
    expect(() => readSafetensors(file({ __metadata__: '"x"' }, 0))).toThrow(/"__metadata__" must be an object/);
  });

  it('refuses a shape that does not match its offsets', () => {
    expect(() => readSafetensors(file({ w: entry('F32', [2, 3], 0, 20) }, 20))).toThrow(
      /tensor "w": shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0, 20\] hold 20/,
    );
  });

  it('refuses offsets out of range, overlapping, with holes, or short of the end', () => {
    expect(() => readSafetensors(file({ w: entry('F32', [2], 0, 8) }, 4))).toThrow(
      /\[0, 8\] are out of range \(the data has 4 bytes\)/,
    );
    expect(() => readSafetensors(file({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }, 12))).toThrow(
      /tensors "a" and "b" overlap/,
    );
    expect(() => readSafetensors(file({ a: entry('F32', [1], 0, 4), b: entry('F32', [1], 8, 12) }, 12))).toThrow(
      /hole: bytes 4\.\.8 belong to no tensor/,
    );
    expect(() => readSafetensors(file({ a: entry('F32', [1], 4, 8) }, 8))).toThrow(/hole: bytes 0\.\.4/);
    expect(() => readSafetensors(file({ a: entry('F32', [1], 0, 4) }, 8))).toThrow(
      /4 trailing bytes after the last tensor/,
    );
  });

  it('refuses to write duplicate names, the reserved name, or data that does not fit the shape', () => {
    const data = Float32Array.of(1, 2);
    expect(() =>
      writeSafetensors([
        { name: 'a', shape: [2], data },
        { name: 'a', shape: [2], data },
      ]),
    ).toThrow(/"a" is used twice/);
    expect(() => writeSafetensors([{ name: '__metadata__', shape: [2], data }])).toThrow(/reserved/);
    expect(() => writeSafetensors([{ name: 'a', shape: [3], data }])).toThrow(
      /shape \[3\] \(3 elements\) but 2 values/,
    );
    expect(() => writeSafetensors([{ name: 'a', shape: [2.5], data }])).toThrow(/dims must be non-negative integers/);
  });
});

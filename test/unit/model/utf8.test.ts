// Tests for strict UTF-8 decoding (src/model/utf8.ts): valid text (BOM included) comes back as it is;
// the first invalid byte — a stray continuation, an overlong form, a surrogate, a cut-off sequence —
// is reported with the file's name, its line and its byte offset, never replaced by U+FFFD.
import { describe, expect, it } from 'vitest';
import { decodeUtf8 } from '../../../src/model/utf8.ts';

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((part) => (typeof part === 'string' ? [...new TextEncoder().encode(part)] : part)));

describe('decodeUtf8', () => {
  it('returns valid text unchanged, a byte-order mark and U+FFFD itself included', () => {
    const text = '\uFEFFcafé 🦊\n{"a": "\uFFFD"}\n';
    expect(decodeUtf8(new TextEncoder().encode(text), 'x.jsonl')).toBe(text);
  });

  it('names the line and byte of the first invalid sequence', () => {
    expect(() => decodeUtf8(bytes('{"a": 1}\n{"b": "', [0xff], '"}\n'), 'data.jsonl')).toThrow(
      'data.jsonl: line 2 (byte 16) is not valid UTF-8: save the file as UTF-8',
    );
    expect(() => decodeUtf8(bytes('ok\n\n', [0x80]), 'f')).toThrow('f: line 3 (byte 4)');
    expect(() => decodeUtf8(bytes([0xc0, 0xaf]), 'overlong')).toThrow('overlong: line 1 (byte 0)');
    expect(() => decodeUtf8(bytes('a', [0xed, 0xa0, 0x80]), 'surrogate')).toThrow('surrogate: line 1 (byte 1)');
    expect(() => decodeUtf8(bytes('ab', [0xe2, 0x82]), 'cut')).toThrow('cut: line 1 (byte 2)');
  });
});

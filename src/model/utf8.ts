// Strict UTF-8 decoding of a file's bytes (CLI, worker and page alike): invalid bytes are an error
// that names the file, the line and the byte, never a silent U+FFFD; a leading byte-order mark is
// kept for the parsers that skip it.

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of a UTF-8 file; throws "NAME: line L (byte B) is not valid UTF-8: …" on the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (error) {
    const offset = firstInvalidByte(bytes);
    throw new Error(
      `${name}: line ${lineAt(bytes, offset)} (byte ${offset}) is not valid UTF-8: save the file as UTF-8`,
      { cause: error },
    );
  }
}

/** The offset of the first byte that does not begin or continue a valid UTF-8 sequence. */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return bytes.length; // not reached when the decoder has failed: both follow the Unicode standard
}

/** The length of the valid sequence starting at i (1–4 bytes), or 0 when none starts there. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i];
  if (lead < 0x80) return 1;
  // the second byte's range excludes overlong forms, surrogates and code points above U+10FFFF
  const [length, low, high] =
    lead >= 0xc2 && lead <= 0xdf
      ? [2, 0x80, 0xbf]
      : lead === 0xe0
        ? [3, 0xa0, 0xbf]
        : lead === 0xed
          ? [3, 0x80, 0x9f]
          : lead >= 0xe1 && lead <= 0xef
            ? [3, 0x80, 0xbf]
            : lead === 0xf0
              ? [4, 0x90, 0xbf]
              : lead === 0xf4
                ? [4, 0x80, 0x8f]
                : lead >= 0xf1 && lead <= 0xf3
                  ? [4, 0x80, 0xbf]
                  : [0, 0, 0];
  if (length === 0 || i + length > bytes.length) return 0;
  if (bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < length; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  return length;
}

/** The 1-based line of a byte offset (lines end at '\n'). */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

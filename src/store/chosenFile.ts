// Files a person picks in the page (<input type="file">): the size is checked before a byte is
// read, so a wrong multi-gigabyte pick is refused at once, and text is decoded as strict UTF-8
// (decodeUtf8 names the line of an invalid byte) instead of gaining silent U+FFFD characters.
// In the store layer because it reads and decodes; the panels only hand it the File.
import { decodeUtf8 } from '../model/utf8.ts';
import { MAX_DATASET_CHARS } from '../rlhf/datasets.ts';

/** The bytes of a picked file of at most maxBytes. */
export async function chosenFileBytes(file: File, maxBytes: number): Promise<Uint8Array> {
  if (file.size > maxBytes) {
    const limit =
      maxBytes >= 2 ** 20 ? `${(maxBytes / 2 ** 20).toFixed(0)} MiB` : `${(maxBytes / 2 ** 10).toFixed(0)} KiB`;
    throw new Error(
      `${file.name} has ${file.size} bytes, over the ${limit} it may have: check that it is the right file, or split it`,
    );
  }
  return new Uint8Array(await file.arrayBuffer());
}

/** The text of a picked UTF-8 file of at most maxBytes. */
export async function chosenFileText(file: File, maxBytes: number): Promise<string> {
  return decodeUtf8(await chosenFileBytes(file, maxBytes), file.name);
}

/** The text of a picked JSONL dataset file (at most a dataset's size). */
export function chosenDatasetText(file: File): Promise<string> {
  return chosenFileText(file, MAX_DATASET_CHARS);
}

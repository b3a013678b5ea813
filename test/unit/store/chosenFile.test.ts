// Tests for files picked in the page (src/ui/chosenFile.ts, issue 17): the size is checked before
// the file is read (file.size, not file.text()), and text is strict UTF-8 with the line named.
import { describe, expect, it, vi } from 'vitest';
import { chosenFileBytes, chosenFileText } from '../../../src/store/chosenFile.ts';

describe('chosen files', () => {
  it('refuses a file over the limit without reading it', async () => {
    const file = new File(['x'.repeat(3 * 2 ** 20)], 'huge.jsonl');
    const read = vi.spyOn(file, 'arrayBuffer');
    const text = vi.spyOn(file, 'text');
    await expect(chosenFileText(file, 2 ** 20)).rejects.toThrow(
      `huge.jsonl has ${3 * 2 ** 20} bytes, over the 1 MiB it may have: check that it is the right file, or split it`,
    );
    expect(read).not.toHaveBeenCalled();
    expect(text).not.toHaveBeenCalled();
  });

  it('reads a file within the limit, and names the line of invalid UTF-8', async () => {
    expect(await chosenFileBytes(new File([Uint8Array.of(1, 2, 3)], 'model.safetensors'), 3)).toEqual(
      Uint8Array.of(1, 2, 3),
    );
    expect(await chosenFileText(new File(['{"a": "café"}\n'], 'ok.jsonl'), 100)).toBe('{"a": "café"}\n');
    const latin1 = new File(
      [new TextEncoder().encode('{"a": 1}\n{"b": "caf'), Uint8Array.of(0xe9), new TextEncoder().encode('"}\n')],
      'latin1.jsonl',
    );
    await expect(chosenFileText(latin1, 100)).rejects.toThrow(
      'latin1.jsonl: line 2 (byte 19) is not valid UTF-8: save the file as UTF-8',
    );
  });
});

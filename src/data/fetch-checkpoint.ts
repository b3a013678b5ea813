// Fetches a checkpoint folder served over HTTP (e.g. the shipped base model at /models/base/),
// reporting download progress, and validates it with loadCheckpoint (its JSON files decoded as
// strict UTF-8).
import { loadCheckpoint, type Checkpoint } from '../model/checkpoint.ts';
import { decodeUtf8 } from '../model/utf8.ts';

export interface DownloadProgress {
  file: string;
  loadedBytes: number;
  /** From Content-Length; undefined when the server does not say. */
  totalBytes?: number;
}

async function fetchBytes(
  url: string,
  file: string,
  onProgress: (progress: DownloadProgress) => void,
): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  const totalBytes = Number(response.headers.get('content-length')) || undefined;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loadedBytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loadedBytes += value.byteLength;
    onProgress({ file, loadedBytes, totalBytes });
  }
  const bytes = new Uint8Array(loadedBytes);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Downloads model.safetensors, config.json and tokenizer.json from `baseUrl` (ending in '/'). */
export async function fetchCheckpoint(
  baseUrl: string,
  onProgress: (progress: DownloadProgress) => void = () => undefined,
): Promise<Checkpoint> {
  const [model, config, tokenizer] = await Promise.all(
    ['model.safetensors', 'config.json', 'tokenizer.json'].map((file) =>
      fetchBytes(new URL(file, baseUrl).href, file, onProgress),
    ),
  );
  try {
    return loadCheckpoint({
      'model.safetensors': model,
      'config.json': decodeUtf8(config, 'config.json'),
      'tokenizer.json': decodeUtf8(tokenizer, 'tokenizer.json'),
    });
  } catch (error) {
    throw new Error(`checkpoint at ${baseUrl}: ${(error as Error).message}`, { cause: error });
  }
}

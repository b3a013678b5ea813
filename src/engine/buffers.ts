// Labelled GPU buffers and asynchronous readback. Storage buffers are created once, up front;
// readback goes through a MAP_READ staging buffer and never blocks the queue inside a step.

export const FLOAT_BYTES = 4;

/** A storage buffer that can be written from the CPU and copied out for readback. */
export function createStorageBuffer(device: GPUDevice, label: string, byteLength: number): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(16, alignTo(byteLength, 4)),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

/** Writes a typed array into a buffer at a byte offset (queue-ordered before the next submit). */
export function writeArray(
  queue: GPUQueue,
  buffer: GPUBuffer,
  data: Float32Array | Int32Array | Uint32Array,
  byteOffset = 0,
): void {
  queue.writeBuffer(buffer, byteOffset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/** A storage buffer initialised with data. */
export function createStorageBufferFrom(
  device: GPUDevice,
  label: string,
  data: Float32Array | Int32Array | Uint32Array,
): GPUBuffer {
  const buffer = createStorageBuffer(device, label, data.byteLength);
  writeArray(device.queue, buffer, data);
  return buffer;
}

/** A uniform buffer holding u32 values (e.g. sizes), written once at creation. */
export function createUniformBuffer(device: GPUDevice, label: string, values: Uint32Array | Float32Array): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: alignTo(Math.max(values.byteLength, 16), 16),
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
  return buffer;
}

export function alignTo(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Copies `byteLength` bytes from `source` at `offset` and resolves with them once the GPU is done. */
export async function readBytes(
  device: GPUDevice,
  source: GPUBuffer,
  offset = 0,
  byteLength = source.size - offset,
): Promise<ArrayBuffer> {
  const staging = device.createBuffer({
    label: `${source.label}.readback`,
    size: alignTo(byteLength, 4),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder({ label: `${source.label}.readback` });
  encoder.copyBufferToBuffer(source, offset, staging, 0, alignTo(byteLength, 4));
  device.queue.submit([encoder.finish()]);
  try {
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, byteLength);
  } finally {
    staging.destroy();
  }
}

export async function readFloat32(
  device: GPUDevice,
  source: GPUBuffer,
  offsetFloats = 0,
  count?: number,
): Promise<Float32Array> {
  const byteLength = (count ?? source.size / FLOAT_BYTES - offsetFloats) * FLOAT_BYTES;
  return new Float32Array(await readBytes(device, source, offsetFloats * FLOAT_BYTES, byteLength));
}

export async function readUint32(
  device: GPUDevice,
  source: GPUBuffer,
  offsetWords = 0,
  count?: number,
): Promise<Uint32Array> {
  const byteLength = (count ?? source.size / 4 - offsetWords) * 4;
  return new Uint32Array(await readBytes(device, source, offsetWords * 4, byteLength));
}

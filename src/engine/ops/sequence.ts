// Dispatches for the bookkeeping of batched decoding: feeding each sequence's current token and
// committing sampled tokens (kernels/sequence.wgsl and kernels/commit.wgsl).
import sequenceWgsl from '../kernels/sequence.wgsl?raw';
import commitWgsl from '../kernels/commit.wgsl?raw';
import { createUniformBuffer } from '../buffers.ts';
import { bindKernel, getKernel, type BindingResource, type Dispatch } from '../kernel.ts';

/** x (B,C) = wte[sequence[b, positions[b]]] + wpe[positions[b]]. */
export function decodeEmbedDispatch(
  device: GPUDevice,
  label: string,
  b: {
    out: BindingResource;
    sequence: BindingResource;
    positions: BindingResource;
    wte: BindingResource;
    wpe: BindingResource;
  },
  B: number,
  C: number,
  maxT: number,
): Dispatch {
  const kernel = getKernel(device, {
    label: 'decode_embed',
    code: sequenceWgsl,
    entryPoint: 'embed_step',
    bindings: [
      'storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'read-only-storage',
      'uniform',
    ],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, C, maxT, 0]));
  return {
    kernel,
    bindGroup: bindKernel(device, kernel, [b.out, b.sequence, b.positions, b.wte, b.wpe, dims], label),
    workgroups: [Math.ceil((B * C) / 64)],
  };
}

/** Writes sampled ids after each prompt, tracks EOS, advances positions. */
export function decodeCommitDispatch(
  device: GPUDevice,
  label: string,
  b: {
    sequence: BindingResource;
    positions: BindingResource;
    finished: BindingResource;
    sampleDone: BindingResource;
    promptLengths: BindingResource;
    sampled: BindingResource;
  },
  B: number,
  maxT: number,
  eosId: number,
): Dispatch {
  const kernel = getKernel(device, {
    label: 'decode_commit',
    code: commitWgsl,
    entryPoint: 'commit',
    bindings: ['storage', 'storage', 'storage', 'storage', 'read-only-storage', 'read-only-storage', 'uniform'],
  });
  const dims = createUniformBuffer(device, `${label}.dims`, new Uint32Array([B, maxT, eosId, 0]));
  return {
    kernel,
    bindGroup: bindKernel(
      device,
      kernel,
      [b.sequence, b.positions, b.finished, b.sampleDone, b.promptLengths, b.sampled, dims],
      label,
    ),
    workgroups: [Math.ceil(B / 64)],
  };
}

// Device acquisition through Dawn: adapter info, limits, features, and clear errors.
import { describe, expect, it } from 'vitest';
import { acquireGpu, nodeBackendFromEnv } from '../../../src/engine/gpu.ts';
import { testGpu } from './gpu-device.ts';

describe('acquireGpu in Node', () => {
  it('reports an adapter with the limits the kernels need', async () => {
    const { info } = await testGpu();
    expect(info.backend).not.toBe('browser');
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(info.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(info.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    expect(typeof info.shaderF16).toBe('boolean');
    // Dawn here is SwiftShader or llvmpipe (CPU adapters) unless RLHF_LAB_WEBGPU=native.
    if (info.backend !== 'native') expect(info.kernelLayout).toBe('registers');
  });

  it('reports validation errors naming the kernel label', async () => {
    const gpu = await testGpu();
    const errors: string[] = [];
    const unsubscribe = gpu.onError((error) => errors.push(error.message));
    gpu.device.createShaderModule({ label: 'deliberately_broken_kernel', code: 'fn main( {' });
    await gpu.device.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 50));
    unsubscribe();
    expect(errors.join('\n')).toContain('deliberately_broken_kernel');
  });

  it('reports device loss through `lost`, and assertHealthy throws after an error', async () => {
    const gpu = await acquireGpu();
    expect(() => gpu.assertHealthy()).not.toThrow();
    gpu.device.createShaderModule({ label: 'another_broken_kernel', code: 'fn (' });
    await gpu.device.queue.onSubmittedWorkDone();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(() => gpu.assertHealthy()).toThrow(/another_broken_kernel/);
    gpu.destroy();
    const loss = await gpu.lost;
    expect(loss.kind).toBe('device-lost');
    expect(loss.message).toMatch(/GPU device lost/);
  });

  it('rejects an unknown backend name with a clear message', () => {
    expect(() => nodeBackendFromEnv('metal')).toThrow(/not a known backend/);
    expect(nodeBackendFromEnv(undefined)).toBe('swiftshader');
  });
});

// `rlhf-lab gpu-check --smoke` (npm run bench:gpu -- --smoke): the GPU check runs end to end on
// SwiftShader at tiny sizes — Dawn's adapter, the FMA peak, matmul as a share of it, the peak GPU
// memory of a preset, and the bench's training and sampling ratios in headless Chromium — so the
// script a lent GPU runs is known to work. The figures themselves are only checked for sense.
import { describe, expect, it } from 'vitest';
import { runCli } from '../unit/cli/run-cli.ts';

interface GpuCheckResult {
  smoke: boolean;
  adapter: string;
  fma_peak_gflops: number;
  matmul: Record<string, { gflops: number; share_of_peak: number }>;
  peak_gpu_memory: Record<string, { B: number; T: number; train_step_mib: number; sampler_mib: number }>;
  browser: {
    adapter: string;
    train: { ratio_vs_tfjs: number };
    sample: { ratio_vs_ort: number; ort_kv_cache: boolean; by_batch: Record<string, unknown> };
  };
  pipeline: null;
}

describe('gpu-check --smoke', () => {
  it('prints the adapter, peak, matmul share, memory and the bench ratios', async () => {
    const run = await runCli(['gpu-check', '--smoke', '--json']);
    expect(run.code, run.stderr.join('\n')).toBe(0);
    const result = run.result as GpuCheckResult;
    expect(result.smoke).toBe(true);
    expect(result.adapter).toMatch(/^swiftshader: /);
    expect(result.fma_peak_gflops).toBeGreaterThan(0);
    expect(Object.keys(result.matmul)).toEqual(['64x64x64', '128x128x128']);
    for (const { gflops, share_of_peak } of Object.values(result.matmul))
      expect(share_of_peak).toBeCloseTo(gflops / result.fma_peak_gflops, 10);
    // micro, B=2, T=16: the parameters alone (~0.1 MiB with AdamW's moments ×4) are a floor.
    expect(result.peak_gpu_memory.micro).toMatchObject({ B: 2, T: 16 });
    expect(result.peak_gpu_memory.micro.train_step_mib).toBeGreaterThan(0.1);
    expect(result.peak_gpu_memory.micro.sampler_mib).toBeGreaterThan(0);
    expect(result.browser.adapter).toMatch(/swiftshader/);
    expect(result.browser.train.ratio_vs_tfjs).toBeGreaterThan(0);
    expect(result.browser.sample).toMatchObject({ ort_kv_cache: true });
    expect(Object.keys(result.browser.sample.by_batch)).toEqual(['1']);
    expect(result.pipeline).toBeNull();
    expect(run.stderr.join('\n')).not.toMatch(/page errors/);
  });
});

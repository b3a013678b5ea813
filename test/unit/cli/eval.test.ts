// Tests for `rlhf-lab eval` on the shipped micro model, whose 32-token context is shorter than
// some held-out prompts (issue 17): those are skipped and counted, the rest evaluated.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPromptSet } from '../../../src/world/index.ts';
import { runCli } from './run-cli.ts';

process.env.RLHF_LAB_WEBGPU ??= 'llvmpipe';

const MICRO = fileURLToPath(new URL('../../../public/models/micro', import.meta.url));

describe('rlhf-lab eval', () => {
  it('skips the held-out prompts that do not fit the context, says how many, and evaluates the others', async () => {
    const run = await runCli(['eval', '--model', MICRO, '--prompts', '12', '--json']);
    expect(run.code, run.stderr.slice(-4).join('\n')).toBe(0);
    const result = run.result as { prompts: number; skipped_prompts: number; likert: number };
    expect(result.skipped_prompts).toBeGreaterThan(0);
    expect(result.prompts + result.skipped_prompts).toBe(Math.min(12, buildPromptSet(1).heldout.length));
    expect(result.prompts).toBeGreaterThan(0);
    expect(Number.isFinite(result.likert)).toBe(true);
    expect(run.stderr).toContain(
      `skipping ${result.skipped_prompts} of 12 held-out prompts: they leave no room for an answer in the context of 32 tokens`,
    );
  }, 300_000);
});

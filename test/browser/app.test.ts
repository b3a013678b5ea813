// The built app in headless Chromium: the worker gets a WebGPU adapter (SwiftShader), the matmul
// kernel runs in the worker from the UI and matches the CPU, and nothing is logged as an error.
// Without WebGPU the app explains how to get it.
import { describe, expect, it } from 'vitest';
import { collectPageErrors } from './harness.ts';
import { useChromium, useServedApp } from './lab-hooks.ts';

const app = useServedApp();

describe('with WebGPU (SwiftShader)', () => {
  const chromium = useChromium({ webgpu: true });

  it('shows the worker adapter and runs the matmul kernel from the UI', async () => {
    const page = await chromium.browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(app.url);
    await expect.poll(() => page.getByTestId('gpu-adapter').textContent(), { timeout: 60_000 }).toMatch(/swiftshader/i);
    expect(await page.getByText('shader-f16').count()).toBe(1);
    await page.getByLabel('Matrix size').selectOption('128');
    await page.getByRole('button', { name: 'Run matmul check' }).click();
    const result = page.getByTestId('matmul-result');
    await result.waitFor({ timeout: 120_000 });
    expect(await result.textContent()).toMatch(/^PASS: 128×128 · 128×128/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('loads the shipped base model and samples from it in the worker', async () => {
    const page = await chromium.browser.newPage();
    const errors = collectPageErrors(page);
    await page.goto(app.url);
    const summary = page.getByTestId('model-summary');
    await summary.waitFor({ timeout: 120_000 });
    expect(await summary.textContent()).toMatch(/GPT-2, [\d.]+M parameters/);
    await page.getByLabel('Prompt').fill('<script>alert(1)</script> What colour is a frog?');
    await page.getByLabel('Max new tokens').fill('6');
    await page.getByRole('button', { name: 'Sample' }).click();
    const sample = page.getByTestId('sample').first();
    await sample.waitFor({ timeout: 180_000 });
    // Markup in a prompt is shown as text, never parsed as HTML.
    expect(await sample.textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('.samples script').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('without WebGPU', () => {
  const chromium = useChromium({ webgpu: false });

  it('explains which browsers and flags provide WebGPU', async () => {
    const page = await chromium.browser.newPage();
    await page.addInitScript(() => {
      // Headless Chromium may still expose navigator.gpu without an adapter; remove it to be sure.
      delete (Navigator.prototype as unknown as Record<string, unknown>).gpu;
    });
    await page.goto(app.url);
    await page.getByTestId('no-webgpu').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('heading', { name: 'This browser has no WebGPU' }).count()).toBe(1);
    expect(await page.getByText('enable-unsafe-webgpu').count()).toBeGreaterThan(0);
    await page.close();
  });
});

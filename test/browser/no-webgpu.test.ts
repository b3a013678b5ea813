// The lab in a browser without WebGPU (Chromium without --enable-unsafe-webgpu; navigator.gpu
// removed before the app loads if this Chromium still exposes it): the notice says what works, the
// micro base loads and samples in onnxruntime-web (its plain wasm build, in the worker, from the
// app's own assets, on the KV-cache export), a person ranks K outputs end to end by keyboard and the
// ranking is saved as any other, the held-out labeler's table and the ONNX export work, and the
// training panels explain what they need.
// Also where navigator.gpu is there but yields no adapter (this Chromium without the flag).
import { describe, expect, it } from 'vitest';
import type { Download, Locator, Page } from 'playwright-core';
import { collectPageErrors, openTab } from './harness.ts';
import { useLab } from './lab-hooks.ts';

const LESSON = '?preset=micro&maxNewTokens=8';
const MODEL_TIMEOUT = 240_000;

const lab = useLab({ webgpu: false });

/** Whether a page of the app's origin sees navigator.gpu, and whether it yields an adapter. */
async function probeWebGpu(page: Page): Promise<{ exposed: boolean; adapter: boolean }> {
  await page.goto(`${lab.url}favicon.svg`);
  return page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) return { exposed: false, adapter: false };
    const adapter = await gpu.requestAdapter().catch(() => null);
    return { exposed: true, adapter: adapter !== null };
  });
}

async function rankedLetters(page: Page): Promise<string[]> {
  const labels = await page
    .getByTestId('ranked-output')
    .evaluateAll((items) => items.map((item) => item.getAttribute('aria-label') ?? ''));
  return labels.map((label) => /^Output ([A-I]),/.exec(label)?.[1] ?? '?');
}

async function pressOn(locator: Locator, key: string): Promise<void> {
  await locator.focus();
  await locator.press(key);
}

async function readDownload(download: Download): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('without WebGPU', () => {
  it('samples with onnxruntime-web, ranks outputs by keyboard, and the training panels say what they need', async () => {
    const context = await lab.browser.newContext();
    const probe = await probeWebGpu(await context.newPage());
    if (probe.exposed) {
      // This Chromium exposes navigator.gpu even without the flag: remove it before the app loads.
      await context.addInitScript(() => {
        delete (Navigator.prototype as unknown as Record<string, unknown>).gpu;
      });
    }
    const requests: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=model`);
    expect(await page.evaluate(() => 'gpu' in navigator)).toBe(false);

    // A notice, not a wall: the Model panel loads the base and samples from it.
    await page.getByTestId('no-webgpu').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('no-webgpu').textContent()).toMatch(/rank its outputs.*onnxruntime-web/s);
    const summary = page.getByTestId('model-summary');
    await summary.waitFor({ timeout: MODEL_TIMEOUT });
    expect(await summary.textContent()).toMatch(/GPT-2, [\d.]+M parameters/);
    await page.getByTestId('ort-sampling').waitFor();
    await page.getByLabel('Max new tokens').fill('6');
    await page.getByRole('button', { name: 'Sample', exact: true }).click();
    await page.getByTestId('sample').first().waitFor({ timeout: MODEL_TIMEOUT });

    // Rank: K outputs sampled in the worker with onnxruntime-web, ordered and submitted by keyboard.
    await openTab(page, 'Rank');
    const prompt = (await page.getByTestId('rank-prompt').textContent()) ?? '';
    const sample = page.getByRole('button', { name: 'Sample 4 outputs' });
    await expect.poll(() => sample.isEnabled(), { timeout: MODEL_TIMEOUT }).toBe(true);
    await pressOn(sample, 'Enter');
    await page.getByTestId('ranked-output').nth(3).waitFor({ timeout: MODEL_TIMEOUT });
    expect(await rankedLetters(page)).toEqual(['A', 'B', 'C', 'D']);
    await pressOn(page.getByTestId('ranked-output').first(), 'Alt+ArrowDown');
    await page.keyboard.press('Alt+ArrowDown');
    expect(await rankedLetters(page)).toEqual(['B', 'C', 'A', 'D']);
    await pressOn(page.getByRole('button', { name: 'Submit ranking' }), 'Enter');
    await expect.poll(() => page.getByText(`Ranking saved for “${prompt}”.`).count()).toBe(1);
    const human = page.locator('[data-testid="saved-ranking"][data-source="human"]');
    expect(await human.count()).toBe(1);
    expect(await human.locator('.order-text').textContent()).toBe('B > C > A > D');

    // The training panels explain what they need instead of failing.
    await openTab(page, 'Demonstrations');
    expect(await page.getByTestId('needs-webgpu').textContent()).toMatch(
      /Supervised fine-tuning \(SFT\) needs WebGPU.*enable-unsafe-webgpu/s,
    );
    expect(await page.getByRole('button', { name: /^Train SFT/ }).count()).toBe(0);
    await openTab(page, 'Reward model');
    expect(await page.getByTestId('needs-webgpu').textContent()).toMatch(/Training the reward model needs WebGPU/);
    expect(await page.getByTestId('rm-rankings').textContent()).toMatch(/^1 rankings/);
    expect(await page.getByRole('button', { name: 'Train reward model' }).count()).toBe(0);
    await openTab(page, 'PPO');
    expect(await page.getByTestId('needs-webgpu').textContent()).toMatch(/PPO \(and DPO\) needs WebGPU/);
    expect(await page.getByRole('button', { name: 'Start' }).count()).toBe(0);

    // Evaluate: the held-out labeler's table, answers and losses from onnxruntime-web.
    await openTab(page, 'Evaluate');
    await page.getByLabel('Held-out prompts').fill('2');
    await page.getByRole('button', { name: 'Evaluate with the held-out labeler' }).click();
    const table = page.getByTestId('evaluation-table');
    await table.waitFor({ timeout: MODEL_TIMEOUT });
    expect(await table.locator('tbody th').allTextContents()).toEqual(['base']);

    // Data: the ranking exports as any other, and the base model downloads as ONNX.
    await openTab(page, 'Data');
    const [rankings] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export rankings' }).click(),
    ]);
    const [ranking] = (await readDownload(rankings))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(ranking).toMatchObject({ prompt, order: [1, 2, 0, 3], source: 'human' });
    expect((ranking.responses as unknown[]).length).toBe(4);
    const [onnx] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export checkpoint base as ONNX' }).click(),
    ]);
    expect(onnx.suggestedFilename()).toBe('base.onnx');
    const bytes = await readDownload(onnx);
    expect(bytes.length).toBeGreaterThan(100_000);
    expect(bytes[0]).toBe(0x08); // field 1 (ir_version), varint: an ONNX ModelProto

    // onnxruntime-web's wasm came from the app itself, the plain build of onnxruntime-web/wasm (not the
    // 28 MB jsep one, which carries WebGPU); nothing was fetched from elsewhere.
    const wasm = requests.filter((r) => r.startsWith(lab.url) && r.endsWith('.wasm'));
    expect(wasm.length).toBeGreaterThan(0);
    expect(wasm.every((r) => /\/ort-wasm-simd-threaded-[\w-]+\.wasm$/.test(r))).toBe(true);
    expect(requests.filter((r) => !r.startsWith(lab.url) && !r.startsWith('blob:') && !r.startsWith('data:'))).toEqual(
      [],
    );
    expect(errors).toEqual([]);
    await context.close();
  });

  it('falls back to onnxruntime-web when navigator.gpu is there but no adapter can be had', async () => {
    const context = await lab.browser.newContext();
    const probe = await probeWebGpu(await context.newPage());
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=model`);
    await page.getByTestId('no-webgpu').waitFor({ timeout: 30_000 });
    // Without the flag this Chromium exposes navigator.gpu but gives no adapter; the worker finds that out.
    if (probe.exposed) expect(probe.adapter).toBe(false);
    await page.getByTestId('model-summary').waitFor({ timeout: MODEL_TIMEOUT });
    await page.getByLabel('Max new tokens').fill('4');
    await page.getByRole('button', { name: 'Sample', exact: true }).click();
    await page.getByTestId('sample').first().waitFor({ timeout: MODEL_TIMEOUT });
    expect(errors).toEqual([]);
    await context.close();
  });
});

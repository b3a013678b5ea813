// The lab on a phone (390×844, touch; micro preset, Chromium on SwiftShader): no panel scrolls
// sideways, the tab bar is one row, a skip link jumps to the panel, and a ranking can be made by
// touch alone on the stacked board, with targets at least 44 px.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectPageErrors } from './harness.ts';
import { useLab } from './lab-hooks.ts';

const LESSON = '?preset=micro&maxNewTokens=8&K=3';
const MODEL_TIMEOUT = 240_000;
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };
const PANEL_NAMES = ['Model', 'Demonstrations', 'Rank', 'Reward model', 'PPO', 'Evaluate', 'Data'];

const lab = useLab({ webgpu: true });

/** How far the page is wider than the screen, in CSS pixels (0: no sideways scroll). */
const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
const rankedLetters = (page: Page) => page.getByTestId('ranked-output').locator('.output-letter').allTextContents();

describe('on a phone', () => {
  it('never scrolls sideways, keeps the tabs on one row and has a skip link', { timeout: 600_000 }, async () => {
    const context = await lab.browser.newContext(PHONE);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}`);
    await page.getByTestId('model-summary').waitFor({ timeout: MODEL_TIMEOUT });
    const tabBar = page.getByRole('tablist', { name: 'Lab panels' });
    const tabHeight = (await tabBar.boundingBox())!.height;
    for (const name of PANEL_NAMES) {
      await page.getByRole('tab', { name, exact: true }).tap();
      await page.getByRole('heading', { name, exact: true, level: 2 }).waitFor();
      expect(await overflow(page), `${name} scrolls sideways`).toBe(0);
      expect((await tabBar.boundingBox())!.height, `the tab bar changed height on ${name}`).toBe(tabHeight);
    }
    expect(tabHeight).toBeLessThan(60); // one row of tabs

    await page.reload();
    await page.getByRole('heading', { name: 'Data', level: 2 }).waitFor();
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to the open panel' });
    expect(await skip.evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('lab-main');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('ranks outputs by touch on a stacked board', { timeout: 600_000 }, async () => {
    const context = await lab.browser.newContext(PHONE);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=rank`);
    const sample = page.getByRole('button', { name: 'Sample 3 outputs' });
    await expect.poll(() => sample.isEnabled(), { timeout: MODEL_TIMEOUT }).toBe(true);
    await sample.tap();
    await page.getByTestId('ranked-output').nth(2).waitFor({ timeout: MODEL_TIMEOUT });
    expect(await overflow(page)).toBe(0);

    // Stacked: each output's text spans the board, not a narrow column.
    const board = (await page.getByRole('list', { name: 'Outputs, best first' }).boundingBox())!;
    const text = (await page.getByTestId('ranked-output').first().locator('.output-text').boundingBox())!;
    expect(text.width).toBeGreaterThan(board.width * 0.8);
    const down = page.getByRole('button', { name: 'Move output A down' });
    const target = (await down.boundingBox())!;
    expect(Math.min(target.width, target.height)).toBeGreaterThanOrEqual(44);

    await down.tap();
    expect(await rankedLetters(page)).toEqual(['B', 'A', 'C']);
    await page.getByRole('button', { name: 'Move output C up' }).tap();
    expect(await rankedLetters(page)).toEqual(['B', 'C', 'A']);
    const prompt = (await page.getByTestId('rank-prompt').textContent()) ?? '';
    await page.getByRole('button', { name: 'Submit ranking' }).tap();
    await expect.poll(() => page.getByText(`Ranking saved for “${prompt}”.`).count()).toBe(1);
    expect(await page.getByTestId('saved-ranking').locator('.saved-order li').count()).toBe(3);
    // The next prompt is sampled without another tap.
    await expect.poll(() => page.getByTestId('rank-prompt').textContent()).not.toBe(prompt);
    await page.getByTestId('ranked-output').nth(2).waitFor({ timeout: MODEL_TIMEOUT });
    expect(errors).toEqual([]);
    await context.close();
  });
});

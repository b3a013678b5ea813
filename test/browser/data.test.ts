// The lab's data, as a user makes it (micro preset, Chromium on SwiftShader): write a
// demonstration for a prompt of one's own, rank 4 outputs of the model with the keyboard alone
// (ties, a quality score, a flag), auto-rank a few more with the simulated labeler, reload and
// find everything still there, export the rankings, then import a malformed JSONL and see its
// line and reason with nothing imported and nothing lost. Markup typed by the user stays text.
// And a checkpoint downloaded as one zip named after it (its Hugging Face folder) loads back, from
// its files or the zip itself (an incomplete one is refused, and so is the name "base").
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { Download, Locator, Page } from 'playwright-core';
import { collectPageErrors, openTab } from './harness.ts';
import { useLab } from './lab-hooks.ts';

const OWN_PROMPT = '<b>Name a red fruit.</b>';
const RESPONSE = 'An apple is a red fruit.';
/** Short responses keep sampling quick on SwiftShader. */
const LESSON = '?preset=micro&maxNewTokens=8';
const MODEL_TIMEOUT = 240_000;

const lab = useLab({ webgpu: true });

/** The outputs' letters in rank order, read from their accessible names ("Output B, rank 1 of 4"). */
async function rankedLetters(page: Page): Promise<string[]> {
  const labels = await page
    .getByTestId('ranked-output')
    .evaluateAll((items) => items.map((item) => item.getAttribute('aria-label') ?? ''));
  return labels.map((label) => /^Output ([A-I]),/.exec(label)?.[1] ?? '?');
}

const progressText = (page: Page) => page.getByTestId('rank-progress').textContent();

async function readDownload(download: Download): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function pressOn(locator: Locator, key: string): Promise<void> {
  await locator.focus();
  await locator.press(key);
}

describe('lab data in the browser', () => {
  it('keeps demonstrations and rankings (human and simulated) across a reload, and rejects a malformed import whole', async () => {
    const context = await lab.browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=demonstrations`);

    // The seven panels are tabs; the URL's panel is open.
    const tabs = await page.getByRole('tab').allTextContents();
    expect(tabs.map((t) => t.replace(/^\d+\s*/, ''))).toEqual([
      'Model',
      'Demonstrations',
      'Rank',
      'Reward model',
      'PPO',
      'Evaluate',
      'Data',
    ]);
    await page.getByRole('heading', { name: 'Demonstrations', level: 2 }).waitFor();

    // A demonstration for a prompt of one's own.
    await page.getByLabel('Your own prompt').fill(OWN_PROMPT);
    await page.getByRole('button', { name: 'Add prompt' }).click();
    await page.getByLabel('Response', { exact: true }).fill(RESPONSE);
    await page.getByRole('button', { name: 'Save demonstration' }).click();
    await expect.poll(() => page.getByText('Demonstration saved').count()).toBe(1);
    expect(await page.getByTestId('demonstration').first().textContent()).toContain(RESPONSE);

    // To the Rank tab with the keyboard: arrow keys move between tabs.
    await pressOn(page.getByRole('tab', { name: 'Demonstrations' }), 'ArrowRight');
    await page.getByRole('heading', { name: 'Rank', level: 2 }).waitFor();
    expect(page.url()).toContain('panel=rank');
    expect(await page.getByTestId('rank-prompt').textContent()).toBe(OWN_PROMPT);

    // Rank 4 outputs by keyboard only.
    const sample = page.getByRole('button', { name: 'Sample 4 outputs' });
    await sample.waitFor({ timeout: MODEL_TIMEOUT });
    await expect.poll(() => sample.isEnabled(), { timeout: MODEL_TIMEOUT }).toBe(true);
    await pressOn(sample, 'Enter');
    await page.getByTestId('ranked-output').nth(3).waitFor({ timeout: MODEL_TIMEOUT });
    expect(await rankedLetters(page)).toEqual(['A', 'B', 'C', 'D']);
    await pressOn(page.getByTestId('ranked-output').first(), 'Alt+ArrowDown');
    await page.keyboard.press('Alt+ArrowDown'); // focus follows the moved output
    expect(await rankedLetters(page)).toEqual(['B', 'C', 'A', 'D']);
    await page.keyboard.press('ArrowDown'); // focus to D, rank 4
    await page.keyboard.press('Alt+ArrowUp');
    expect(await rankedLetters(page)).toEqual(['B', 'C', 'D', 'A']);
    // The move buttons keep the focus, so pressing one again moves the same output further.
    await pressOn(page.getByRole('button', { name: 'Move output B down' }), 'Enter');
    expect(await rankedLetters(page)).toEqual(['C', 'B', 'D', 'A']);
    await page.keyboard.press('Enter');
    expect(await rankedLetters(page)).toEqual(['C', 'D', 'B', 'A']);
    await pressOn(page.getByRole('button', { name: 'Move output B up' }), 'Enter');
    expect(await rankedLetters(page)).toEqual(['C', 'B', 'D', 'A']);
    // D is as good as B above it; a quality score for every output; A fails to follow.
    await pressOn(page.getByLabel('Output D is as good as the one above'), 'Space');
    for (const [letter, score] of [
      ['A', '2'],
      ['B', '5'],
      ['C', '6'],
      ['D', '5'],
    ])
      await pressOn(page.getByLabel(`Quality of output ${letter} (1–7)`), score);
    const outputA = page.getByRole('listitem', { name: /^Output A,/ });
    await pressOn(outputA.locator('summary'), 'Enter');
    await pressOn(outputA.getByLabel('Fails to follow the instruction'), 'Space');
    await pressOn(page.getByRole('button', { name: 'Submit ranking' }), 'Enter');
    await expect.poll(() => page.getByText(`Ranking saved for “${OWN_PROMPT}”.`).count()).toBe(1);
    const human = page.locator('[data-testid="saved-ranking"][data-source="human"]');
    expect(await human.count()).toBe(1);
    expect(await human.locator('.order-text').textContent()).toBe('C > B = D > A');

    // The next prompt's outputs are sampled without another click; then auto-rank a few more.
    await page.getByTestId('ranked-output').nth(3).waitFor({ timeout: MODEL_TIMEOUT });
    await page.getByLabel('Prompts to auto-rank').fill('3');
    const autoRank = page.getByRole('button', { name: 'Auto-rank 3 prompts' });
    await expect.poll(() => autoRank.isEnabled(), { timeout: MODEL_TIMEOUT }).toBe(true);
    await autoRank.click();
    expect(await page.getByTestId('auto-rank-progress').textContent()).toMatch(
      /Ranked 0 of 3: sampling 4 outputs for each of the next 3 prompts/,
    );
    await expect
      .poll(() => page.getByText('The simulated labeler ranked 3 more prompts.').count(), { timeout: MODEL_TIMEOUT })
      .toBe(1);
    expect(await progressText(page)).toContain('4 / 50 ranked (1 by people, 3 simulated)');
    expect(await page.locator('[data-testid="saved-ranking"][data-source="simulated"]').count()).toBe(3);

    // Reload: everything is still there, and the lesson (panel, preset) is still in the URL.
    await page.reload();
    await page.getByRole('heading', { name: 'Rank', level: 2 }).waitFor();
    await expect.poll(() => progressText(page)).toContain('4 / 50 ranked (1 by people, 3 simulated)');
    expect(await human.locator('.order-text').textContent()).toBe('C > B = D > A');
    expect(page.url()).toMatch(/preset=micro/);
    await openTab(page, 'Demonstrations');
    expect(await page.getByTestId('demonstration').first().textContent()).toContain(RESPONSE);
    // The prompt's markup is shown as text, never parsed.
    expect(await page.getByTestId('demonstration').first().textContent()).toContain(OWN_PROMPT);
    expect(await page.locator('.demonstrations b').count()).toBe(0);

    // A malformed JSONL: a clear error (line and reason), nothing imported, nothing lost.
    // The human ranking exports whole, with its ties, quality scores and flags.
    await openTab(page, 'Data');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export rankings' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('rankings.jsonl');
    const exported = (await readDownload(download))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(exported.map((r) => r.source)).toEqual(['human', 'simulated', 'simulated', 'simulated']);
    expect(exported[0]).toMatchObject({
      prompt: OWN_PROMPT,
      order: [2, 1, 3, 0],
      ties: [[1, 2]],
      likert: [2, 5, 6, 5],
      flags: [{ failsToFollow: true }, {}, {}, {}],
    });

    const malformed = '{"prompt":"Name a pet.","completion":"A cat."}\n{"prompt":"Name a tree."}\n';
    await page
      .getByLabel('Import demonstrations (JSONL)')
      .setInputFiles({ name: 'broken.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(malformed) });
    const alert = page.getByTestId('import-error');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      'Nothing was imported from broken.jsonl: line 2: missing "completion" (keys present: prompt)',
    );
    await openTab(page, 'Demonstrations');
    expect(await page.getByTestId('demonstration').count()).toBe(1);
    await openTab(page, 'Rank');
    expect(await progressText(page)).toContain('4 / 50 ranked');

    expect(errors).toEqual([]);
    await context.close();
  });

  it('downloads a checkpoint as one zip of its Hugging Face folder and loads it back', async () => {
    const context = await lab.browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=data`);
    const download = page.getByRole('button', { name: 'Download checkpoint base' });
    await download.waitFor({ timeout: MODEL_TIMEOUT });
    const [zip] = await Promise.all([page.waitForEvent('download'), download.click()]);
    expect(zip.suggestedFilename()).toBe('base.zip');
    const entries = Object.entries(unzipSync(new Uint8Array(await readDownload(zip))));
    expect(entries.map(([name]) => name).sort()).toEqual([
      'base/config.json',
      'base/model.safetensors',
      'base/tokenizer.json',
      'base/tokenizer_config.json',
    ]);
    const files = new Map(entries.map(([name, content]) => [name.slice('base/'.length), Buffer.from(content)]));

    // Two of the three files: a clear error, nothing loaded.
    const chooser = page.getByLabel('Checkpoint files');
    const payload = (name: string) => ({ name, mimeType: 'application/octet-stream', buffer: files.get(name)! });
    await page.getByLabel('Checkpoint name').fill('copy');
    await chooser.setInputFiles([payload('model.safetensors'), payload('config.json')]);
    await page.getByRole('button', { name: 'Load checkpoint', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'missing tokenizer.json' }).count()).toBe(1);

    await chooser.setInputFiles([payload('model.safetensors'), payload('config.json'), payload('tokenizer.json')]);
    await page.getByRole('button', { name: 'Load checkpoint', exact: true }).click();
    await expect.poll(() => page.getByText('Loaded checkpoint copy.').count(), { timeout: MODEL_TIMEOUT }).toBe(1);
    await page.getByRole('button', { name: 'Download checkpoint copy' }).waitFor();

    // The zip itself loads too, named after its file: "base" is refused (the shipped base is never replaced), another name loads.
    await chooser.setInputFiles({ name: 'base.zip', mimeType: 'application/zip', buffer: await readDownload(zip) });
    expect(await page.getByLabel('Checkpoint name').inputValue()).toBe('base');
    await page.getByRole('button', { name: 'Load checkpoint', exact: true }).click();
    await expect
      .poll(() =>
        page
          .getByRole('alert')
          .filter({ hasText: '"base" is the shipped base model, which an import never replaces' })
          .count(),
      )
      .toBe(1);
    await page.getByLabel('Checkpoint name').fill('from-zip');
    await page.getByRole('button', { name: 'Load checkpoint', exact: true }).click();
    await expect.poll(() => page.getByText('Loaded checkpoint from-zip.').count(), { timeout: MODEL_TIMEOUT }).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});

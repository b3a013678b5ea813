// A whole lesson as one zip, across two browser profiles (micro preset, Chromium on SwiftShader):
// a teacher writes a demonstration, trains SFT on it, auto-ranks a prompt and exports the lesson
// bundle; a fresh profile opened with other settings imports it — asked first before the lesson
// settings change — and finds the demonstration, the ranking, the SFT run with its curve and the
// checkpoint, which export again byte for byte. Importing it again lists the existing checkpoint
// and run: "keep mine" adds nothing, "replace" replaces them; a zip that is no lesson is refused
// with its name and what to do.
import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { collectPageErrors, openTab } from './harness.ts';
import { useLab } from './lab-hooks.ts';

const LESSON = '?preset=micro&maxNewTokens=8&sftEpochs=1&K=3';
/** The teacher's link names β as links did before PPO took one name per setting: it still loads. */
const TEACHER_LESSON = `${LESSON}&beta=0.05`;
const PROMPT = '<i>Name a red fruit.</i>';
const RESPONSE = 'An apple is a red fruit.';
const GPU_TIMEOUT = 300_000;

const lab = useLab({ webgpu: true });

async function readDownload(download: Download): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

async function importBundle(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  await page
    .getByLabel('Import lesson bundle (.zip)')
    .setInputFiles({ name, mimeType: 'application/zip', buffer: Buffer.from(bytes) });
}

const bundleStatus = (page: Page) => page.getByTestId('bundle-status').textContent();

/** The teacher's lesson: one demonstration, SFT trained on it, one auto-ranked prompt; returns the exported bundle. */
async function teacherBundle(): Promise<{ name: string; bytes: Uint8Array }> {
  const context = await lab.browser.newContext();
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${lab.url}${TEACHER_LESSON}&panel=demonstrations`);
  await page.getByLabel('Your own prompt').fill(PROMPT);
  await page.getByRole('button', { name: 'Add prompt' }).click();
  await page.getByLabel('Response', { exact: true }).fill(RESPONSE);
  await page.getByRole('button', { name: 'Save demonstration' }).click();
  const train = page.getByRole('button', { name: 'Train SFT on 1 demonstration' });
  await expect.poll(() => train.isEnabled(), { timeout: GPU_TIMEOUT }).toBe(true);
  await train.click();
  await expect
    .poll(() => page.getByTestId('sft-status').textContent(), { timeout: GPU_TIMEOUT })
    .toMatch(/checkpoint “sft” saved/);

  await openTab(page, 'Rank');
  await page.getByLabel('Prompts to auto-rank').fill('1');
  const autoRank = page.getByRole('button', { name: 'Auto-rank 1 prompts' });
  await expect.poll(() => autoRank.isEnabled(), { timeout: GPU_TIMEOUT }).toBe(true);
  await autoRank.click();
  await expect
    .poll(() => page.getByText('The simulated labeler ranked 1 more prompts.').count(), { timeout: GPU_TIMEOUT })
    .toBe(1);

  await openTab(page, 'Data');
  await expect.poll(() => page.getByRole('checkbox', { name: 'sft' }).isChecked()).toBe(true);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export lesson bundle' }).click(),
  ]);
  const bytes = await readDownload(download);
  expect(errors).toEqual([]);
  await context.close();
  return { name: download.suggestedFilename(), bytes };
}

describe('the lesson bundle', () => {
  it('carries a lesson into a fresh profile, asking before it replaces anything', { timeout: 1_200_000 }, async () => {
    const bundle = await teacherBundle();
    expect(bundle.name).toMatch(/^rlhf-lesson-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}\.zip$/);
    const entries = unzipSync(bundle.bytes);
    expect(JSON.parse(new TextDecoder().decode(entries['manifest.json']))).toMatchObject({
      format: 'rlhf-lab-lesson',
      version: 1,
      checkpoints: ['sft'],
    });
    expect(new TextDecoder().decode(entries['data/demonstrations.jsonl'])).toContain(RESPONSE);
    expect(Object.keys(entries).filter((name) => name.startsWith('checkpoints/base/'))).toEqual([]);

    // A fresh profile with other settings (no β): the settings change only once asked.
    const context = await lab.browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=data`);
    await page.getByRole('button', { name: 'Download checkpoint base' }).waitFor({ timeout: GPU_TIMEOUT });
    await importBundle(page, bundle.name, bundle.bytes);
    const question = page.getByRole('alertdialog', { name: 'Replace what this lab has?' });
    await question.waitFor();
    expect(await question.getByRole('listitem').allTextContents()).toEqual([
      'the lesson settings: KL coefficient β 0.02 → 0.05',
    ]);
    expect(page.url()).not.toContain('klCoef=');
    await question.getByRole('button', { name: 'Replace them' }).click();
    await expect
      .poll(() => bundleStatus(page), { timeout: GPU_TIMEOUT })
      .toBe(`Imported ${bundle.name}: 1 new demonstration, 1 new ranking, 1 run, checkpoint sft, its lesson settings.`);
    expect(page.url()).toContain('klCoef=0.05');
    expect(await page.locator('.runs li').first().textContent()).toMatch(/^sft .* — done, \d+ logged steps/);
    // The same data and checkpoint, byte for byte, as this profile exports them again.
    const download = async (button: string) => {
      const [file] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: button }).click(),
      ]);
      return readDownload(file);
    };
    expect(await download('Export demonstrations')).toEqual(entries['data/demonstrations.jsonl']);
    expect(await download('Export rankings')).toEqual(entries['data/rankings.jsonl']);
    const sft = unzipSync(await download('Download checkpoint sft'));
    for (const file of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json'])
      expect(sft[`sft/${file}`]).toEqual(entries[`checkpoints/sft/${file}`]);

    // Everything is there, the markup still text; the imported SFT run has its curve and checkpoint.
    await openTab(page, 'Demonstrations');
    expect(await page.getByTestId('demonstration').allTextContents()).toEqual([expect.stringContaining(RESPONSE)]);
    expect(await page.getByTestId('demonstration').first().textContent()).toContain(PROMPT);
    expect(await page.locator('.demonstrations i').count()).toBe(0);
    expect(await page.getByTestId('sft-status').textContent()).toMatch(/Done.*checkpoint “sft” saved/);
    expect(Number(await page.getByTestId('chart-SFT loss').getAttribute('data-points'))).toBeGreaterThan(0);
    await openTab(page, 'Rank');
    expect(await page.getByTestId('rank-progress').textContent()).toContain('1 / 50 ranked (0 by people, 1 simulated)');

    // Again: the existing checkpoint and run are listed; keeping them adds nothing twice.
    await openTab(page, 'Data');
    await importBundle(page, bundle.name, bundle.bytes);
    await question.waitFor();
    const listed = await question.getByRole('listitem').allTextContents();
    expect(listed).toEqual(['checkpoint “sft”', expect.stringMatching(/^the sft run of /)]);
    await question.getByRole('button', { name: 'Keep mine, import the rest' }).click();
    await expect
      .poll(() => bundleStatus(page), { timeout: GPU_TIMEOUT })
      .toBe(
        `Imported ${bundle.name}: 0 new demonstrations, 0 new rankings, 0 runs, no checkpoint. Kept yours: ${listed.join('; ')}.`,
      );

    // And replacing them replaces the checkpoint and the run, still without doubling the data.
    await importBundle(page, bundle.name, bundle.bytes);
    await question.getByRole('button', { name: 'Replace them' }).click();
    await expect
      .poll(() => bundleStatus(page), { timeout: GPU_TIMEOUT })
      .toBe(`Imported ${bundle.name}: 0 new demonstrations, 0 new rankings, 1 run, checkpoint sft.`);
    expect(await page.locator('.checkpoint-table tbody tr').allTextContents()).toEqual([
      expect.stringMatching(/^base/),
      expect.stringMatching(/^sft/),
    ]);

    // A zip that is no lesson: its name, what is wrong, what to do; nothing imported.
    await importBundle(page, 'notes.zip', zipSync({ 'notes.txt': strToU8('hello') }));
    await expect
      .poll(() => page.getByTestId('bundle-error').textContent())
      .toBe(
        'Nothing was imported: notes.zip: it has no manifest.json, so it is not a lesson bundle: choose the .zip exported with "Export lesson bundle" on the Data panel',
      );
    await openTab(page, 'Demonstrations');
    expect(await page.getByTestId('demonstration').count()).toBe(1);

    expect(errors).toEqual([]);
    await context.close();
  });
});

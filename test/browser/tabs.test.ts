// Two tabs of the lab on one browser profile (issue 17; micro preset, Chromium on SwiftShader):
// while one tab trains (holds the Web Lock the lab trains under) the other says so, refuses to
// train, and drops its notice once told training ended; data one tab imports appears in the
// other's lists without a reload. And the Data
// panel's imports: a file over the size limit is refused before it is read, invalid UTF-8 is
// refused with its line, identical outputs are counted as a tie, and a checkpoint is never imported
// over the shipped base or an existing name.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectPageErrors } from './harness.ts';
import { useLab } from './lab-hooks.ts';

const LESSON = '?preset=micro&maxNewTokens=8';
const MODEL_TIMEOUT = 240_000;
const lab = useLab({ webgpu: true });
const dir = mkdtempSync(join(tmpdir(), 'rlhf-tabs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The count shown beside a dataset on the Data panel, e.g. "Demonstrations (3)". */
async function datasetCount(page: Page, title: string): Promise<number> {
  const text = await page.locator('.dataset-row').filter({ hasText: title }).locator('.muted').first().textContent();
  return Number(/\((\d+)\)/.exec(text ?? '')?.[1]);
}

const demonstrationsJsonl = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Say ${i}.`, completion: `${i}.` })).join('\n');

describe('two tabs of the lab', () => {
  it('one trains at a time, and each sees what the other saved', async () => {
    const context = await lab.browser.newContext();
    const trainer = await context.newPage();
    const other = await context.newPage();
    const errors = [...collectPageErrors(trainer), ...collectPageErrors(other)];
    await trainer.goto(`${lab.url}${LESSON}&panel=data`);
    await other.goto(`${lab.url}${LESSON}&panel=demonstrations`);
    await trainer.getByRole('button', { name: 'Download checkpoint base' }).waitFor({ timeout: MODEL_TIMEOUT });

    // The first tab trains: it holds the lock the lab trains under, as a training tab does. A tab
    // opened meanwhile says so before anyone tries to train.
    await trainer.evaluate(
      () =>
        void navigator.locks.request(
          'rlhf-lab-training',
          () => new Promise((release) => Object.assign(window, { releaseTraining: release })),
        ),
    );
    await other.reload();
    await other.getByTestId('other-tab-training').waitFor({ timeout: MODEL_TIMEOUT });
    await other.getByLabel('Starter demonstrations').fill('4');
    await other.getByRole('button', { name: 'Add starter set' }).click();
    const train = other.getByRole('button', { name: /^Train SFT on 4 demonstrations$/ });
    await expect.poll(() => train.isEnabled(), { timeout: MODEL_TIMEOUT }).toBe(true);
    await train.click();
    await expect
      .poll(() => other.getByRole('alert').filter({ hasText: 'Another tab of the lab is training' }).count())
      .toBe(1);
    expect(
      await other
        .locator('.run-status')
        .filter({ hasText: /Done|Running/ })
        .count(),
    ).toBe(0);

    // The second tab's Data panel counts the first tab's starter set, then what the first tab imports.
    await other.getByRole('tab', { name: 'Data' }).click();
    await other.getByRole('heading', { name: 'Data', level: 2 }).waitFor();
    expect(await datasetCount(other, 'Demonstrations')).toBe(4);
    await trainer
      .getByText('Import demonstrations (JSONL)')
      .locator('input')
      .setInputFiles({
        name: 'more.jsonl',
        mimeType: 'application/jsonl',
        buffer: Buffer.from(demonstrationsJsonl(3)),
      });
    await expect.poll(() => trainer.getByText('Imported 3 demonstrations').count()).toBe(1);
    await expect.poll(() => datasetCount(other, 'Demonstrations')).toBe(7);

    // The first tab stops training (the lock released, the others told, as whileTraining does): the notice goes.
    await other.getByRole('tab', { name: 'Demonstrations' }).click();
    await trainer.evaluate(async () => {
      (window as unknown as { releaseTraining(): void }).releaseTraining();
      await navigator.locks.request('rlhf-lab-training', async () => undefined); // queued after the release: the lock is free
      new BroadcastChannel('rlhf-lab').postMessage('training');
    });
    await expect.poll(() => other.getByTestId('other-tab-training').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('imports on the Data panel', () => {
  it('refuses an oversized or non-UTF-8 file before importing, and never replaces the base or an existing checkpoint', async () => {
    const context = await lab.browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}${LESSON}&panel=data`);
    await page.getByRole('button', { name: 'Download checkpoint base' }).waitFor({ timeout: MODEL_TIMEOUT });
    const importDemonstrations = page.getByText('Import demonstrations (JSONL)').locator('input');

    const huge = join(dir, 'huge.jsonl'); // 65 MiB of nothing: refused by its size, never read
    writeFileSync(huge, '');
    truncateSync(huge, 65 * 2 ** 20);
    await importDemonstrations.setInputFiles(huge);
    await expect
      .poll(() => page.getByTestId('import-error').textContent())
      .toBe(
        `Nothing was imported from huge.jsonl: huge.jsonl has ${65 * 2 ** 20} bytes, over the 64 MiB it may have: check that it is the right file, or split it`,
      );

    const latin1 = Buffer.concat([
      Buffer.from('{"prompt": "a", "completion": "b"}\n{"prompt": "caf'),
      Buffer.from([0xe9]),
      Buffer.from('", "completion": "c"}\n'),
    ]);
    await importDemonstrations.setInputFiles({ name: 'latin1.jsonl', mimeType: 'application/jsonl', buffer: latin1 });
    await expect
      .poll(() => page.getByTestId('import-error').textContent())
      .toBe(
        'Nothing was imported from latin1.jsonl: latin1.jsonl: line 2 (byte 50) is not valid UTF-8: save the file as UTF-8',
      );
    expect(await datasetCount(page, 'Demonstrations')).toBe(0);

    // Identical outputs are a tie: a ranking of [A, B, A] holds 2 comparisons, not 3.
    const duplicates =
      '{"prompt": "Name a red fruit.", "responses": ["An apple.", "A pear.", "An apple."], "order": [0, 2, 1]}\n';
    await page
      .getByText('Import rankings (JSONL)')
      .locator('input')
      .setInputFiles({ name: 'dup.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(duplicates) });
    await expect.poll(() => page.getByText('Imported 1 rankings').count()).toBe(1);
    expect(await datasetCount(page, 'Comparisons')).toBe(2);

    // Checkpoint files are not even validated under a name that is taken.
    const payload = (name: string) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from('{}') });
    await page
      .getByLabel('Checkpoint files')
      .setInputFiles([payload('model.safetensors'), payload('config.json'), payload('tokenizer.json')]);
    await page.getByLabel('Checkpoint name').fill('base');
    await page.getByRole('button', { name: 'Load checkpoint', exact: true }).click();
    await expect
      .poll(() =>
        page
          .getByRole('alert')
          .filter({ hasText: '"base" is the shipped base model, which an import never replaces: choose another name' })
          .count(),
      )
      .toBe(1);
    expect(await page.locator('.checkpoint-table tbody tr').count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});

// Screenshots of the lab's seven panels for the README: serves the built app (dist/) with Vite's
// preview server, drives Debian's Chromium (WebGPU on SwiftShader, as the browser tests do) through
// a short micro-preset lesson — starter demonstrations and SFT, auto-ranking, the reward model, a
// few PPO iterations, a blind A/B pair and the held-out labeler's table — and saves one PNG per
// panel at a laptop viewport, and the Rank panel at a phone's (rank-phone.png). A tool, not a test.
//   npm run build && npx tsx tools/screenshots.ts [--out docs/screenshots]
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { collectPageErrors, launchChromium, openTab, startPreviewServer } from '../test/browser/harness.ts';

/** Short responses, a few SFT and reward-model steps (enough for curves), two episodes per PPO iteration. */
const LESSON = '?preset=micro&maxNewTokens=12&sftEpochs=4&rmEpochs=4&ppoBatch=2&ppoEpochs=1&K=3';
const VIEWPORT = { width: 1280, height: 800 };
const PHONE_VIEWPORT = { width: 390, height: 844 };
const GPU_TIMEOUT = 600_000;
/** The micro base model loads in seconds; longer means the page is stuck. */
const LOAD_TIMEOUT = 120_000;
const PPO_ITERATIONS = 4;

function outputDirectory(argv: string[]): string {
  const at = argv.indexOf('--out');
  return at >= 0 && argv[at + 1] ? argv[at + 1] : 'docs/screenshots';
}

/** Polls `read` until `done` holds for its value (SwiftShader makes every GPU step slow). */
async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeout = GPU_TIMEOUT,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const text = (locator: Locator) => locator.textContent().then((t) => t ?? '');
const statusText = (page: Page, kind: string) => text(page.getByTestId(`${kind}-status`));
const chartPoints = async (page: Page, title: string) =>
  Number(await page.getByTestId(`chart-${title}`).getAttribute('data-points'));

async function shoot(page: Page, out: string, name: string): Promise<void> {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`${path}: ${Math.round(statSync(path).size / 1024)} KB`);
}

async function lesson(page: Page, out: string): Promise<void> {
  // Demonstrations: the starter set, then SFT with its live loss curve.
  await page.getByLabel('Starter demonstrations').fill('4');
  await page.getByRole('button', { name: 'Add starter set' }).click();
  const train = page.getByRole('button', { name: /^Train SFT on 4 demonstrations$/ });
  await train.waitFor({ timeout: LOAD_TIMEOUT });
  await until(() => train.isEnabled(), Boolean, 'the SFT button', LOAD_TIMEOUT);
  await train.click();
  await until(
    () => statusText(page, 'sft'),
    (s) => /Done.*checkpoint “sft” saved/.test(s),
    'SFT',
  );
  await shoot(page, out, 'demonstrations');

  // Rank: the simulated labeler ranks a few prompts, then a fresh set of outputs waits for a person.
  await openTab(page, 'Rank');
  await page.getByLabel('Prompts to auto-rank').fill('6');
  await page.getByRole('button', { name: 'Auto-rank 6 prompts' }).click();
  await until(
    () => page.getByText('The simulated labeler ranked 6 more prompts.').count(),
    (n) => n === 1,
    'auto-ranking',
  );
  const sample = page.getByRole('button', { name: /^Sample \d+ outputs$/ });
  await until(() => sample.isEnabled(), Boolean, 'the sample button');
  await sample.click();
  await page.getByTestId('ranked-output').first().waitFor({ timeout: GPU_TIMEOUT });
  await shoot(page, out, 'rank');
  // The same board on a phone: stacked outputs, large move buttons.
  await page.setViewportSize(PHONE_VIEWPORT);
  await page.getByTestId('ranked-output').first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(out, 'rank-phone.png') });
  await page.setViewportSize(VIEWPORT);

  // Reward model: train it, score a response.
  await openTab(page, 'Reward model');
  await page.getByRole('button', { name: 'Train reward model' }).click();
  await until(
    () => statusText(page, 'reward_model'),
    (s) => s.includes('Done'),
    'reward model training',
  );
  await page.getByRole('button', { name: 'Score', exact: true }).click();
  await until(
    () => text(page.getByTestId('rm-score')),
    (s) => /Reward: -?\d+\.\d{3}/.test(s),
    'a reward score',
  );
  await shoot(page, out, 'reward-model');

  // PPO: run a few iterations so the curves and the samples table fill in, then pause.
  await openTab(page, 'PPO');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await until(
    () => chartPoints(page, 'Reward'),
    (n) => n >= PPO_ITERATIONS,
    `${PPO_ITERATIONS} PPO iterations`,
  );
  await page.getByRole('button', { name: 'Pause' }).click();
  await until(
    () => statusText(page, 'ppo'),
    (s) => /Paused.*checkpoint “policy” saved/.test(s),
    'PPO to pause',
  );
  await shoot(page, out, 'ppo');

  // Evaluate: the held-out labeler's table, and a blind A/B pair (policy vs base) waiting for a judgment.
  await openTab(page, 'Evaluate');
  await page.getByLabel('Held-out prompts').fill('10');
  await page.getByRole('button', { name: 'Evaluate with the held-out labeler' }).click();
  await page.getByTestId('evaluation-table').waitFor({ timeout: GPU_TIMEOUT });
  await page.getByLabel('Model B').selectOption('base');
  await page.getByLabel('Prompts', { exact: true }).fill('2');
  await page.getByRole('button', { name: 'Start blind comparison' }).click();
  await page.getByTestId('blind-pair').waitFor({ timeout: GPU_TIMEOUT });
  await shoot(page, out, 'evaluate');

  // Model: the checkpoints the lesson made, and a sample from the PPO policy.
  await openTab(page, 'Model');
  await page.getByLabel('Sample from').selectOption('policy');
  await page.getByRole('button', { name: 'Sample', exact: true }).click();
  await page.getByTestId('sample').first().waitFor({ timeout: GPU_TIMEOUT });
  await shoot(page, out, 'model');

  await openTab(page, 'Data');
  await shoot(page, out, 'data');
}

async function main(): Promise<void> {
  const out = outputDirectory(process.argv.slice(2));
  mkdirSync(out, { recursive: true });
  const { server, url } = await startPreviewServer();
  const browser = await launchChromium({ webgpu: true });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors = collectPageErrors(page);
    await page.goto(`${url}${LESSON}&panel=demonstrations`);
    await page.getByRole('heading', { name: 'Demonstrations', level: 2 }).waitFor();
    await lesson(page, out).catch(async (error: unknown) => {
      await page.screenshot({ path: join(out, 'failed.png'), fullPage: true });
      throw error;
    });
    if (errors.length > 0) console.warn(`page errors:\n${errors.join('\n')}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();

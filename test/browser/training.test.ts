// The lab's training loop as a user drives it (micro preset, Chromium on SwiftShader): add the
// starter demonstrations and train SFT (live loss curve), auto-rank outputs of the SFT model,
// train the reward model (train / held-out accuracy), step and run PPO and watch its curves and
// samples table update, reload mid-run and resume from the saved policy, pause, judge a blind A/B pair and get the held-out labeler's table; then
// reload and find the checkpoints and the PPO run still there. Step counts are tiny: SwiftShader
// is slow.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectPageErrors, openTab } from './harness.ts';
import { useLab } from './lab-hooks.ts';

/** Short responses, one epoch, two episodes per PPO iteration. */
const LESSON = '?preset=micro&maxNewTokens=8&sftEpochs=1&batchSize=2&ppoEpochs=1&K=3';
const GPU_TIMEOUT = 300_000;

const lab = useLab({ webgpu: true });

const statusText = (page: Page, kind: string) => page.getByTestId(`${kind}-status`).textContent();

/** The run's status line once it matches `expected`; fails at once, with the page's error, if the run failed. */
async function waitForStatus(page: Page, kind: string, expected: RegExp): Promise<void> {
  await expect
    .poll(
      async () => {
        const text = (await statusText(page, kind)) ?? '';
        if (text.includes('Failed'))
          throw new Error(`${kind} run failed: ${await page.locator('.run-status [role=alert]').allTextContents()}`);
        return text;
      },
      { timeout: GPU_TIMEOUT },
    )
    .toMatch(expected);
}
const chartPoints = async (page: Page, title: string) =>
  Number(await page.getByTestId(`chart-${title}`).getAttribute('data-points'));

describe('training in the browser', () => {
  it(
    'goes from the base model to SFT, a reward model and PPO, and keeps it all across a reload',
    { timeout: 1_800_000 },
    async () => {
      const context = await lab.browser.newContext();
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${lab.url}${LESSON}&panel=demonstrations`);
      await page.getByRole('heading', { name: 'Demonstrations', level: 2 }).waitFor();

      // SFT on a few starter demonstrations, with a live loss curve.
      await page.getByLabel('Starter demonstrations').fill('4');
      await page.getByRole('button', { name: 'Add starter set' }).click();
      const train = page.getByRole('button', { name: /^Train SFT on 4 demonstrations$/ });
      await expect.poll(() => train.isEnabled(), { timeout: GPU_TIMEOUT }).toBe(true);
      await train.click();
      await waitForStatus(page, 'sft', /Done.*checkpoint “sft” saved/);
      expect(await chartPoints(page, 'SFT loss')).toBeGreaterThan(0);

      // Rankings of the SFT model's outputs by the simulated labeler.
      await openTab(page, 'Rank');
      await page.getByLabel('Prompts to auto-rank').fill('4');
      await page.getByRole('button', { name: 'Auto-rank 4 prompts' }).click();
      await expect
        .poll(() => page.getByText('The simulated labeler ranked 4 more prompts.').count(), { timeout: GPU_TIMEOUT })
        .toBe(1);

      // The reward model: live curves, then train and held-out accuracy.
      await openTab(page, 'Reward model');
      expect(await page.getByTestId('rm-rankings').textContent()).toContain('4 rankings: 3 to train on, 1 held out');
      await page.getByRole('button', { name: 'Train reward model' }).click();
      await waitForStatus(page, 'reward_model', /Done/);
      expect(await page.getByTestId('rm-accuracy').textContent()).toMatch(
        /training comparisons: \d+\.\d%; on held-out comparisons: \d+\.\d%/,
      );
      await page.getByRole('button', { name: 'Score', exact: true }).click();
      await expect
        .poll(() => page.getByTestId('rm-score').textContent(), { timeout: GPU_TIMEOUT })
        .toMatch(/Reward: -?\d+\.\d{3}/);

      // PPO: one step, then run until a few iterations are on the curves, then pause.
      await openTab(page, 'PPO');
      await page.getByRole('button', { name: 'Step' }).click();
      await expect
        .poll(() => page.getByTestId('ppo-samples').getAttribute('data-iteration'), { timeout: GPU_TIMEOUT })
        .toBe('0');
      await waitForStatus(page, 'ppo', /Paused/);
      expect(await page.getByTestId('ppo-samples').locator('tbody tr').count()).toBeGreaterThan(0);
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect.poll(() => chartPoints(page, 'Reward'), { timeout: GPU_TIMEOUT }).toBeGreaterThanOrEqual(4);
      expect(await page.getByTestId('ppo-samples').getAttribute('data-iteration')).not.toBe('0');

      // Reload in the middle of the run: it resumes from the last saved policy checkpoint.
      await page.reload();
      await page.getByRole('heading', { name: 'PPO', level: 2 }).waitFor();
      const resume = page.getByRole('button', { name: 'Resume PPO' });
      await resume.waitFor({ timeout: GPU_TIMEOUT });
      expect(await statusText(page, 'ppo')).toContain('reloaded during this run');
      await resume.click();
      const resumedAt = await chartPoints(page, 'Reward');
      expect(resumedAt).toBeGreaterThanOrEqual(3); // the policy was saved at iteration 3 (or later)
      await expect.poll(() => chartPoints(page, 'Reward'), { timeout: GPU_TIMEOUT }).toBeGreaterThan(resumedAt);
      await page.getByRole('button', { name: 'Pause' }).click();
      await waitForStatus(page, 'ppo', /Paused.*checkpoint “policy” saved/);
      const iterations = await chartPoints(page, 'KL to SFT');
      for (const title of ['Entropy', 'Clip fraction', 'Value loss', 'Explained variance', 'Response length'])
        expect(await chartPoints(page, title)).toBe(iterations);

      // Evaluate: a blind A/B judgment, and the held-out labeler's table.
      await openTab(page, 'Evaluate');
      await page.getByLabel('Prompts', { exact: true }).fill('1');
      await page.getByRole('button', { name: 'Start blind comparison' }).click();
      await page.getByTestId('blind-pair').waitFor({ timeout: GPU_TIMEOUT });
      await page.getByRole('button', { name: 'Response 1 is better' }).click();
      await expect
        .poll(() => page.getByTestId('blind-result').textContent())
        .toMatch(/policy preferred \d times, sft \d times/);
      await page.getByLabel('Held-out prompts').fill('2');
      await page.getByRole('button', { name: 'Evaluate with the held-out labeler' }).click();
      await page.getByTestId('evaluation-table').waitFor({ timeout: GPU_TIMEOUT });
      const models = await page.getByTestId('evaluation-table').locator('tbody th').allTextContents();
      expect(models).toEqual(expect.arrayContaining(['base', 'sft', 'policy']));

      // Reload: the checkpoints are back (saved in this browser) and the PPO run with its curves.
      await page.goto(`${lab.url}${LESSON}&panel=model`);
      for (const name of ['sft', 'reward_model', 'policy']) {
        await expect
          .poll(() => page.getByTestId(`checkpoint-${name}`).textContent(), { timeout: GPU_TIMEOUT })
          .toContain('in this browser');
      }
      await openTab(page, 'PPO');
      await expect.poll(() => chartPoints(page, 'Reward')).toBe(iterations);
      expect(await statusText(page, 'ppo')).toMatch(/Paused/);
      expect(errors).toEqual([]);
      await context.close();
    },
  );
});

// The first lesson as a new teacher meets it (micro preset, Chromium on SwiftShader): the guide on
// the first panel, the one-click quick demo through SFT, rankings, the reward model, PPO and the
// evaluation with each stage's phase on screen within 2 s of its start, and the summary at the end;
// the SFT curve with its held-out loss.
// Then the controls that must be safe: Pause says "Pausing…" until it has paused, a reload during
// PPO resumes at the iteration the page promised with its curves, Reset asks first, and Score
// answers (with a busy state) while the reward model's background job runs.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { collectPageErrors, openTab } from './harness.ts';
import { useLab } from './lab-hooks.ts';

/** Short responses, one epoch, two episodes per PPO iteration. */
const LESSON = '?preset=micro&maxNewTokens=8&sftEpochs=1&batchSize=2&ppoEpochs=1&K=3';
const GPU_TIMEOUT = 420_000;
/** Each stage must say what it is doing within this long of its start. */
const PHASE_WITHIN_MS = 2000;

/** What each stage of the demo says it is doing, once it says anything useful. */
const STAGE_PHASES: [string, RegExp][] = [
  ['Train the SFT model', /preparing|step \d+ of \d+/],
  ['Rank outputs (simulated labeler)', /sampling outputs for \d+ prompts/],
  ['Train the reward model', /preparing|step \d+ of \d+/],
  ['Run PPO', /iteration \d+: sampling answers, scoring them/],
  ['Evaluate base, SFT and PPO', /\w/],
];

const lab = useLab({ webgpu: true });

const statusText = async (page: Page, kind: string) => (await page.getByTestId(`${kind}-status`).textContent()) ?? '';
const chartPoints = async (page: Page, title: string) =>
  Number(await page.getByTestId(`chart-${title}`).getAttribute('data-points'));

/** Records, in the page, when each demo stage became current and when it first said what it does. */
async function recordDemoPhases(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, { startedAt: number; activities: { at: number; text: string }[] }> = {};
    (window as unknown as { demoPhases: typeof seen }).demoPhases = seen;
    const record = () => {
      const current = document.querySelector('[data-testid="quick-demo-progress"] li[data-state="current"]');
      if (!current) return;
      const activity = current.querySelector('[data-testid="quick-demo-activity"]')?.textContent ?? '';
      const stage = (current.textContent ?? '').replace(activity, '').replace('▶', '').trim();
      const entry = (seen[stage] ??= { startedAt: performance.now(), activities: [] });
      if (entry.activities.at(-1)?.text !== activity)
        entry.activities.push({ at: performance.now() - entry.startedAt, text: activity });
    };
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
}

async function waitForPpoStatus(page: Page, expected: RegExp): Promise<void> {
  await expect.poll(() => statusText(page, 'ppo'), { timeout: GPU_TIMEOUT }).toMatch(expected);
}

describe('the first lesson', () => {
  it('sends the quick demo to micro from the small model on a CPU adapter', async () => {
    const page = await lab.browser.newPage();
    await page.goto(lab.url);
    const toMicro = page.getByRole('link', { name: 'open the lab on micro' });
    await toMicro.waitFor({ timeout: GPU_TIMEOUT });
    expect(await toMicro.getAttribute('href')).toBe('?preset=micro');
    await page.getByTestId('model-summary').waitFor({ timeout: GPU_TIMEOUT });
    expect(await page.getByRole('button', { name: /Run the quick demo/ }).count()).toBe(0); // SwiftShader is no fast GPU
    await page.close();
  });

  it(
    'runs the quick demo from the first load to the summary, saying what each stage does',
    { timeout: 1_800_000 },
    async () => {
      const context = await lab.browser.newContext();
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await page.goto(`${lab.url}${LESSON}`);

      // The guide explains the first panel and offers the quick demo.
      const guide = page.getByTestId('lesson-guide');
      expect(await guide.textContent()).toContain('What to do now');
      const start = page.getByRole('button', { name: 'Run the quick demo' });
      await expect.poll(() => start.isEnabled(), { timeout: GPU_TIMEOUT }).toBe(true);
      await recordDemoPhases(page);
      await start.click();

      await expect
        .poll(() => page.getByTestId('quick-demo-progress').textContent(), { timeout: 1_500_000, interval: 2000 })
        .toContain('The quick demo is done.');
      expect(await page.getByTestId('quick-demo-progress').getByRole('alert').count()).toBe(0);
      const phases = await page.evaluate(
        () =>
          (window as unknown as { demoPhases: Record<string, { activities: { at: number; text: string }[] }> })
            .demoPhases,
      );
      for (const [stage, phase] of STAGE_PHASES) {
        const said = phases[stage]?.activities.find((a) => phase.test(a.text));
        expect(said, `${stage}: ${JSON.stringify(phases[stage])}`).toBeDefined();
        expect(said!.at, `${stage} said what it does only after ${said!.at} ms`).toBeLessThan(PHASE_WITHIN_MS);
      }
      // Inside an iteration PPO names its phase: sampling, scoring, then each epoch's minibatches.
      const ppoSaid = phases['Run PPO'].activities.map((a) => a.text).join('\n');
      expect(ppoSaid).toMatch(/iteration 1: sampling answers from the policy/);
      expect(ppoSaid).toMatch(/iteration 1: scoring them: reward model, reference and value passes/);
      expect(ppoSaid).toMatch(/iteration \d+: PPO epoch \d+ of \d+, minibatch \d+ of \d+/);

      // The demo ends on the Evaluate panel with the summary: the evaluation with what each number
      // means, and answers before and after PPO.
      await page.getByRole('heading', { name: 'Evaluate', level: 2 }).waitFor();
      const summary = page.getByTestId('lesson-summary');
      await summary.waitFor();
      expect(await summary.textContent()).toMatch(/8 demonstrations.*8 rankings.*chance is 50%.*2 PPO iterations/s);
      expect(await page.getByTestId('summary-table').locator('tbody tr').count()).toBe(4);
      expect(await page.getByTestId('summary-before-after').locator('tbody tr').count()).toBeGreaterThan(0);

      // The SFT curve shows the held-out loss beside the smoothed training loss.
      await openTab(page, 'Demonstrations');
      expect(await page.getByTestId('chart-SFT loss').getAttribute('aria-label')).toMatch(
        /smoothed \d.*held-out loss \d/,
      );

      // Score answers, busy first, while the reward model's background job (its mistakes) runs.
      await openTab(page, 'Reward model');
      await page.getByRole('button', { name: 'Find the comparisons it gets wrong' }).click();
      // The busy label may last less than a poll when the worker is quick, so a MutationObserver
      // records whether the button ever said 'Scoring…' between the click and the reward.
      await page.evaluate(() => {
        const seen = window as unknown as { sawScoring: boolean };
        seen.sawScoring = false;
        new MutationObserver(() => {
          if ([...document.querySelectorAll('button')].some((button) => button.textContent === 'Scoring…'))
            seen.sawScoring = true;
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      await page.getByRole('button', { name: 'Score', exact: true }).click();
      await expect
        .poll(() => page.getByTestId('rm-score').textContent(), { timeout: GPU_TIMEOUT })
        .toMatch(/Reward: -?\d+\.\d{3}/);
      expect(await page.evaluate(() => (window as unknown as { sawScoring: boolean }).sawScoring)).toBe(true);

      // Pause says so until the iteration in progress ends.
      await openTab(page, 'PPO');
      expect(await chartPoints(page, 'Reward')).toBe(2);
      await page.getByRole('button', { name: 'Continue' }).click();
      await waitForPpoStatus(page, /Running/);
      await page.getByRole('button', { name: 'Pause' }).click();
      expect(await statusText(page, 'ppo')).toContain('Pausing after this iteration…');
      expect(await page.getByRole('button', { name: 'Pausing…' }).isDisabled()).toBe(true);
      await waitForPpoStatus(page, /Paused.*checkpoint “policy” saved/);
      const pausedAt = await chartPoints(page, 'Reward');
      expect(pausedAt).toBe(3);

      // A reload during an iteration resumes after the iteration the page names, with its curves.
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect.poll(() => chartPoints(page, 'Reward'), { timeout: GPU_TIMEOUT }).toBe(pausedAt + 1);
      await page.reload();
      await page.getByRole('heading', { name: 'PPO', level: 2 }).waitFor();
      const resume = page.getByRole('button', { name: 'Resume PPO' });
      await resume.waitFor({ timeout: GPU_TIMEOUT });
      const promised = Number(
        (await statusText(page, 'ppo')).match(/Resume PPO carries on after iteration (\d+)/)?.[1],
      );
      expect(promised).toBe(pausedAt + 1);
      expect(await chartPoints(page, 'Reward')).toBe(promised);
      await resume.click();
      expect(await chartPoints(page, 'Reward')).toBe(promised);
      await expect.poll(() => chartPoints(page, 'Reward'), { timeout: GPU_TIMEOUT }).toBe(promised + 1);
      await page.getByRole('button', { name: 'Pause' }).click();
      await waitForPpoStatus(page, /Paused/);
      const iterations = await chartPoints(page, 'Reward');

      // Reset asks first; keeping the run keeps its curves.
      await page.getByRole('button', { name: 'Reset' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Reset PPO?' });
      expect(await confirm.textContent()).toContain('the saved “policy” checkpoint stays');
      await confirm.getByRole('button', { name: 'Keep the run' }).click();
      expect(await chartPoints(page, 'Reward')).toBe(iterations);
      await page.getByRole('button', { name: 'Reset' }).click();
      await page.getByRole('button', { name: 'Yes, reset' }).click();
      await expect.poll(() => page.getByText('No PPO run yet.').count()).toBe(1);
      expect(errors).toEqual([]);
      await context.close();
    },
  );
});

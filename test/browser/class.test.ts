// A class ranks together (issue 21). In a context without WebGPU the teacher makes a pack of the
// micro model's outputs (sampled with onnxruntime-web) and gets its link and file. Three students,
// each in their own browser context (one at phone size with touch, who reloads half-way), open a
// pack by its link, rank every prompt on the ranking board and hand in — one downloads the rankings
// file, two copy the text code — with no model fetched; pack text that looks like HTML stays text.
// The teacher opens the pack file on the Rank panel, adds the hand-ins (files and codes, one handed
// in twice, one too large), reads the merge and its agreement matrix, leaves a student out and adds
// the merged rankings to the lab; the reward model trains on them (WebGPU on SwiftShader) and says
// whose rankings it learned from.
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Download, Page } from 'playwright-core';
import {
  makePack,
  packLink,
  packToJson,
  readHandIn,
  readPack,
  type RankingPack,
} from '../../src/rlhf/ranking-packs.ts';
import { buildPromptSet, candidateResponses, createRng } from '../../src/world/index.ts';
import { collectPageErrors, openTab } from './harness.ts';
import { useLab } from './lab-hooks.ts';

// WebGPU on (SwiftShader) for the teacher's reward model; students' contexts remove navigator.gpu.
const lab = useLab({ webgpu: true });

const HTML_OUTPUT = '<img src=x onerror="document.title=\'pwned\'">Bold <b>claim</b>';
const prompts = buildPromptSet(1).train.slice(0, 3);
const pack: RankingPack = makePack(
  'sft',
  1,
  prompts.map((p, i) => ({
    promptId: p.id,
    prompt: p.text,
    responses: [
      ...candidateResponses(p, createRng(`class-${p.id}`), 2).map((c) => c.text),
      i === 0 ? HTML_OUTPUT : `plain output ${i}`,
    ],
  })),
);

async function readDownload(download: Download): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A context without WebGPU (navigator.gpu removed), every request recorded. */
async function contextWithoutWebGpu(
  options: Parameters<typeof lab.browser.newContext>[0] = {},
): Promise<{ context: BrowserContext; requests: string[] }> {
  const context = await lab.browser.newContext(options);
  await context.addInitScript(() => {
    delete (Navigator.prototype as unknown as Record<string, unknown>).gpu;
  });
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  return { context, requests };
}

/**
 * Ranks every prompt: `moves` presses of "Move output A down" on each board, then saves (with
 * `reload`, the page is reloaded after the first and carries on at the second); hands in under the name.
 */
async function rankAndHandIn(page: Page, name: string, moves: number, reload = false): Promise<void> {
  await page.getByRole('heading', { name: 'Rank the outputs', level: 2 }).waitFor();
  for (let i = 0; i < pack.items.length; i++) {
    await expect.poll(() => page.getByTestId('rank-prompt').textContent()).toBe(pack.items[i].prompt);
    for (let m = 0; m < moves; m++) await page.getByRole('button', { name: 'Move output A down' }).click();
    await page.getByRole('button', { name: 'Save ranking', exact: true }).click();
    if (reload && i === 0) {
      await page.reload();
      await expect.poll(() => page.getByText('1 of 3 ranked').count()).toBe(1);
    }
  }
  await page.getByText('Every prompt is ranked').waitFor();
  await page.getByLabel('Your name or code').fill(name);
  await page.getByRole('button', { name: `Hand in ${pack.items.length} rankings` }).click();
  await page.getByTestId('hand-in').waitFor();
}

describe('a class ranks a pack together', () => {
  it("the teacher makes a pack of the micro model's outputs on the Rank panel and hands out its link and file", async () => {
    const teacher = await contextWithoutWebGpu();
    const page = await teacher.context.newPage();
    await page.goto(`${lab.url}?preset=micro&maxNewTokens=8&K=3&panel=rank`);
    await page.getByLabel('Prompts in the pack').fill('2');
    const make = page.getByRole('button', { name: 'Make a pack of 2 prompts × 3 outputs' });
    await expect.poll(() => make.isEnabled(), { timeout: 240_000 }).toBe(true);
    await make.click();
    const link = await page.getByTestId('pack-link').inputValue({ timeout: 240_000 });
    const made = await readPack(link);
    expect(made.items.map((item) => [item.promptId, item.responses.length])).toEqual([
      ['train-0000', 3],
      ['train-0001', 3],
    ]);
    expect(made).toMatchObject({ model: 'base', worldSeed: 1 });
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download pack-${made.id}.json` }).click(),
    ]);
    expect(await readPack(await readDownload(file))).toEqual(made);
    await teacher.context.close();
  });

  it('students rank by link and hand in; the teacher merges, reads the agreement, and the reward model trains on the merged rankings', async () => {
    const link = (await packLink(pack, lab.url))!;
    expect(link).toMatch(/#pack=/);
    const handIns: { name: string; text: string }[] = [];

    // Ada, on a laptop without WebGPU: downloads her rankings file
    const ada = await contextWithoutWebGpu();
    const adaPage = await ada.context.newPage();
    const adaErrors = collectPageErrors(adaPage);
    await adaPage.goto(link);
    await expect
      .poll(() => adaPage.getByTestId('pack-summary').textContent())
      .toContain(`Pack ${pack.id}: 3 prompts with 3 outputs each`);
    // the HTML-looking output is shown as text, nothing of it runs or renders as an element
    await expect.poll(() => adaPage.getByTestId('ranked-output').nth(2).textContent()).toContain(HTML_OUTPUT);
    expect(await adaPage.locator('.ranking-board img, .ranking-board b').count()).toBe(0);
    await rankAndHandIn(adaPage, 'Ada', 0);
    const [download] = await Promise.all([
      adaPage.waitForEvent('download'),
      adaPage.getByRole('button', { name: /^Download rankings-/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`rankings-${pack.id}-Ada.json`);
    handIns.push({ name: download.suggestedFilename(), text: await readDownload(download) });
    expect(await adaPage.title()).not.toBe('pwned');
    expect(adaErrors).toEqual([]);

    // Ben, at phone size with touch: reloads half-way, then copies his code
    const ben = await contextWithoutWebGpu({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const benPage = await ben.context.newPage();
    await benPage.goto(link);
    await rankAndHandIn(benPage, 'Ben', 1, true);
    handIns.push({ name: 'ben.txt', text: await benPage.getByTestId('hand-in-code').inputValue() });

    // Cy ranks at random-ish (A to the bottom) and uses an anonymous code
    const cy = await contextWithoutWebGpu();
    const cyPage = await cy.context.newPage();
    await cyPage.goto(link);
    await rankAndHandIn(cyPage, 'placeholder', 2);
    await cyPage.getByRole('button', { name: 'Use an anonymous code' }).click();
    const cyName = await cyPage.getByLabel('Your name or code').inputValue();
    expect(cyName).toMatch(/^student-[a-z2-9]{5}$/);
    await cyPage.getByRole('button', { name: 'Hand in 3 rankings' }).click();
    await expect
      .poll(async () => (await readHandIn(pack, await cyPage.getByTestId('hand-in-code').inputValue())).labeler)
      .toBe(cyName);
    const cyCode = await cyPage.getByTestId('hand-in-code').inputValue();

    // no student page fetched a model or a worker
    for (const requests of [ada.requests, ben.requests, cy.requests])
      expect(requests.filter((url) => /models\/|\.safetensors|\.onnx|worker/.test(url))).toEqual([]);
    const ada1 = await readHandIn(pack, handIns[0].text);
    expect(ada1.rankings.map((r) => r.order)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect((await readHandIn(pack, handIns[1].text)).rankings.map((r) => r.order)).toEqual([
      [1, 0, 2],
      [1, 0, 2],
      [1, 0, 2],
    ]);
    await Promise.all([ada.context.close(), ben.context.close(), cy.context.close()]);

    // the teacher, on the Rank panel
    const teacher = await lab.browser.newContext();
    const page = await teacher.newPage();
    await page.goto(`${lab.url}?preset=micro&panel=rank`);
    await page.getByRole('heading', { name: 'Rank with a class' }).waitFor();
    await page.getByTestId('open-pack-file').setInputFiles({
      name: `pack-${pack.id}.json`,
      mimeType: 'application/json',
      buffer: Buffer.from(packToJson(pack)),
    });
    await page.getByTestId('pack-share').waitFor();
    const teacherLink = await page.getByTestId('pack-link').inputValue();
    expect(teacherLink.startsWith(`${lab.url}#pack=`)).toBe(true); // Chromium's deflate may pick other bytes than Node's
    expect(await readPack(teacherLink)).toEqual(pack);
    const files = [
      ...handIns,
      { name: 'ada-again.json', text: handIns[0].text },
      { name: 'huge.json', text: 'x'.repeat(300_000) },
    ].map((f) => ({ name: f.name, mimeType: 'application/json', buffer: Buffer.from(f.text) }));
    await page.getByTestId('hand-in-files').setInputFiles(files);
    await page.getByLabel('Or their text codes, one per line').fill(`${cyCode}\nnot a code\n`);
    await page.getByRole('button', { name: 'Add the codes' }).click();
    await expect.poll(() => page.getByTestId('class-summary').textContent()).toBe('3 students, 9 rankings merged.');
    const refused = await page.getByRole('list', { name: 'Refused hand-ins' }).textContent();
    expect(refused).toContain('ada-again.json: Ada already handed in');
    expect(refused).toContain('huge.json: huge.json has 300000 bytes, over the 256 KiB it may have');
    expect(refused).toContain('code 6: not a code');
    // Ada and Ben agree on 2 of 3 comparisons per prompt; Cy's order (B > C > A) agrees with each on 1 or 2
    const matrix = page.getByRole('table', { name: 'Agreement between students' });
    expect(await matrix.getByRole('row').count()).toBe(4);
    expect(await matrix.locator('tbody tr').first().textContent()).toBe('Ada66.7%33.3%');
    expect(await page.getByTestId('class-agreement').textContent()).toMatch(
      /Students agree on \d+\.\d% .*the paper's labelers: 72\.6%/,
    );

    // leave Cy out, then add the merged rankings to the lab
    await page.getByRole('checkbox', { name: `Merge ${cyName}'s rankings` }).uncheck();
    await expect.poll(() => page.getByTestId('class-summary').textContent()).toBe('2 students, 6 rankings merged.');
    await page.getByRole('button', { name: "Add 6 rankings of 2 students to the lab's rankings" }).click();
    await page.getByText("Added 6 rankings of 2 students to the lab's rankings").waitFor();
    await openTab(page, 'Reward model');
    await expect
      .poll(() => page.getByTestId('rm-rankings').textContent())
      .toContain('6 rankings: 5 to train on, 1 held out to measure accuracy. By Ada (3), Ben (3).');
    const train = page.getByRole('button', { name: 'Train reward model' });
    await expect.poll(() => train.isEnabled(), { timeout: 240_000 }).toBe(true);
    await train.click();
    await expect
      .poll(() => page.getByTestId('reward_model-status').textContent(), { timeout: 300_000 })
      .toMatch(/Done|Failed/);
    expect(await page.getByTestId('reward_model-status').textContent()).toMatch(/Done/);
    expect(await page.getByTestId('rm-learned-from').textContent()).toMatch(
      /^The reward model learned from the rankings of (Ada \(3\), Ben \(2\)|Ben \(3\), Ada \(2\))\.$/,
    );
    await teacher.close();
  });
});

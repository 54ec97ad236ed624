// The service's page at GET / in a real browser (Debian's chromium, driven by playwright-core): it lists the
// models, and typing two lines, picking a model and clicking Translate shows what translate() gives, with the
// timing; an error from the service is shown on the page. Skipped, with the reason, where chromium is absent.
import test from 'ava';
import * as fs from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { serve, translate } from '../lib';
import { serveFixtures } from './helpers/serve-fixtures';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const why = CHROMIUM ? undefined : 'no chromium at /usr/bin/chromium (scripts/setup.sh installs it)';
if (why) console.warn(`[serve-browser.test] skipped: ${why}`);
const browserTest = why ? test.skip : test;

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Headless, in a container, with nothing reaching the network but the service under test.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

browserTest(`the page translates what is typed with the chosen model${why ? ` (skipped: ${why})` : ''}`, async (t) => {
  const f = await serveFixtures();
  const s = await serve(
    { xlm: { model: f.teacher, tokenizer: f.tokenizer }, bigru: { model: f.bigru, tokenizer: f.tokenizer } },
    { port: 0, log: null }
  );
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(s.url);
    await page.locator('#model option').nth(1).waitFor({ state: 'attached' });
    t.deepEqual(await page.locator('#model option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value)), ['xlm', 'bigru']);

    const lines = ['open the file', 'save'];
    await page.fill('#input', lines.join('\n'));
    await page.selectOption('#model', 'bigru');
    await page.fill('#beam', '3');
    await page.click('#go');
    await page.locator('#status', { hasText: 'sentence(s) in' }).waitFor();
    const want = await translate(f.bigru, lines, { tokenizer: f.tokenizer, beamSize: 3 });
    t.is(await page.locator('#output').innerText(), want.map((w) => w.text).join('\n'));
    t.regex(await page.locator('#status').innerText(), /^2 sentence\(s\) in \d+ ms$/);

    // A service error (beam above the limit) is shown as such, and the page still works after it.
    await page.fill('#beam', '20');
    await page.click('#go');
    await page.locator('#output.error').waitFor();
    t.regex(await page.locator('#output').innerText(), /beam must be at most 8/);
    await page.fill('#beam', '1');
    await page.click('#go');
    await page.locator('#status', { hasText: 'sentence(s) in' }).waitFor();
    const greedy = await translate(f.bigru, lines, { tokenizer: f.tokenizer, beamSize: 1 });
    t.is(await page.locator('#output').innerText(), greedy.map((w) => w.text).join('\n'));
  } finally {
    await browser.close();
    await s.close();
  }
});

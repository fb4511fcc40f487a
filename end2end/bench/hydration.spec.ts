import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { DATA_DIR } from '../playwright.config';
import { signIn } from '../tests/helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const DISPLAYS = 1_000;

// Issue 13's figure: how long /devices with 1,000 displays takes from
// navigation to hydrated, with the CPU slowed four times (Chromium's
// emulation, as a modest laptop or a signage PC would run it).
test('/devices with 1,000 displays: navigation to hydrated at 4x CPU slowdown', async ({ browser, playwright, baseURL }) => {
  const secret = execFileSync(
    path.join(ROOT, process.env.VIZORA_BIN ?? 'target/release/vizora'),
    ['token', 'add', '--name', 'hydration bench', '--role', 'editor', '--data-dir', path.join(ROOT, DATA_DIR)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  ).toString().trim().split('\n').pop()!.trim();
  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${secret}` } });
  const have = ((await (await api.get('/api/v1/devices')).json()) as { devices: unknown[] }).devices.length;
  for (let i = have; i < DISPLAYS; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, DISPLAYS - i) }, (_, k) =>
        api.post('/api/v1/devices', { data: { name: `Hydration ${String(i + k).padStart(4, '0')}`, timezone: 'Europe/Berlin' } }).then((r) => expect(r.status()).toBe(201)),
      ),
    );
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, undefined, '/settings');
  // When the hydrate entry marks the body, by the page's own clock.
  await context.addInitScript(() => {
    new MutationObserver((_, o) => {
      if (document.body?.dataset.hydrated === 'true') {
        (window as unknown as { hydratedAt: number }).hydratedAt = performance.now();
        o.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const runs: { html: number; hydrated: number }[] = [];
  for (let i = 0; i < 5; i++) {
    await page.goto('/devices');
    await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 120_000 });
    runs.push(
      await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { html: nav.responseEnd, hydrated: (window as unknown as { hydratedAt: number }).hydratedAt };
      }),
    );
  }
  // Drawn rows are the window's; the count line says how many the table holds.
  const rows = Number((await page.locator('p.count').textContent())!.split(' of ')[1].split(' ')[0]);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
  console.log(
    `BENCH /devices hydration at 4x CPU, ${rows} rows: HTML received ${med(runs.map((r) => r.html))} ms, hydrated ${med(runs.map((r) => r.hydrated))} ms after navigation (median of ${runs.length}; runs ${JSON.stringify(runs.map((r) => Math.round(r.hydrated)))})`,
  );
  expect(rows).toBeGreaterThanOrEqual(DISPLAYS);
});

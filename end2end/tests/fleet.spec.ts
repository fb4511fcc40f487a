import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ADMIN } from '../playwright.config';
import { hydrated, row, signIn, unique, useDemoFleet } from './helpers';

// Issue 14: the Devices table with a fleet of 20,000 displays, on a server of
// its own (`serve --demo --demo-displays 20000`, nothing simulated), so the
// rest of the suite keeps its small fleet.
const PORT = 3114;
const FLEET = 20_000;
const ROOT = path.resolve(__dirname, '..', '..');
const DATA_DIR = path.join(ROOT, 'target', 'e2e-fleet-data');

test.describe.configure({ mode: 'serial', timeout: 180_000 });

useDemoFleet(PORT, FLEET, DATA_DIR);

async function fleetPage(page: Page): Promise<void> {
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await signIn(page, ADMIN, '/devices');
  await hydrated(page);
  await expect(page.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 30_000 });
  // The server drew the first screen; the whole fleet follows as data.
  await expect(page.locator('tr.coming')).toHaveCount(0, { timeout: 60_000 });
}

const count = (page: Page) => page.locator('p.count');
const drawn = (page: Page) => page.locator('tr[data-id]');

test('20,000 displays: the server sends a first screen and the counts, the page the rest', async ({ page, context }) => {
  await signIn(page, ADMIN, '/settings');
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const html = await (await fetch(`http://127.0.0.1:${PORT}/devices`, { headers: { cookie } })).text();
  expect(html).toContain(`${FLEET} of ${FLEET} displays`);
  expect(html).toContain('Lobby 00001 ·');
  expect(html).not.toContain('Warehouse 19999 ·');
  expect((html.match(/<tr data-id=/g) ?? []).length).toBe(60);
  // The first screen honours the page's filters too.
  const errors = await (await fetch(`http://127.0.0.1:${PORT}/devices?status=error&q=tokyo`, { headers: { cookie } })).text();
  const statuses = [...errors.matchAll(/badge status-(\w+)/g)].map((m) => m[1]);
  expect(statuses.length).toBeGreaterThan(0);
  expect(new Set(statuses)).toEqual(new Set(['error']));
});

for (const [name, at] of [['Overview', '/'], ['Health', '/health']]) {
  test(`20,000 displays: ${name} is rendered from the counts, not the fleet, and stays right once the fleet is in`, async ({ page, context }) => {
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await signIn(page, ADMIN, '/settings');
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const html = await (await fetch(`http://127.0.0.1:${PORT}${at}`, { headers: { cookie } })).text();
    // Every display's row in the page's data was about 3 MB; the counts are a few bytes.
    expect(html.length).toBeLessThan(200_000);
    expect(html).not.toContain('Warehouse 19999');
    const kpi = (kind: string) => page.locator(`[data-kpi="${kind}"] .kpi-value`);
    const value = async (kind: string) => Number(await kpi(kind).textContent());
    await page.goto(at);
    await hydrated(page);
    await expect(kpi('displays')).toHaveText(String(FLEET));
    await expect(page.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 30_000 });
    // After the whole snapshot seeded the store, the counts are the store's and agree.
    await page.waitForLoadState('networkidle');
    await expect(kpi('displays')).toHaveText(String(FLEET));
    const parts = (await Promise.all(['online', 'idle', 'offline', 'error'].map(value))).reduce((a, b) => a + b, 0);
    expect(parts).toBe(FLEET);
  });
}

test('20,000 displays: the count is right, only the rows in view are drawn, the end scrolls into view', async ({ page }) => {
  await fleetPage(page);
  await expect(count(page)).toHaveText(`${FLEET} of ${FLEET} displays`, { timeout: 30_000 });
  await expect(row(page, 'Lobby 00001 ·')).toBeVisible();
  const first = await drawn(page).count();
  expect(first).toBeGreaterThan(5);
  expect(first).toBeLessThan(120);
  // The table is as tall as all its rows: scrolling to the end shows the last display.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await expect(row(page, 'Warehouse 19999 ·')).toBeVisible();
  await expect(row(page, 'Lobby 00001 ·')).toHaveCount(0);
  expect(await drawn(page).count()).toBeLessThan(120);
  const last = page.locator('tr[data-id]').last();
  await expect(last).toHaveAttribute('aria-rowindex', String(FLEET + 1));
});

test('20,000 displays: search finds a display far down the list', async ({ page }) => {
  await fleetPage(page);
  await page.getByRole('searchbox', { name: 'Search' }).fill('retail floor 18883');
  await expect(count(page)).toHaveText(`1 of ${FLEET} displays`);
  await expect(row(page, 'Retail floor 18883 ·')).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await expect(count(page)).toHaveText(`${FLEET} of ${FLEET} displays`);
});

test('20,000 displays: a display off screen that changes is current when scrolled to', async ({ page, browser }) => {
  await fleetPage(page);
  await expect(count(page)).toHaveText(`${FLEET} of ${FLEET} displays`, { timeout: 30_000 });

  // A player pairs as a display that sorts last, far below the window.
  const screenContext = await browser.newContext({ viewport: { width: 640, height: 360 } });
  const screen = await screenContext.newPage();
  await screen.goto('/player');
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  const name = unique('Zulu');
  await page.getByRole('button', { name: 'Pair display' }).click();
  const dialog = page.getByRole('dialog', { name: 'Pair display' });
  await dialog.getByLabel('Code').fill(code);
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Pair' }).click();
  await expect(count(page)).toHaveText(`${FLEET + 1} of ${FLEET + 1} displays`);
  await expect(screen.locator('.player[data-phase="playing"]')).toBeVisible({ timeout: 15_000 });
  // Connected: the server has it idle while its row is not drawn here.
  await expect
    .poll(async () => {
      const all = (await (await page.request.get('/api/v1/devices')).json()) as { devices: { name: string; status: string }[] };
      return all.devices.find((d) => d.name === name)?.status;
    }, { timeout: 15_000 })
    .toBe('idle');
  await expect(row(page, name)).toHaveCount(0);

  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await expect(row(page, name)).toBeVisible();
  await expect(row(page, name).locator('.badge')).toHaveText('Idle', { timeout: 10_000 });
  await screenContext.close();
  // Its player gone, it turns offline while in view, and stays so scrolled away and back.
  await expect(row(page, name).locator('.badge')).toHaveText('Offline', { timeout: 15_000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await expect(row(page, name)).toHaveCount(0);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await expect(row(page, name).locator('.badge')).toHaveText('Offline');
});

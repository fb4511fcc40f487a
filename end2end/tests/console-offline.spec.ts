import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { addDisplay, hydrated, rename, row, startOwnServer, unique } from './helpers';

// Its own server, so the network can really go: the server is stopped, not
// just the browser told it is offline.
const PORT = 3113;
const BASE = `http://127.0.0.1:${PORT}`;
const WHO = { email: 'offline@vizora.test', password: 'offline-password-1' };

type Ev = { body: { device?: { id: string; name: string } } };

test('a reload with the server gone opens the console on its last data, marked Offline; an edit made then applies once', async ({ browser }) => {
  test.setTimeout(120_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vizora-offline-'));
  let server = await startOwnServer(PORT, dataDir, WHO);
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  try {
    await page.goto('/login?next=%2Fdevices');
    await page.getByLabel('Email').fill(WHO.email);
    await page.getByLabel('Password').fill(WHO.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await hydrated(page);
    await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live', { timeout: 10_000 });
    const name = unique('Kept');
    await addDisplay(page, name);
    const id = (await row(page, name).getAttribute('data-id'))!;

    // The worker takes over; the next load of the page is kept, code and all.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.reload();
    await hydrated(page);
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect
      .poll(() =>
        page.evaluate(async () => {
          const pages = await caches.open('vizora-console-pages-v1');
          const code = await caches.open('vizora-console-code-v1');
          const wasm = (await code.keys()).some((r) => r.url.endsWith('.wasm'));
          return !!(await pages.match('/devices')) && wasm;
        }),
      )
      .toBe(true);

    // The network goes, for real.
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await context.setOffline(true);
    await page.reload();
    await hydrated(page);
    await expect(row(page, name)).toBeVisible();
    await expect(page.locator('.connection')).toHaveAttribute('data-state', 'offline', { timeout: 15_000 });
    const renamed = `${name} offline`;
    await rename(page, name, renamed);
    await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '1');

    // A page never opened here says so instead of the browser's error.
    const other = await context.newPage();
    await other.goto('/schedules');
    await expect(other.getByRole('heading', { name: 'You are offline' })).toBeVisible();
    await other.close();

    // Back: the outbox drains, and the rename is applied exactly once.
    server = await startOwnServer(PORT, dataDir, WHO);
    await context.setOffline(false);
    await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0', { timeout: 30_000 });
    await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live', { timeout: 30_000 });
    const res = await page.request.get('/api/v1/events?since=0&wait=0&limit=1000');
    expect(res.ok()).toBeTruthy();
    const names = ((await res.json()).events as Ev[]).filter((e) => e.body.device?.id === id).map((e) => e.body.device!.name);
    expect(names).toEqual([name, renamed]);

    // Signing out forgets the kept pages.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await expect
      .poll(() => page.evaluate(async () => (await (await caches.open('vizora-console-pages-v1')).keys()).length))
      .toBe(0);
  } finally {
    server.kill('SIGTERM');
    await context.close();
  }
});

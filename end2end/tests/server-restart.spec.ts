import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { unique } from './helpers';

// This spec runs its own server process so it can kill it mid-burst.
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, process.env.VIZORA_BIN ?? 'target/release/vizora');
const PORT = 3111;
const BASE = `http://127.0.0.1:${PORT}`;
const ADMIN = { email: 'restart@vizora.test', password: 'restart-password-1' };

async function start(dataDir: string): Promise<ChildProcess> {
  const child = spawn(BIN, ['serve', '--bind', `127.0.0.1:${PORT}`, '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, VIZORA_ADMIN_EMAIL: ADMIN.email, VIZORA_ADMIN_PASSWORD: ADMIN.password, VIZORA_LOG: 'warn' },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${BASE}/readyz`)).ok) return child;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

async function rename(page: Page, from: string, to: string): Promise<void> {
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: from }) });
  await row.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit display' });
  await dialog.getByLabel('Name').fill(to);
  await dialog.getByRole('button', { name: 'Save' }).click();
}

test('the server killed and restarted during a burst of edits: none lost, none applied twice', async ({ page }) => {
  test.setTimeout(90_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vizora-restart-'));
  let server = await start(dataDir);
  try {
    await page.goto(`${BASE}/login?next=%2Fdevices`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 15_000 });
    await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live', { timeout: 10_000 });

    const base = unique('Burst');
    await page.getByRole('button', { name: 'Add display' }).click();
    const add = page.getByRole('dialog', { name: 'Add display' });
    await add.getByLabel('Name').fill(base);
    await add.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0');
    const deviceId = await page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: base }) }).getAttribute('data-id');

    let current = base;
    for (let i = 1; i <= 30; i++) {
      const next = `${base} #${i}`;
      await rename(page, current, next);
      current = next;
      if (i === 10) server.kill('SIGKILL'); // no goodbye, mid-burst
    }
    await expect(page.getByRole('rowheader', { name: current })).toBeVisible();
    server = await start(dataDir);
    await page.locator('.sync .pending').click();
    const retry = page.getByRole('dialog', { name: 'Pending changes' }).getByRole('button', { name: 'Retry now' }).first();
    // A nudge, not a requirement: the list shrinks as ops drain, so the button
    // may vanish under the click once the queue empties on its own.
    if (await retry.isVisible()) await retry.click({ timeout: 5_000 }).catch(() => undefined);
    await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0', { timeout: 45_000 });

    const res = await page.request.get(`${BASE}/api/v1/events?since=0&wait=0&limit=1000`);
    const names = (await res.json()).events
      .filter((e: { body: { device?: { id: string } } }) => e.body.device?.id === deviceId)
      .map((e: { body: { device: { name: string } } }) => e.body.device.name);
    expect(names).toEqual([base, ...Array.from({ length: 30 }, (_, i) => `${base} #${i + 1}`)]);
    await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live', { timeout: 30_000 });
  } finally {
    server.kill('SIGKILL');
  }
});

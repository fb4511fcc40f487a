import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { ADMIN, DATA_DIR } from '../playwright.config';

const ROOT = path.resolve(__dirname, '..', '..');

export function unique(prefix: string): string {
  return `${prefix} ${randomUUID().slice(0, 8)}`;
}

/** Adds an operator through the real CLI, against the suite's database. */
export function addUser(role: 'admin' | 'editor' | 'viewer'): { email: string; password: string } {
  const email = `${role}-${randomUUID().slice(0, 8)}@vizora.test`;
  const password = `pw-${randomUUID()}`;
  execFileSync(
    path.join(ROOT, process.env.VIZORA_BIN ?? 'target/release/vizora'),
    ['user', 'add', email, '--role', role, '--data-dir', path.join(ROOT, DATA_DIR)],
    { input: `${password}\n`, cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  return { email, password };
}

/** Waits until the WebAssembly has taken over the server-rendered page. */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 30_000 });
}

export async function signIn(page: Page, who = ADMIN, next = '/'): Promise<void> {
  await page.goto(next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(next === '/' ? '/$' : next.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
}

/** The cookies of a fresh sign-in as `who`, for contexts that must start
 * signed in with an empty cache (`browser.newContext({ storageState })`). */
export async function signedInState(browser: Browser, who = ADMIN) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who, '/devices');
  await hydrated(page);
  const state = await context.storageState();
  await context.close();
  return state;
}

/** A page signed in as `who`, on /devices, hydrated and live. */
export async function devicesPage(browser: Browser, who = ADMIN): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${who.email}] page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`[${who.email}] console: ${m.text()}`));
  await signIn(page, who, '/devices');
  await hydrated(page);
  await expect(page.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  return page;
}

export function row(page: Page, name: string) {
  return page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: false }) });
}

/** Adds a display through the UI and waits until the server confirmed it. */
export async function addDisplay(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Add display' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add display' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Time zone').fill('Europe/Berlin');
  await dialog.getByLabel('Tags (comma-separated)').fill('e2e, lobby');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(row(page, name)).toBeVisible();
  await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0');
}

/** Renames a display through its Edit dialog and waits for the optimistic row. */
export async function rename(page: Page, from: string, to: string): Promise<void> {
  await row(page, from).getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit display' });
  await dialog.getByLabel('Name').fill(to);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(row(page, to)).toBeVisible();
}

/**
 * A server of its own on `port` (a fresh data directory, `who` as its admin),
 * for specs that stop it while a screen keeps going. Resolves once it is ready.
 */
export async function startOwnServer(
  port: number,
  dataDir: string,
  who: { email: string; password: string },
  options: { args?: string[]; env?: Record<string, string>; waitMs?: number } = {},
): Promise<ChildProcess> {
  const bin = path.join(ROOT, process.env.VIZORA_BIN ?? 'target/release/vizora');
  const child = spawn(bin, ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--config', 'end2end/vizora.e2e.toml', ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, VIZORA_ADMIN_EMAIL: who.email, VIZORA_ADMIN_PASSWORD: who.password, VIZORA_LOG: 'warn', ...(options.env ?? {}) },
    stdio: 'ignore',
  });
  for (let i = 0; i < (options.waitMs ?? 10_000) / 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

/** A demo fleet of `displays` on a server of its own at `port`, nothing
 * simulated, for the spec file that calls this (started before its tests,
 * stopped and its data removed after); the file's pages go to it. */
export function useDemoFleet(port: number, displays: number, dataDir: string): void {
  let server: ChildProcess | undefined;
  test.beforeAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    server = await startOwnServer(port, dataDir, ADMIN, {
      args: ['--demo', '--demo-displays', String(displays)],
      env: { VIZORA_SIMULATE: 'off' },
      waitMs: 120_000,
    });
  });
  test.afterAll(() => {
    server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });
  test.use({ baseURL: `http://127.0.0.1:${port}` });
}

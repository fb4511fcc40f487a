import { expect, test } from '@playwright/test';
import { ADMIN } from '../playwright.config';
import { hydrated, signIn } from './helpers';

test('a page asked for without a session redirects to sign-in and back', async ({ page }) => {
  await page.goto('/devices');
  await expect(page).toHaveURL(/\/login\?next=(%2F|\/)devices$/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/devices$/);
  await expect(page.getByRole('heading', { name: 'Devices' })).toBeVisible();
});

test('a wrong password says so without telling which part was wrong', async ({ page }) => {
  for (const [email, password] of [
    [ADMIN.email, 'not-the-password'],
    ['nobody@vizora.test', ADMIN.password],
  ]) {
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  }
});

test('sign in, see the console, sign out, and the session is gone', async ({ page }) => {
  await signIn(page);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  for (const name of ['Overview', 'Devices', 'Content', 'Playlists', 'Schedules', 'Health', 'Analytics', 'Settings']) {
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true })).toBeVisible();
  }
  await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/devices');
  await expect(page).toHaveURL(/\/login/);
  const api = await page.request.post('/api/devices/snapshot', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, data: '' });
  expect(api.status()).toBe(401);
});

test('every page shows its real content or empty state, not "coming soon"', async ({ page }) => {
  await signIn(page);
  for (const [path, heading, body] of [
    ['/content', 'Content', '.content-grid, .empty-state'],
    ['/playlists', 'Playlists', '.playlist-list'],
    ['/schedules', 'Schedules', '.week-grid'],
    ['/health', 'Health', 'table'],
    ['/analytics', 'Analytics', 'table'],
    ['/settings', 'Settings', 'table'],
  ]) {
    await page.goto(path);
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
    await expect(page.locator(body).first()).toBeVisible();
    await expect(page.getByText(/coming soon/i)).toHaveCount(0);
  }
});

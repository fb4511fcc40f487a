import { expect, test } from '@playwright/test';
import { ADMIN } from '../playwright.config';

test.use({ javaScriptEnabled: false });

test('Devices is rendered by the server, with JavaScript off', async ({ page }) => {
  await page.goto('/login?next=%2Fdevices');
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/devices$/);
  const table = page.getByRole('table');
  await expect(table).toBeVisible();
  for (const column of ['Name', 'Group', 'Status', 'Last seen', 'Time zone', 'Tags']) {
    await expect(table.getByRole('columnheader', { name: column })).toBeVisible();
  }
  // The demo fleet: at least 50 displays, in several groups and time zones.
  const rows = table.locator('tbody tr[data-id]');
  expect(await rows.count()).toBeGreaterThanOrEqual(50);
  await expect(table.getByRole('cell', { name: 'Asia/Tokyo' }).first()).toBeVisible();
  await expect(table.getByRole('cell', { name: 'Menu boards' }).first()).toBeVisible();
  await expect(page.getByRole('searchbox', { name: 'Search' })).toBeVisible();
  await expect(page.locator('body[data-hydrated]')).toHaveCount(0);
});

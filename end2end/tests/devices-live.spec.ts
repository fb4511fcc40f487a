import { expect, test } from '@playwright/test';
import { addDisplay, addUser, devicesPage, row, unique } from './helpers';

test('a change made by one operator shows for another within a second, without reload', async ({ browser }) => {
  const alice = await devicesPage(browser);
  const bob = await devicesPage(browser, addUser('editor'));

  const name = unique('Live lobby');
  await addDisplay(alice, name);
  await expect(row(bob, name)).toBeVisible({ timeout: 1_000 });

  // Rename on Bob's screen; Alice sees it within a second.
  await row(bob, name).getByRole('button', { name: 'Edit' }).click();
  const dialog = bob.getByRole('dialog', { name: 'Edit display' });
  const renamed = unique('Renamed lobby');
  await dialog.getByLabel('Name').fill(renamed);
  await dialog.getByLabel('Group').selectOption({ label: 'Retail floor' });
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(row(bob, renamed)).toBeVisible(); // optimistic: at once
  await expect(row(alice, renamed)).toBeVisible({ timeout: 1_000 });
  await expect(row(alice, renamed).getByRole('cell', { name: 'Retail floor' })).toBeVisible();

  // Delete on Alice's screen, with confirmation; gone for Bob too.
  await row(alice, renamed).getByRole('button', { name: 'Delete' }).click();
  const confirm = alice.getByRole('alertdialog');
  await expect(confirm).toContainText(renamed);
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(row(alice, renamed)).toHaveCount(0);
  await expect(row(bob, renamed)).toHaveCount(0, { timeout: 1_000 });

  // Nothing stayed pending on either side.
  await expect(alice.locator('.sync .pending')).toHaveAttribute('data-count', '0');
  await expect(bob.locator('.sync .pending')).toHaveAttribute('data-count', '0');
});

test('search, group and status filters and sorting narrow the table', async ({ browser }) => {
  const page = await devicesPage(browser);
  const name = unique('Findable kiosk');
  await addDisplay(page, name);
  await page.getByRole('searchbox', { name: 'Search' }).fill(name.split(' ')[2]);
  await expect(page.locator('table.devices tbody tr[data-id]')).toHaveCount(1);
  await expect(row(page, name)).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search' }).fill('');

  await page.getByRole('combobox', { name: 'Status' }).selectOption('error');
  const statuses = await page.locator('table.devices tbody tr[data-id] td .badge').allTextContents();
  expect(statuses.length).toBeGreaterThan(0);
  expect(new Set(statuses)).toEqual(new Set(['Error']));
  await page.getByRole('combobox', { name: 'Status' }).selectOption('');

  await page.getByRole('combobox', { name: 'Group' }).selectOption({ label: 'Warehouse' });
  const groups = await page.locator('table.devices tbody tr[data-id] td:nth-child(2)').allTextContents();
  expect(new Set(groups)).toEqual(new Set(['Warehouse']));

  await page.getByRole('button', { name: 'Name' }).click(); // now descending
  const names = await page.locator('table.devices tbody tr[data-id] th').allTextContents();
  const sorted = [...names].sort((a, b) => b.toLowerCase().localeCompare(a.toLowerCase()));
  expect(names).toEqual(sorted);
});

test('a refused edit rolls back and a toast says why', async ({ browser }) => {
  const page = await devicesPage(browser);
  const name = unique('Refusable');
  await addDisplay(page, name);

  for (const [bad, message] of [
    ['x'.repeat(300), /at most 100 characters/],
    ['   ', /needs a name/],
  ] as const) {
    await row(page, name).getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit display' });
    await dialog.getByLabel('Name').fill(bad);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert').filter({ hasText: message })).toBeVisible();
    await expect(row(page, name)).toBeVisible();
    await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0');
  }
  // The server still has the original name.
  await page.reload();
  await expect(row(page, name)).toBeVisible();
});

import { expect, test, type Browser, type Page } from '@playwright/test';
import { addUser, hydrated, signIn } from './helpers';

async function signedInPage(browser: Browser, who: { email: string; password: string }, at: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who, at);
  await hydrated(page);
  await expect(page.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  return page;
}

test("an admin adds an account and changes its role; deactivating it signs its open page out", async ({ page, browser }) => {
  await signIn(page, undefined, '/settings');
  await hydrated(page);
  const email = `sam-${Date.now()}@vizora.test`;
  const password = 'sam first password';
  const add = page.getByRole('form', { name: 'Add an account' });
  await add.getByLabel('Email').fill(email);
  await add.getByLabel('Role').selectOption('editor');
  await add.getByLabel('First password').fill(password);
  await add.getByRole('button', { name: 'Add account' }).click();
  const samRow = page.locator(`tr[data-user="${email}"]`);
  await expect(samRow).toContainText('active');
  await expect(samRow.getByLabel(`Role of ${email}`)).toHaveValue('editor');

  // Sam signs in elsewhere and has the Devices page open, live.
  const sam = await signedInPage(browser, { email, password }, '/devices');

  await samRow.getByLabel(`Role of ${email}`).selectOption('viewer');
  await expect(page.locator(`tr[data-user="${email}"]`).getByLabel(`Role of ${email}`)).toHaveValue('viewer');

  await page.locator(`tr[data-user="${email}"]`).getByRole('button', { name: 'Deactivate' }).click();
  const confirm = page.getByRole('alertdialog', { name: `Deactivate ${email}?` });
  await confirm.getByRole('button', { name: 'Deactivate' }).click();
  await expect(page.locator(`tr[data-user="${email}"]`)).toContainText('deactivated');

  // Sam's open page is signed out at once, and Sam cannot sign back in.
  await expect(sam).toHaveURL(/\/login\?next=%2Fdevices/, { timeout: 10_000 });
  await sam.getByLabel('Email').fill(email);
  await sam.getByLabel('Password').fill(password);
  await sam.getByRole('button', { name: 'Sign in' }).click();
  await expect(sam).toHaveURL(/error=invalid/);

  // Reactivated, Sam is back (as a viewer).
  await page.locator(`tr[data-user="${email}"]`).getByRole('button', { name: 'Reactivate' }).click();
  await expect(page.locator(`tr[data-user="${email}"]`)).toContainText('active');
  await signIn(sam, { email, password }, '/settings');
  await expect(sam.locator('.facts')).toContainText('viewer');
});

test('an operator signs another browser out, then changes their password', async ({ browser }) => {
  const who = addUser('editor');
  const here = await signedInPage(browser, who, '/settings');
  const there = await signedInPage(browser, who, '/content');
  await here.reload();
  await hydrated(here);

  const sessions = here.getByRole('region', { name: 'Sessions' });
  await expect(sessions.getByText('This browser')).toHaveCount(1);
  await expect(sessions.getByRole('button', { name: 'Sign out' })).toHaveCount(1);
  await sessions.getByRole('button', { name: 'Sign out' }).click();
  await here.getByRole('alertdialog').getByRole('button', { name: 'Sign out' }).click();
  await expect(there).toHaveURL(/\/login\?next=%2Fcontent/, { timeout: 10_000 });
  await expect(sessions.getByRole('button', { name: 'Sign out' })).toHaveCount(0);

  // A wrong current password is refused with the server's words.
  const form = here.getByRole('form', { name: 'Change your password' });
  await form.getByLabel('Current password').fill('not my password');
  await form.getByLabel('New password', { exact: true }).fill('a new password 1');
  await form.getByLabel('New password again').fill('a new password 1');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(here.getByText('That is not your current password.')).toBeVisible();

  await form.getByLabel('Current password').fill(who.password);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(here.getByText('Password changed. Your other sessions were signed out.')).toBeVisible();
  await signIn(there, { email: who.email, password: 'a new password 1' }, '/content');
});

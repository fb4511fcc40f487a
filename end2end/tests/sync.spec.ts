import { expect, test, type Page } from '@playwright/test';
import { addDisplay, addUser, devicesPage, rename, row, unique } from './helpers';

type Ev = { seq: number; op_id: string | null; body: { type: string; device?: { id: string; name: string } } };

async function head(page: Page): Promise<number> {
  const res = await page.request.get('/api/v1/events?wait=0');
  return (await res.json()).head;
}

/** Every event after `since` about one display, read through the API. */
async function eventsFor(page: Page, since: number, deviceId: string): Promise<Ev[]> {
  const res = await page.request.get(`/api/v1/events?since=${since}&wait=0&limit=1000`);
  expect(res.ok()).toBeTruthy();
  const events: Ev[] = (await res.json()).events;
  return events.filter((e) => e.body.device?.id === deviceId);
}


const pendingCount = (page: Page) => page.locator('.sync .pending');

test('20 edits made offline survive a reload and apply exactly once, in order', async ({ browser }) => {
  // Real waits (three missed heartbeats, a reconnect) on two busy cores.
  test.setTimeout(60_000);
  const page = await devicesPage(browser);
  const base = unique('Offline');
  await addDisplay(page, base);
  const deviceId = (await row(page, base).getAttribute('data-id'))!;
  const since = await head(page);

  await page.context().setOffline(true);
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'offline');
  let current = base;
  for (let i = 1; i <= 20; i++) {
    const next = `${base} #${i}`;
    await rename(page, current, next);
    current = next;
  }
  await expect(pendingCount(page)).toHaveAttribute('data-count', '20');

  // Back online, but the ops endpoint unreachable: reload, and the outbox comes back.
  await page.route('**/api/ops/apply', (route) => route.abort());
  await page.context().setOffline(false);
  await page.reload();
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 15_000 });
  await expect(pendingCount(page)).toHaveAttribute('data-count', '20');
  await expect(row(page, current)).toBeVisible();

  await page.unroute('**/api/ops/apply');
  await pendingCount(page).click();
  await page.getByRole('dialog', { name: 'Pending changes' }).getByRole('button', { name: 'Retry now' }).first().click();
  await expect(pendingCount(page)).toHaveAttribute('data-count', '0', { timeout: 20_000 });

  const names = (await eventsFor(page, since, deviceId)).map((e) => e.body.device!.name);
  expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `${base} #${i + 1}`));
});

test('injected 503s are retried and then applied; an injected 422 rolls back at once, never retried', async ({ browser }) => {
  const page = await devicesPage(browser);
  const name = unique('Flaky');
  await addDisplay(page, name);

  let calls = 0;
  await page.route('**/api/ops/apply', async (route) => {
    calls += 1;
    if (calls <= 2) {
      await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ code: 'internal', message: 'Injected 503' }) });
    } else {
      await route.continue();
    }
  });
  await rename(page, name, `${name} ok`);
  await expect(pendingCount(page)).toHaveAttribute('data-count', '0', { timeout: 15_000 });
  expect(calls).toBe(3);
  await page.unroute('**/api/ops/apply');

  let refusals = 0;
  await page.route('**/api/ops/apply', async (route) => {
    refusals += 1;
    await route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ code: 'validation', message: 'Injected refusal: that name is not allowed.' }) });
  });
  await row(page, `${name} ok`).getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit display' });
  await dialog.getByLabel('Name').fill(`${name} refused`);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Injected refusal: that name is not allowed.' })).toBeVisible();
  await expect(row(page, `${name} ok`)).toBeVisible();
  await expect(pendingCount(page)).toHaveAttribute('data-count', '0');
  await page.waitForTimeout(1_500);
  expect(refusals).toBe(1);
});

test('two operators: different fields both kept; the same field opens the conflict panel, and both choices work', async ({ browser }) => {
  // Three rounds of two operators going offline and back, about sixty
  // steps: on a busy 2-core machine it ran out of the 30 s default once,
  // mid-click, with every step passing.
  test.setTimeout(60_000);
  const alice = await devicesPage(browser);
  const bob = await devicesPage(browser, addUser('editor'));
  const name = unique('Shared');
  await addDisplay(alice, name);
  await expect(row(bob, name)).toBeVisible();

  // Different fields: Bob, offline, retags while Alice renames.
  await bob.context().setOffline(true);
  await rename(alice, name, `${name} A`);
  await row(bob, name).getByRole('button', { name: 'Edit' }).click();
  let dialog = bob.getByRole('dialog', { name: 'Edit display' });
  await dialog.getByLabel('Tags (comma-separated)').fill('bob-tag');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await bob.context().setOffline(false);
  await expect(pendingCount(bob)).toHaveAttribute('data-count', '0', { timeout: 20_000 });
  await expect(row(alice, `${name} A`).getByText('bob-tag')).toBeVisible();
  await expect(row(bob, `${name} A`).getByText('bob-tag')).toBeVisible();

  // The same field, twice: keep mine, then keep theirs.
  let current = `${name} A`;
  for (const choice of ['Keep mine', 'Keep theirs'] as const) {
    await bob.context().setOffline(true);
    const theirs = `${current} by Alice`;
    await rename(alice, current, theirs);
    const mine = `${current} by Bob`;
    await rename(bob, current, mine);
    await bob.context().setOffline(false);
    const badge = bob.locator('.sync .conflicts');
    await expect(badge).toHaveText('1 conflict', { timeout: 20_000 });
    await badge.click();
    const panel = bob.getByRole('dialog', { name: 'Conflicts' });
    await expect(panel.locator('td.mine')).toHaveText(mine);
    await expect(panel.locator('td.theirs')).toHaveText(theirs);
    await panel.getByRole('button', { name: choice }).click();
    const winner = choice === 'Keep mine' ? mine : theirs;
    await expect(pendingCount(bob)).toHaveAttribute('data-count', '0', { timeout: 20_000 });
    await expect(row(alice, winner)).toBeVisible();
    await expect(row(bob, winner)).toBeVisible();
    await expect(badge).toHaveCount(0);
    current = winner;
  }
});

import { expect, test } from '@playwright/test';
import { addDisplay, hydrated, rename, row, signIn, unique } from './helpers';


test('two tabs of one operator: one outbox, both live; the sending tab closes mid-queue and the other finishes', async ({ browser }) => {
  const context = await browser.newContext();
  const a = await context.newPage();
  await signIn(a, undefined, '/devices');
  await hydrated(a);
  const b = await context.newPage();
  await b.goto('/devices');
  await hydrated(b);
  for (const tab of [a, b]) await expect(tab.locator('.connection')).toHaveAttribute('data-state', 'live');
  await expect(a.locator('.sync')).toHaveAttribute('data-sender', 'true');
  await expect(b.locator('.sync')).toHaveAttribute('data-sender', 'false');

  const base = unique('Tabbed');
  await addDisplay(a, base);
  await expect(row(b, base)).toBeVisible();
  const deviceId = await row(a, base).getAttribute('data-id');
  const since = (await (await a.request.get('/api/v1/events?wait=0')).json()).head;

  let sentByB = 0;
  b.on('request', (r) => {
    if (r.url().includes('/api/ops/apply')) sentByB += 1;
  });
  await context.route('**/api/ops/apply', (route) => route.abort());
  // Edits alternate between the tabs; each tab shows the other's at once.
  let current = base;
  for (let i = 1; i <= 4; i++) {
    const tab = i % 2 === 1 ? a : b;
    const next = `${base} #${i}`;
    await rename(tab, current, next);
    current = next;
    await expect(row(i % 2 === 1 ? b : a, current)).toBeVisible();
  }
  for (const tab of [a, b]) await expect(tab.locator('.sync .pending')).toHaveAttribute('data-count', '4');
  expect(sentByB).toBe(0);

  await a.close();
  await expect(b.locator('.sync')).toHaveAttribute('data-sender', 'true', { timeout: 10_000 });
  await context.unroute('**/api/ops/apply');
  // B takes over by itself: no retry pressed.
  await expect(b.locator('.sync .pending')).toHaveAttribute('data-count', '0', { timeout: 20_000 });
  expect(sentByB).toBeGreaterThan(0);

  const events = (await (await b.request.get(`/api/v1/events?since=${since}&wait=0`)).json()).events;
  const names = events
    .filter((e: { body: { device?: { id: string } } }) => e.body.device?.id === deviceId)
    .map((e: { body: { device: { name: string } } }) => e.body.device.name);
  expect(names).toEqual([1, 2, 3, 4].map((i) => `${base} #${i}`));
  await context.close();
});

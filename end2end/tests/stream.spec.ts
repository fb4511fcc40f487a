import { expect, test, type Page } from '@playwright/test';
import { hydrated, signIn, unique } from './helpers';

async function serverHead(page: Page): Promise<number> {
  return (await (await page.request.get('/api/v1/events?wait=0')).json()).head;
}

async function createViaApi(page: Page, name: string): Promise<void> {
  const res = await page.request.post('/api/v1/devices', { data: { name, timezone: 'UTC' } });
  expect(res.status()).toBe(201);
}

test('when WebSockets are blocked the page falls back to long-poll and stays live', async ({ page }) => {
  await page.routeWebSocket(/\/api\/v1\/stream/, (ws) => ws.close());
  await signIn(page, undefined, '/devices');
  await hydrated(page);
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'polling', { timeout: 15_000 });
  await expect(page.locator('.connection')).toHaveText('Live (long-poll)');
  const name = unique('Polled');
  await createViaApi(page, name);
  await expect(page.getByRole('rowheader', { name })).toBeVisible({ timeout: 5_000 });
  await expect(page.locator('.sync')).toHaveAttribute('data-seq', String(await serverHead(page)));
});

test('the stream cut by the server resumes from its last seq with no missed event', async ({ page }) => {
  const servers: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/api\/v1\/stream/, (ws) => {
    servers.push(ws.connectToServer());
  });
  await signIn(page, undefined, '/devices');
  await hydrated(page);
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live', { timeout: 10_000 });

  const before = unique('Before cut');
  await createViaApi(page, before);
  await expect(page.getByRole('rowheader', { name: before })).toBeVisible();

  // The server side drops the socket; changes land while the page is away.
  await servers[servers.length - 1].close();
  const during = [unique('During cut'), unique('During cut'), unique('During cut')];
  for (const name of during) await createViaApi(page, name);

  // The page may still read live for a moment after the cut: wait for the
  // reconnection itself, then for live.
  await expect.poll(() => servers.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.locator('.connection')).toHaveAttribute('data-state', 'live', { timeout: 15_000 });
  for (const name of during) await expect(page.getByRole('rowheader', { name })).toBeVisible();
  await expect(page.locator('.sync')).toHaveAttribute('data-seq', String(await serverHead(page)));
  await expect(page.getByRole('rowheader', { name: before })).toHaveCount(1);
});

import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { addUser, rename, row, unique, devicesPage, addDisplay, hydrated } from './helpers';
import { livePage, pairScreen, png } from './media';

const plays = (page: Page) => page.locator('.kpi[data-kpi="plays"] .value');
const count = async (page: Page) => Number((await plays(page).textContent())!.replace(/,/g, ''));

test('a playing display makes the Analytics counters and today’s bar grow without a reload', async ({ browser }) => {
  test.setTimeout(60_000);
  // A real player, paired, playing a one-second image.
  const screen = await (await browser.newContext({ viewport: { width: 640, height: 360 } })).newPage();
  await screen.goto('/player');
  const operator = await livePage(browser, '/devices');
  const name = unique('Counter');
  await pairScreen(operator, screen, name);
  const tag = name.split(' ')[1];
  const [image] = await (
    await operator.request.post('/api/v1/content', {
      multipart: { file: { name: `Counter art ${tag}.png`, mimeType: 'image/png', buffer: png(64, 36, 77) } },
    })
  ).json();
  const list = await (await operator.request.post('/api/v1/playlists', { data: { name: `Counter loop ${tag}` } })).json();
  await operator.request.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: image.id, duration_ms: 1000 } });
  await row(operator, name).getByRole('button', { name: 'Edit' }).click();
  const edit = operator.getByRole('dialog', { name: 'Edit display' });
  await edit.getByLabel('Playlist').selectOption({ label: `Counter loop ${tag}` });
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(screen.locator('img.slide')).toBeVisible({ timeout: 10_000 });

  // Analytics for today, this playlist only.
  await operator.goto(`/analytics?range=today&playlist=${list.id}`);
  await expect(operator.locator('body[data-hydrated="true"]')).toBeAttached({ timeout: 30_000 });
  await expect(operator.locator('.zone')).not.toBeEmpty();
  await operator.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const first = await count(operator);
  await expect.poll(() => count(operator), { timeout: 20_000 }).toBeGreaterThanOrEqual(first + 3);
  // The same figure in the content table and in today's (only) bar, and no reload happened.
  const now = await count(operator);
  const cell = operator.locator('table[data-report="by-content"] tbody tr').filter({ hasText: `Counter art ${tag}` }).locator('td.plays');
  await expect.poll(async () => Number((await cell.textContent())!.replace(/,/g, '')), { timeout: 5_000 }).toBeGreaterThanOrEqual(now);
  await expect(operator.locator('#plays-per-day .bar.current')).toHaveAttribute('aria-label', /plays?,/);
  expect(await operator.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  // The REST report agrees with the page once the player stops.
  await screen.context().close();
  await operator.waitForTimeout(1_500);
  const from = new Date(Date.now() - 86_400_000).toISOString();
  const rest = await (await operator.request.get(`/api/v1/analytics/plays?from=${from}&group_by=content&playlist_id=${list.id}`)).json();
  await expect.poll(() => count(operator), { timeout: 5_000 }).toBe(rest.total.plays);
});

test('a CSV export downloads the rows its table shows, quoted as RFC 4180 says', async ({ browser }) => {
  // The demo's menu boards over 30 days: its backfilled month, which no
  // other spec's player adds to while this one reads it.
  const page = await livePage(browser, '/analytics?range=30d');
  await page.getByLabel('Group', { exact: true }).selectOption({ label: 'Menu boards' });
  await expect(page).toHaveURL(/group=/);
  const table = page.locator('table[data-report="by-content"]');
  await expect(table.locator('tbody tr').first()).toBeVisible();
  // The page is live: the group's report arriving (or a play counted)
  // between reading the table and clicking would change what the link
  // exports, so the two are compared as one step, again if they moved.
  await expect(async () => {
    const shown = await table.locator('tbody tr').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('th')!.textContent!.trim(), r.querySelector('td.plays')!.textContent!.replace(/,/g, '')]),
    );
    expect(shown.length).toBeGreaterThan(1);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#by-content').getByRole('link', { name: 'Export per content as CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('by-content.csv');
    const text = readFileSync((await download.path())!, 'utf8');
    const lines = text.split('\r\n').filter((l) => l.length > 0);
    expect(lines[0]).toBe('Content,Plays,Play time (s),Share of plays (%)');
    const parsed = lines.slice(1).map((l) => {
      const m = l.match(/^("(?:[^"]|"")*"|[^,]*),(\d+),/)!;
      const label = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1];
      return [label, m[2]];
    });
    expect(parsed).toEqual(shown);
  }).toPass({ timeout: 15_000 });
});

test('a rename by one operator appears in the other’s activity, live, with who made it', async ({ browser }) => {
  const bobLogin = addUser('editor');
  const alice = await livePage(browser, '/');
  const bob = await devicesPage(browser, bobLogin);
  const name = unique('Lobby');
  await addDisplay(bob, name);
  await rename(bob, name, `${name} Main`);
  const item = alice.locator('.activity li').filter({ hasText: `renamed display “${name}” to “${name} Main”` });
  await expect(item).toBeVisible({ timeout: 10_000 });
  await expect(item.locator('.actor')).toHaveText(bobLogin.email);

  // Settings → Activity: filtered to Bob, every line is his.
  await alice.goto('/settings#activity');
  // The filter listens once the page is hydrated; typing before that is lost.
  await hydrated(alice);
  const list = alice.locator('#activity');
  await list.getByLabel('Person').fill(bobLogin.email);
  await list.getByLabel('Person').press('Tab');
  // Bob added the display, then renamed it: newest first, both his.
  await expect(list.locator('.activity li').first()).toContainText(`to “${name} Main”`);
  await expect(list.locator('.activity li').nth(1)).toContainText(`added display “${name}”`);
  // The filtered list replaces the unfiltered one when its answer arrives:
  // Bob's two lines are the newest in both, so wait for the others to go.
  const actors = list.locator('.activity li .actor');
  await expect.poll(async () => [...new Set(await actors.allTextContents())]).toEqual([bobLogin.email]);
  expect(await actors.count()).toBeGreaterThanOrEqual(2);
});

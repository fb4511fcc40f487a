import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { unique, startOwnServer } from './helpers';
import { livePage, png } from './media';

/** A playlist holding one freshly uploaded image; returns its id. */
async function playlistWithImage(api: APIRequestContext, name: string, seed: number): Promise<string> {
  const upload = await api.post('/api/v1/content', {
    multipart: { file: { name: `${name}.png`, mimeType: 'image/png', buffer: png(96, 54, seed) } },
  });
  expect(upload.status(), await upload.text()).toBe(201);
  const [image] = await upload.json();
  const list = await (await api.post('/api/v1/playlists', { data: { name } })).json();
  const item = await api.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: image.id, duration_ms: 1000 } });
  expect(item.ok(), await item.text()).toBe(true);
  return list.id;
}

/** A /player in a fresh browser, paired over the op path into `group`. */
async function pairedPlayer(api: APIRequestContext, screen: Page, name: string, group: string | null, timezone = 'UTC') {
  await screen.goto('/player');
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  const deviceId = randomUUID();
  const paired = await api.post('/api/v1/ops', {
    data: { op_id: randomUUID(), base_version: null, change: { kind: 'pair_device', device_id: deviceId, code, name, group_id: group, timezone } },
  });
  expect(paired.status(), await paired.text()).toBe(200);
  await expect(screen.locator('.player[data-phase="playing"]')).toBeVisible({ timeout: 10_000 });
  return deviceId;
}

test('a schedule saved for now on a group switches a real player within 2 s, live for a second operator; a takeover and its end reach the player', async ({ browser }) => {
  test.setTimeout(90_000);
  const alice = await livePage(browser, '/schedules');
  const bob = await livePage(browser, '/schedules');
  const api = alice.request;
  const groups: { id: string; name: string }[] = (await (await api.get('/api/v1/devices')).json()).groups;
  const outdoor = groups.find((g) => g.name === 'Outdoor')!;
  const tag = unique('Sched').split(' ')[1];
  const morning = await playlistWithImage(api, `Morning ${tag}`, 11);
  const alarm = await playlistWithImage(api, `Alarm ${tag}`, 12);

  const screen = await (await browser.newContext({ viewport: { width: 640, height: 360 } })).newPage();
  const deviceId = await pairedPlayer(api, screen, `Kiosk ${tag}`, outdoor.id);
  const player = screen.locator('.player');

  // Alice makes a schedule through the dialog: all day, for the group, on top.
  await alice.getByRole('button', { name: 'New schedule' }).click();
  const dialog = alice.getByRole('dialog', { name: 'New schedule' });
  await dialog.getByLabel('Name').fill(`All day ${tag}`);
  await dialog.getByLabel('Playlist').selectOption({ label: `Morning ${tag}` });
  await dialog.getByLabel('For').selectOption({ label: 'Outdoor' });
  await dialog.getByLabel('When').selectOption({ label: 'All day' });
  await dialog.getByLabel('Priority').fill('900');
  // The preview answers with the rule the screens follow.
  await dialog.getByLabel('Preview display').selectOption({ label: `Kiosk ${tag}` });
  await expect(dialog.getByTestId('schedule-preview')).toContainText(`plays “Morning ${tag}” (this schedule)`);
  const saved = Date.now();
  await dialog.getByRole('button', { name: 'Save schedule' }).click();
  await expect(player).toHaveAttribute('data-playlist', morning, { timeout: 2_000 });
  console.log(`saved schedule -> player switched: ${Date.now() - saved} ms`);
  await expect(player).toHaveAttribute('data-source', 'schedule');

  // Bob sees it without reloading: in the list, and in the week view's group row.
  await expect(bob.getByRole('img', { name: new RegExp(`^Morning ${tag}, .*schedule “All day ${tag}”`) }).first()).toBeVisible({ timeout: 5_000 });
  await bob.getByRole('button', { name: 'List', exact: true }).click();
  await expect(bob.locator('.schedule-list tr', { hasText: `All day ${tag}` })).toContainText('Outdoor');

  // A second schedule at the same priority on the same group is warned about, by name.
  await alice.getByRole('button', { name: 'New schedule' }).click();
  const second = alice.getByRole('dialog', { name: 'New schedule' });
  await second.getByLabel('Name').fill(`Clash ${tag}`);
  await second.getByLabel('For').selectOption({ label: 'Outdoor' });
  await second.getByLabel('Priority').fill('900');
  await expect(second.getByTestId('overlap-warning')).toContainText(`“All day ${tag}” (priority 900)`);
  await second.getByRole('button', { name: 'Cancel' }).click();

  // The player acknowledged its manifest: its deploy shows received.
  await bob.getByRole('button', { name: 'Week', exact: true }).click();
  await bob.getByRole('button', { name: 'By display' }).click();
  await expect(bob.locator(`.week-row[data-row="${deviceId}"] [data-deploy]`)).toHaveText('Received', { timeout: 10_000 });

  // A takeover on the group beats the schedule; ending it returns the player to it.
  // Every page says it runs: Carol is on Devices, which never loads the schedules.
  const carol = await livePage(browser, '/devices');
  const banner = carol.locator('.takeover-banner', { hasText: `Drill ${tag}` });
  await alice.getByRole('button', { name: 'Start takeover' }).click();
  const takeover = alice.getByRole('dialog', { name: 'Start takeover' });
  await takeover.getByLabel('Name').fill(`Drill ${tag}`);
  await takeover.getByLabel('Playlist').selectOption({ label: `Alarm ${tag}` });
  await takeover.getByLabel('On').selectOption({ label: 'Group “Outdoor”' });
  await takeover.getByRole('button', { name: 'Start takeover' }).click();
  await expect(player).toHaveAttribute('data-playlist', alarm, { timeout: 2_000 });
  await expect(player).toHaveAttribute('data-source', 'takeover');
  const running = bob.locator('.takeover', { hasText: `Drill ${tag}` });
  await expect(running).toBeVisible();
  await expect(banner).toContainText('Takeover running');
  await alice.locator('.takeover', { hasText: `Drill ${tag}` }).getByRole('button', { name: 'End now' }).click();
  await alice.getByRole('alertdialog').getByRole('button', { name: 'End now' }).click();
  await expect(player).toHaveAttribute('data-playlist', morning, { timeout: 2_000 });
  await expect(running).toBeHidden();
  await expect(banner).toBeHidden({ timeout: 6_000 });

  // The switches the player reported are listed live.
  await expect(bob.locator('.executions tbody tr').filter({ hasText: `Kiosk ${tag}` }).first()).toContainText(`Morning ${tag}`, { timeout: 5_000 });

  // Clean up: the group's schedule would otherwise reach other specs' displays.
  const list = await (await api.get('/api/v1/schedules')).json();
  for (const s of list.filter((s: { name: string }) => s.name.endsWith(tag))) {
    const gone = await api.delete(`/api/v1/schedules/${s.id}`, { headers: { 'if-match': `"${s.version}"` } });
    expect(gone.status()).toBe(204);
  }
});

// Its own server, so it can be stopped while the screen keeps its clock.
const PORT = 3113;
const BASE = `http://127.0.0.1:${PORT}`;
const OWNER = { email: 'clock@vizora.test', password: 'clock-password-1' };

const start = (dataDir: string) => startOwnServer(PORT, dataDir, OWNER);

const hm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;

test('with the server stopped, a player switches at a window boundary a minute ahead by its own clock', async ({ browser, playwright }) => {
  test.setTimeout(180_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vizora-clock-'));
  const server = await start(dataDir);
  try {
    const api = await playwright.request.newContext({ baseURL: BASE });
    expect((await api.post('/auth/login', { form: { email: OWNER.email, password: OWNER.password, next: '/' } })).ok()).toBe(true);
    const base = await playlistWithImage(api, 'Base', 21);
    const lunch = await playlistWithImage(api, 'Lunch', 22);
    const screen = await (await browser.newContext({ baseURL: BASE })).newPage();
    const deviceId = await pairedPlayer(api, screen, 'Clock kiosk', null, 'UTC');
    // The display plays Base by default; Lunch from the next whole minute
    // that is at least 40 s away (windows are whole minutes), for an hour.
    const device = await (await api.get(`/api/v1/devices/${deviceId}`)).json();
    const assigned = await api.patch(`/api/v1/devices/${deviceId}`, { headers: { 'if-match': `"${device.version}"` }, data: { playlist_id: base } });
    expect(assigned.status(), await assigned.text()).toBe(200);
    const player = screen.locator('.player');
    await expect(player).toHaveAttribute('data-playlist', base, { timeout: 10_000 });
    const boundary = new Date(Math.ceil((Date.now() + 40_000) / 60_000) * 60_000);
    const today = boundary.toISOString().slice(0, 10);
    const created = await api.post('/api/v1/schedules', {
      data: { name: 'Lunch', playlist_id: lunch, device_id: deviceId, group_id: null, starts_on: today, recurrence: { every: 'day' },
        window: { start: hm(boundary), end: hm(new Date(boundary.getTime() + 3_600_000)) }, priority: 0 },
    });
    expect(created.status(), await created.text()).toBe(201);
    // The timeline the REST API answers says the same as what the player will do.
    const timeline = await (await api.get(`/api/v1/devices/${deviceId}/timeline?from=${new Date(Date.now()).toISOString()}&to=${new Date(boundary.getTime() + 60_000).toISOString()}`)).json();
    const lunchSegment = timeline.segments.find((s: { playlist_id: string }) => s.playlist_id === lunch);
    expect(lunchSegment.start).toBe(boundary.toISOString().replace('.000', ''));
    // The player has the manifest with the new timeline (it still plays Base), then the server goes.
    await screen.waitForFunction((id) => JSON.parse(localStorage.getItem('vizora.player.manifest') ?? '{}').timeline?.some((s: { playlist_id: string }) => s.playlist_id === id), lunch, { timeout: 10_000 });
    await expect(player).toHaveAttribute('data-playlist', base);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await expect(player).toHaveAttribute('data-online', 'false', { timeout: 15_000 });
    expect(Date.now()).toBeLessThan(boundary.getTime());
    await expect(player).toHaveAttribute('data-playlist', lunch, { timeout: boundary.getTime() - Date.now() + 3_000 });
    const late = Date.now() - boundary.getTime();
    console.log(`offline switch at the boundary: ${late} ms after it`);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2_000);
    await expect(screen.locator('img.slide')).toBeVisible();
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
});

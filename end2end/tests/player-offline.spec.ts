import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startOwnServer } from './helpers';
import { png } from './media';

// Its own server, so it can be stopped while the screen keeps playing.
const PORT = 3112;
const BASE = `http://127.0.0.1:${PORT}`;
const ADMIN = { email: 'offline@vizora.test', password: 'offline-password-1' };

const start = (dataDir: string) => startOwnServer(PORT, dataDir, ADMIN);

type Buffered = { type: string; id?: string };

test('the player keeps showing its content with the server gone and through a reload; buffered plays arrive once', async ({ browser, playwright }) => {
  test.setTimeout(120_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vizora-player-'));
  let server = await start(dataDir);
  try {
    const screen = await (await browser.newContext({ baseURL: BASE })).newPage();
    await screen.goto('/player');
    const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();

    const api = await playwright.request.newContext({ baseURL: BASE });
    expect((await api.post('/auth/login', { form: { email: ADMIN.email, password: ADMIN.password, next: '/' } })).ok()).toBe(true);
    const deviceId = randomUUID();
    const paired = await api.post('/api/v1/ops', {
      data: { op_id: randomUUID(), base_version: null, change: { kind: 'pair_device', device_id: deviceId, code, name: 'Offline kiosk', group_id: null, timezone: 'UTC' } },
    });
    expect(paired.status()).toBe(200);
    const [image] = await (await api.post('/api/v1/content', { multipart: { file: { name: 'Always on.png', mimeType: 'image/png', buffer: png(120, 80, 42) } } })).json();
    const list = await (await api.post('/api/v1/playlists', { data: { name: 'Always on' } })).json();
    await api.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: image.id, duration_ms: 1000 } });
    // The pairing's version holds even though the player's status moves meanwhile
    // (status changes never make an operator's base stale).
    const pairedVersion = (await paired.json()).event.body.device.version;
    const assigned = await api.patch(`/api/v1/devices/${deviceId}`, {
      headers: { 'if-match': `"${pairedVersion}"` },
      data: { playlist_id: list.id },
    });
    expect(assigned.status(), await assigned.text()).toBe(200);

    const media = `/media/${image.sha256}.png`;
    const slide = screen.locator('img.slide');
    await expect(slide).toHaveAttribute('src', media, { timeout: 10_000 });
    // The service worker controls the page and holds the page and the image.
    await screen.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 15_000 });
    await screen.waitForFunction(async (url) => !!(await caches.match(url)) && !!(await caches.match('/player')), media, { timeout: 15_000 });

    // The server goes away. The screen keeps playing, and keeps a record of it.
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await expect(screen.locator('.player')).toHaveAttribute('data-online', 'false', { timeout: 10_000 });
    await screen.waitForTimeout(2_500);
    await expect(slide).toHaveAttribute('src', media);

    // A reload with the server still gone: the page, the wasm and the image come from the cache.
    await screen.reload();
    await expect(slide).toHaveAttribute('src', media, { timeout: 15_000 });
    await expect.poll(() => slide.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);
    await screen.waitForTimeout(2_500);
    const buffered: Buffered[] = await screen.evaluate(() => JSON.parse(localStorage.getItem('vizora.player.outbox') ?? '[]'));
    const waiting = buffered.filter((m) => m.type === 'played').map((m) => m.id!);
    expect(waiting.length).toBeGreaterThan(1);

    // The server returns: what waited is sent, acknowledged and stored once each.
    server = await start(dataDir);
    await expect(screen.locator('.player')).toHaveAttribute('data-online', 'true', { timeout: 40_000 });
    await expect
      .poll(async () => {
        const left: Buffered[] = await screen.evaluate(() => JSON.parse(localStorage.getItem('vizora.player.outbox') ?? '[]'));
        return left.filter((m) => waiting.includes(m.id!)).length;
      }, { timeout: 15_000 })
      .toBe(0);
    const again = await playwright.request.newContext({ baseURL: BASE });
    await again.post('/auth/login', { form: { email: ADMIN.email, password: ADMIN.password, next: '/' } });
    const plays: { id: string }[] = await (await again.get(`/api/v1/devices/${deviceId}/plays?limit=10000`)).json();
    const ids = plays.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of waiting) expect(ids.filter((x) => x === id)).toHaveLength(1);
  } finally {
    server.kill('SIGKILL');
  }
});

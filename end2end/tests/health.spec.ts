import { randomUUID } from 'node:crypto';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { hydrated, row, unique } from './helpers';
import { livePage, png } from './media';

/** Pairs whatever shows `code` from the Devices page, as `name`. */
async function pair(operator: Page, code: string, name: string): Promise<void> {
  await operator.getByRole('button', { name: 'Pair display' }).click();
  const dialog = operator.getByRole('dialog', { name: 'Pair display' });
  await dialog.getByLabel('Code').fill(code);
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Pair' }).click();
  await expect(row(operator, name)).toContainText('paired');
}

/**
 * A display written against docs/device-protocol.md by hand, in a browser
 * page's own WebSocket: it reports the metrics the test sets (a real
 * `/player` has no thermometer) and answers screenshot commands.
 */
async function scriptedDisplay(browser: Browser): Promise<{ page: Page; code: string; set: (m: object) => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/healthz');
  const code = await page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const vz = { metrics: { cpu_pct: 20, memory_pct: 40, temperature_c: 45, storage_free_pct: 60 }, seq: 0 };
        (window as any).vz = vz;
        const ws = new WebSocket(`ws://${location.host}/device/ws`);
        ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token: null, player_version: 'e2e-script-1' }));
        ws.onerror = () => reject(new Error('the device socket failed'));
        ws.onmessage = (m) => {
          const msg = JSON.parse(m.data);
          if (msg.type === 'pairing') resolve(msg.code);
          if (msg.type === 'welcome') {
            const beat = () =>
              ws.send(JSON.stringify({ type: 'heartbeat', seq: ++vz.seq, at: Date.now(), metrics: vz.metrics, playing: null }));
            beat();
            setInterval(beat, msg.heartbeat_seconds * 1000);
          }
        };
      }),
  );
  const set = (m: object) =>
    page.evaluate((m) => {
      Object.assign((window as any).vz.metrics, m);
    }, m);
  return { page, code, set };
}

/** Sets one alert rule through the REST API, against the version read. */
async function setRule(page: Page, kind: string, patch: object): Promise<void> {
  const snapshot = await (await page.request.get('/api/v1/alerts')).json();
  const rule = snapshot.rules.find((r: any) => r.kind === kind);
  const res = await page.request.post('/api/v1/ops', {
    data: {
      op_id: randomUUID(),
      base_version: rule.version,
      change: { kind: 'update_alert_rule', rule_id: rule.id, patch },
    },
  });
  expect(res.status(), await res.text()).toBe(200);
}

test('an offline alert is raised, acknowledged and resolved live on Health', async ({ browser }) => {
  // Real waits (three missed heartbeats, a reconnect) on two busy cores.
  test.setTimeout(60_000);
  const admin = await livePage(browser, '/settings');
  // The offline rule, set in Settings to raise at once (the default waits 5 minutes).
  const offlineRow = admin.locator('tr[data-rule="offline"]');
  await offlineRow.getByLabel('Display offline minutes').fill('0');
  await offlineRow.getByLabel('Display offline severity').selectOption('critical');
  await offlineRow.getByRole('button', { name: 'Save' }).click();
  await expect(admin.locator('.sync .pending')).toHaveAttribute('data-count', '0');
  await admin.reload();
  await hydrated(admin);
  await expect(admin.locator('tr[data-rule="offline"]').getByLabel('Display offline minutes')).toHaveValue('0');

  // A real /player, paired and idle.
  const screenContext = await browser.newContext();
  const screen = await screenContext.newPage();
  await screen.goto('/player');
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  await admin.goto('/devices');
  await hydrated(admin);
  const name = unique('Alerting');
  await pair(admin, code, name);
  await expect(row(admin, name).locator('.badge')).toHaveText('Idle', { timeout: 10_000 });

  // Two operators watch Health.
  await admin.goto('/health');
  await hydrated(admin);
  const other = await livePage(browser, '/health');
  const overview = await livePage(browser, '/');
  await expect(admin.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  const alertOn = (page: Page) => page.locator('ul[aria-label="Open alerts"] li.alert-item').filter({ hasText: name });
  await expect(alertOn(admin)).toHaveCount(0);

  // The screen's page goes away: offline within three 1-s intervals, and the alert arrives on both.
  await screen.close();
  await expect(alertOn(admin)).toBeVisible({ timeout: 10_000 });
  await expect(alertOn(other)).toBeVisible();
  await expect(alertOn(overview)).toBeVisible();
  await expect(alertOn(admin)).toContainText('Display offline');
  await expect(alertOn(admin)).toContainText('No heartbeat');
  await expect(alertOn(admin).locator('.badge')).toHaveText('critical');
  expect(await alertOn(other).evaluate((el) => getComputedStyle(el).animationName)).toBe('alert-in');
  await expect(other.locator('[data-kpi="offline"] .kpi-value')).not.toHaveText('0');

  // Acknowledged by one, seen by the other.
  await alertOn(admin).getByRole('button', { name: 'Acknowledge' }).click();
  await expect(alertOn(admin)).toContainText('Acknowledged by admin@vizora.test');
  await expect(alertOn(other)).toContainText('Acknowledged by admin@vizora.test');
  await expect(alertOn(other).getByRole('button', { name: 'Acknowledge' })).toHaveCount(0);

  // The display comes back (same browser, so the same token): the alert resolves on its own.
  const back = await screenContext.newPage();
  await back.goto('/player');
  await expect(back.locator('.player[data-phase="playing"]')).toBeVisible({ timeout: 15_000 });
  await expect(alertOn(admin)).toHaveCount(0, { timeout: 10_000 });
  await expect(alertOn(other)).toHaveCount(0);
  await expect(alertOn(overview)).toHaveCount(0);
  const resolved = other.locator('tbody[aria-label="Resolved alerts"] tr').filter({ hasText: name });
  await expect(resolved).toBeVisible();
  await expect(resolved).toContainText('admin@vizora.test');
  await screenContext.close();
});

test('a display detail view charts its metrics and shows a temperature alert come and go', async ({ browser }) => {
  const operator = await livePage(browser, '/devices');
  await setRule(operator, 'temperature', { threshold: 75, minutes: 0 });
  const display = await scriptedDisplay(browser);
  const name = unique('Thermo');
  await pair(operator, display.code, name);
  await expect(row(operator, name).locator('.badge')).toHaveText('Idle', { timeout: 10_000 });

  await row(operator, name).getByRole('link', { name }).click();
  await expect(operator).toHaveURL(/\/devices\/[0-9a-f-]+$/);
  await expect(operator.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(operator.locator('dd.connected')).toHaveText('connected');
  // Samples every 2 s (end2end/vizora.e2e.toml): the charts fill in without a reload.
  const temperature = operator.locator('figure[data-metric="temperature"]');
  await expect(temperature.locator('svg')).toBeVisible({ timeout: 15_000 });
  await expect(temperature).toHaveAttribute('data-samples', /^([2-9]|\d\d+)$/);
  // A steady 45 °C is a flat line across the middle of the chart.
  await expect(temperature.locator('polyline')).toHaveAttribute('points', /^0\.0,32\.0 .* 240\.0,32\.0$/);
  await expect(temperature.locator('.chart-value')).toHaveText('45.0 °C');
  await expect(operator.locator('figure[data-metric="cpu"] svg')).toBeVisible();

  // Too hot: raised, and the view shows it; cooled down: resolved.
  await display.set({ temperature_c: 88.5 });
  const alerts = operator.locator('ul[aria-label="Alerts on this display"]');
  await expect(alerts).toContainText('Temperature high', { timeout: 10_000 });
  await expect(alerts).toContainText('88.5 °C, above 75 °C · raised');
  await expect(temperature.locator('.chart-value')).toHaveText('88.5 °C', { timeout: 10_000 });
  await display.set({ temperature_c: 60 });
  await expect(alerts).toContainText('resolved', { timeout: 10_000 });
  await setRule(operator, 'temperature', { minutes: 2 });
  await display.page.context().close();
});

test('a screenshot of a real /player shows what it plays on the detail view', async ({ browser }) => {
  const screenContext = await browser.newContext({ viewport: { width: 960, height: 540 } });
  const screen = await screenContext.newPage();
  await screen.goto('/player');
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  const operator = await livePage(browser, '/devices');
  const name = unique('Snap');
  await pair(operator, code, name);

  // It plays one image (160×90, the screen's shape).
  const seed = 97;
  const tag = name.split(' ')[1];
  const upload = await operator.request.post('/api/v1/content', {
    multipart: { file: { name: `Snap art ${tag}.png`, mimeType: 'image/png', buffer: png(160, 90, seed) } },
  });
  const [image] = await upload.json();
  const list = await (await operator.request.post('/api/v1/playlists', { data: { name: `Snap loop ${tag}` } })).json();
  await operator.request.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: image.id, duration_ms: 60_000 } });
  await row(operator, name).getByRole('button', { name: 'Edit' }).click();
  const edit = operator.getByRole('dialog', { name: 'Edit display' });
  await edit.getByLabel('Playlist').selectOption({ label: `Snap loop ${tag}` });
  await edit.getByRole('button', { name: 'Save' }).click();
  const slide = screen.locator('img.slide');
  await expect.poll(() => slide.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);

  await row(operator, name).getByRole('link', { name }).click();
  await expect(operator.getByText('No screenshot yet.')).toBeVisible();
  await expect(operator.locator('dd.playing')).toHaveText(`Snap art ${tag}`, { timeout: 10_000 });
  await operator.getByRole('button', { name: 'Take screenshot' }).click();
  const shot = operator.getByRole('img', { name: 'Latest screenshot of this display' });
  await expect(shot).toBeVisible({ timeout: 10_000 });
  await expect.poll(() => shot.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(640);
  // Its middle is the image's middle pixel (JPEG, scaled: close, not exact).
  const [r, g, b] = await shot.evaluate((el: HTMLImageElement) => {
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(el, 0, 0);
    return Array.from(ctx.getImageData(c.width / 2, c.height / 2, 1, 1).data);
  });
  const want = [(80 * 4 + seed) & 0xff, (45 * 4 + seed * 7) & 0xff, (seed * 13) & 0xff];
  for (const [got, expected] of [[r, want[0]], [g, want[1]], [b, want[2]]]) {
    expect(Math.abs(got - expected)).toBeLessThan(40);
  }
  await screenContext.close();
});

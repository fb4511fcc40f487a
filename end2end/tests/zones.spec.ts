import { expect, test } from '@playwright/test';
import { unique } from './helpers';
import { livePage } from './media';

// The browser evaluates schedules with its own tz database (Intl), the server
// with chrono-tz: for displays in zones with odd offsets and half-hour DST,
// the display's "next 48 hours" on its page shows the same local times as the
// server's timeline for the same display.
const ZONES = ['Asia/Kathmandu', 'America/St_Johns', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/New_York'];

const minutes = (hm: string) => {
  const [h, m] = hm.split(':').map(Number);
  return h * 60 + m;
};
/** Minutes between two wall-clock times, across midnight too. */
const apart = (a: string, b: string) => {
  const d = Math.abs(minutes(a) - minutes(b));
  return Math.min(d, 24 * 60 - d);
};

test('a display page shows its timeline in the display zone as the server computes it', async ({ browser }) => {
  test.setTimeout(90_000);
  const page = await livePage(browser, '/devices');
  const api = page.request;
  const list = await (await api.post('/api/v1/playlists', { data: { name: unique('Zones') } })).json();
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  for (const timezone of ZONES) {
    const created = await api.post('/api/v1/devices', { data: { name: unique(timezone), timezone } });
    expect(created.status(), await created.text()).toBe(201);
    const device = await created.json();
    const schedule = await api.post('/api/v1/schedules', {
      data: {
        name: unique('Morning'), playlist_id: list.id, device_id: device.id, starts_on: yesterday,
        recurrence: { every: 'day' }, window: { start: '09:00', end: '10:30' },
      },
    });
    expect(schedule.status(), await schedule.text()).toBe(201);
    const timeline = await (await api.get(`/api/v1/devices/${device.id}/timeline`)).json();
    const segments: { start_local: string; end_local: string }[] = timeline.segments;
    // Over 48 hours a daily window makes four or five stretches.
    expect(segments.length, timezone).toBeGreaterThanOrEqual(4);

    await page.goto(`/devices/${device.id}`);
    const rows = page.locator('table.timeline tbody tr');
    await expect(rows).toHaveCount(segments.length, { timeout: 10_000 });
    const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent!.slice(-5))));
    // The first row starts now and the last ends 48 hours on: the page's
    // clock and the server's may be a minute apart there.
    const [first] = cells;
    expect(apart(first[0], segments[0].start_local.slice(11, 16)), `${timezone} now`).toBeLessThanOrEqual(1);
    for (let i = 0; i < segments.length; i++) {
      if (i > 0) expect(cells[i][0], `${timezone} row ${i} from`).toBe(segments[i].start_local.slice(11, 16));
      if (i < segments.length - 1) expect(cells[i][1], `${timezone} row ${i} to`).toBe(segments[i].end_local.slice(11, 16));
    }
  }
});

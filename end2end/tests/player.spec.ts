import { expect, test } from '@playwright/test';
import { row, unique } from './helpers';
import { livePage, png } from './media';

test('a /player page is paired from Devices, goes online, plays its playlist, stops when unpaired', async ({ browser }) => {
  // The screen: a fresh browser with no session at all.
  const screenContext = await browser.newContext({ viewport: { width: 960, height: 540 } });
  const screen = await screenContext.newPage();
  await screen.goto('/player');
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  expect(code).toMatch(/^[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}$/);

  // The operator pairs it.
  const operator = await livePage(browser, '/devices');
  const name = unique('Kiosk');
  await operator.getByRole('button', { name: 'Pair display' }).click();
  const dialog = operator.getByRole('dialog', { name: 'Pair display' });
  await dialog.getByLabel('Code').fill(code.toLowerCase());
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Pair' }).click();
  await expect(row(operator, name)).toContainText('paired');

  // Nothing assigned yet: the screen says so, and the display is idle (connected).
  await expect(screen.locator('.player[data-phase="playing"]')).toBeVisible({ timeout: 10_000 });
  await expect(screen.getByText('Nothing to play yet')).toBeVisible();
  await expect(row(operator, name).locator('.badge')).toHaveText('Idle', { timeout: 10_000 });

  // An image in a playlist, assigned to the display: it plays, and the display is online.
  const tag = name.split(' ')[1];
  const upload = await operator.request.post('/api/v1/content', {
    multipart: { file: { name: `Kiosk art ${tag}.png`, mimeType: 'image/png', buffer: png(160, 90, 201) } },
  });
  const [image] = await upload.json();
  const list = await (await operator.request.post('/api/v1/playlists', { data: { name: `Kiosk loop ${tag}` } })).json();
  await operator.request.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: image.id, duration_ms: 2000 } });
  await row(operator, name).getByRole('button', { name: 'Edit' }).click();
  const edit = operator.getByRole('dialog', { name: 'Edit display' });
  await edit.getByLabel('Playlist').selectOption({ label: `Kiosk loop ${tag}` });
  await edit.getByRole('button', { name: 'Save' }).click();
  const slide = screen.locator('img.slide');
  await expect(slide).toHaveAttribute('src', `/media/${image.sha256}.png`, { timeout: 10_000 });
  await expect.poll(() => slide.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
  await expect(row(operator, name).locator('.badge')).toHaveText('Online', { timeout: 10_000 });
  await expect(row(operator, name).locator('td.playlist')).toHaveText(`Kiosk loop ${tag}`);

  // Unpaired from Devices: the screen is disconnected at once and asks to pair again.
  await row(operator, name).getByRole('button', { name: 'Unpair' }).click();
  await operator.getByRole('alertdialog').getByRole('button', { name: 'Unpair' }).click();
  await expect(screen.getByLabel('Pairing code')).toBeVisible({ timeout: 10_000 });
  await expect(row(operator, name)).not.toContainText('paired');
  await expect(row(operator, name).locator('.badge')).toHaveText('Offline', { timeout: 10_000 });
});

test('a display that stops heartbeating shows offline within three intervals', async ({ browser }) => {
  const screenContext = await browser.newContext();
  const screen = await screenContext.newPage();
  await screen.goto('/player');
  const code = (await screen.getByLabel('Pairing code').textContent({ timeout: 15_000 }))!.trim();
  const operator = await livePage(browser, '/devices');
  const name = unique('Silent');
  await operator.getByRole('button', { name: 'Pair display' }).click();
  const dialog = operator.getByRole('dialog', { name: 'Pair display' });
  await dialog.getByLabel('Code').fill(code);
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Pair' }).click();
  await expect(row(operator, name).locator('.badge')).toHaveText('Idle', { timeout: 10_000 });
  // The screen goes dark (its browser closes): no more heartbeats. Interval 1 s (end2end/vizora.e2e.toml).
  const lastSeen = Date.now();
  await screenContext.close();
  await expect(row(operator, name).locator('.badge')).toHaveText('Offline', { timeout: 10_000 });
  // Within three intervals of the last beat, plus the one-second status tick and delivery.
  expect(Date.now() - lastSeen).toBeLessThan(3 * 1000 + 2500);
});

import { expect, test } from '@playwright/test';
import { addUser, unique } from './helpers';
import { card, itemNames, livePage, png, sha256 } from './media';

test('upload by picker and by drop, thumbnails shown, into a playlist, reordered, assigned to a group, all live for a second operator', async ({ browser }) => {
  const alice = await livePage(browser, '/content');
  const bobUser = addUser('editor');
  const tag = unique('e2e').split(' ')[1];
  const sunrise = `Sunrise ${tag}`;
  const menu = `Menu ${tag}`;

  // The file picker: one file.
  const first = png(320, 180, 11);
  await alice.getByLabel('Upload files').setInputFiles({ name: `${sunrise}.png`, mimeType: 'image/png', buffer: first });
  // Drag and drop: a File dropped on the drop zone.
  const second = png(200, 200, 23);
  await alice.evaluate(
    ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: 'image/png' }));
      document.querySelector('.dropzone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { b64: second.toString('base64'), name: `${menu}.png` },
  );
  await expect(alice.locator('.upload[data-state="done"]')).toHaveCount(2, { timeout: 10_000 });
  await expect(alice.getByRole('progressbar', { name: `Uploading ${sunrise}.png` })).toHaveAttribute('value', '100');

  // Both cards, with their real thumbnails (loaded, hash-named).
  for (const [name, bytes, w, h] of [[sunrise, first, 320, 180], [menu, second, 200, 200]] as const) {
    const c = card(alice, name);
    await expect(c).toBeVisible();
    await expect(c).toContainText(`${w}×${h}`);
    const img = c.locator('.thumb img');
    await expect(img).toHaveAttribute('src', `/media/thumbs/${sha256(bytes)}.png`);
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
  }

  // A playlist with both items.
  await alice.goto('/playlists');
  await expect(alice.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  const listName = `Loop ${tag}`;
  await alice.getByLabel('Playlist name').first().fill(listName);
  await alice.getByRole('button', { name: 'Create playlist' }).click();
  await expect(alice).toHaveURL(/\/playlists\?id=/);
  const url = alice.url();
  await alice.getByRole('button', { name: `Add ${sunrise}` }).click();
  await alice.getByRole('button', { name: `Add ${menu}` }).click();
  await expect.poll(() => itemNames(alice)).toEqual([sunrise, menu]);
  await expect(alice.locator('.editor .total')).toContainText('2 items · total 0:20');

  // Bob opens the same playlist and a Devices page; both stay open, never reloaded.
  const bob = await livePage(browser, url.replace(/^https?:\/\/[^/]+/, ''), bobUser);
  const bobDevices = await livePage(browser, '/devices', bobUser);
  await expect.poll(() => itemNames(bob)).toEqual([sunrise, menu]);

  // Keyboard reorder (Move down), then drag-and-drop back.
  await alice.getByRole('button', { name: `Move down ${sunrise}` }).click();
  await expect.poll(() => itemNames(alice)).toEqual([menu, sunrise]);
  await expect.poll(() => itemNames(bob), { timeout: 2_000 }).toEqual([menu, sunrise]);
  await alice.locator('.editor .item', { hasText: sunrise }).dragTo(alice.locator('.editor .item', { hasText: menu }));
  await expect.poll(() => itemNames(alice)).toEqual([sunrise, menu]);
  await expect.poll(() => itemNames(bob), { timeout: 2_000 }).toEqual([sunrise, menu]);

  // Assign it to the Lobby screens group on Devices; Bob's Devices page follows.
  await alice.goto('/devices');
  await expect(alice.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  await alice.getByText('Group playlists').click();
  await alice.getByLabel('Default playlist of Lobby screens').selectOption({ label: listName });
  await bobDevices.getByText('Group playlists').click();
  await expect(bobDevices.getByLabel('Default playlist of Lobby screens')).toHaveValue(/.+/, { timeout: 2_000 });
  await expect(bobDevices.getByLabel('Default playlist of Lobby screens').locator('option:checked')).toHaveText(listName);
  await expect(bobDevices.locator('td.playlist', { hasText: `${listName} (group)` }).first()).toBeVisible({ timeout: 2_000 });

  // The item is used now: deleting it is refused with where it is used, and rolled back.
  await alice.goto('/content');
  await expect(alice.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  await expect(card(alice, sunrise)).toContainText(`Used in: ${listName}`);
  await card(alice, sunrise).getByRole('button', { name: `Delete ${sunrise}` }).click();
  await alice.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  await expect(alice.getByRole('alert').filter({ hasText: `is used in a playlist: “${listName}”` })).toBeVisible();
  await expect(card(alice, sunrise)).toBeVisible();
  for (const page of [alice, bob, bobDevices]) {
    await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0');
  }
});

test('tags are added and removed inline, filter the library, and batch-tagging reaches every selected item', async ({ browser }) => {
  const page = await livePage(browser, '/content');
  const tag = unique('t').split(' ')[1];
  const names = [`Poster A ${tag}`, `Poster B ${tag}`];
  for (const [i, name] of names.entries()) {
    await page.getByLabel('Upload files').setInputFiles({ name: `${name}.png`, mimeType: 'image/png', buffer: png(64, 64, 100 + i + Number.parseInt(tag, 16) % 50) });
    await expect(card(page, name)).toBeVisible({ timeout: 10_000 });
  }
  await card(page, names[0]).getByLabel(`Add a tag to ${names[0]}`).fill(`lobby-${tag}`);
  await card(page, names[0]).getByLabel(`Add a tag to ${names[0]}`).press('Enter');
  await expect(card(page, names[0]).locator('.tag', { hasText: `lobby-${tag}` })).toBeVisible();
  await page.getByLabel('Tag', { exact: true }).selectOption(`lobby-${tag}`);
  await expect(page.locator('.content-card')).toHaveCount(1);
  await page.getByLabel('Tag', { exact: true }).selectOption('');
  await card(page, names[0]).getByRole('button', { name: `Remove tag lobby-${tag}` }).click();
  await expect(card(page, names[0]).locator('.tag', { hasText: `lobby-${tag}` })).toHaveCount(0);

  // Select both, tag them in one go.
  for (const name of names) await page.getByLabel(`Select ${name}`).check();
  await page.getByLabel('Tag to add to the selection').fill(`batch-${tag}`);
  await page.getByRole('button', { name: 'Tag selected' }).click();
  for (const name of names) await expect(card(page, name).locator('.tag', { hasText: `batch-${tag}` })).toBeVisible();
  // Table view shows the same items.
  await page.getByRole('searchbox', { name: 'Search' }).fill(tag);
  await page.getByRole('button', { name: 'Table' }).click();
  await expect(page.locator('table.content-table tbody tr')).toHaveCount(2);
  await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0');
});

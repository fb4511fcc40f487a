import { expect, test } from '@playwright/test';
import { addUser, unique } from './helpers';
import { itemNames, livePage } from './media';

test('two operators reorder the same playlist at once: both end with the same order, nothing lost or doubled', async ({ browser }) => {
  const tag = unique('c').split(' ')[1];
  const alice = await livePage(browser, '/playlists');
  // Items through the REST API (web pages, no upload needed).
  const api = alice.request;
  const names = ['One', 'Two', 'Three', 'Four', 'Five'].map((n) => `${n} ${tag}`);
  const list = await (await api.post('/api/v1/playlists', { data: { name: `Race ${tag}` } })).json();
  for (const name of names) {
    const item = await (await api.post('/api/v1/content/web-pages', { data: { name, url: `https://example.com/${encodeURIComponent(name)}` } })).json();
    const added = await api.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: item.id } });
    expect(added.status()).toBe(201);
  }
  const path = `/playlists?id=${list.id}`;
  await alice.goto(path);
  await expect(alice.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  const bob = await livePage(browser, path, addUser('editor'));
  await expect.poll(() => itemNames(alice)).toEqual(names);
  await expect.poll(() => itemNames(bob)).toEqual(names);

  // At the same moment: Alice moves One down twice, Bob moves Five up twice.
  await Promise.all([
    (async () => {
      await alice.getByRole('button', { name: `Move down ${names[0]}` }).click();
      await alice.getByRole('button', { name: `Move down ${names[0]}` }).click();
    })(),
    (async () => {
      await bob.getByRole('button', { name: `Move up ${names[4]}` }).click();
      await bob.getByRole('button', { name: `Move up ${names[4]}` }).click();
    })(),
  ]);
  for (const page of [alice, bob]) await expect(page.locator('.sync .pending')).toHaveAttribute('data-count', '0');

  const server: { items: { content_id: string }[] } = await (await api.get(`/api/v1/playlists/${list.id}`)).json();
  expect(server.items).toHaveLength(5);
  const final = await itemNames(alice);
  await expect.poll(() => itemNames(bob)).toEqual(final);
  expect([...final].sort()).toEqual([...names].sort());
  // Both operators' moves are in the result.
  expect(final.indexOf(names[0])).toBeGreaterThan(0);
  expect(final.indexOf(names[4])).toBeLessThan(4);
});

test('a duration being typed keeps its text and focus while another operator edits the playlist', async ({ browser }) => {
  const tag = unique('t').split(' ')[1];
  const alice = await livePage(browser, '/playlists');
  const api = alice.request;
  const list = await (await api.post('/api/v1/playlists', { data: { name: `Typing ${tag}` } })).json();
  const names = [`First ${tag}`, `Second ${tag}`];
  for (const name of names) {
    const item = await (await api.post('/api/v1/content/web-pages', { data: { name, url: 'https://example.com/' } })).json();
    await api.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: item.id } });
  }
  await alice.goto(`/playlists?id=${list.id}`);
  await expect(alice.locator('.connection[data-state="live"]')).toBeVisible({ timeout: 10_000 });
  await expect.poll(() => itemNames(alice)).toEqual(names);

  // Alice is typing a duration, not yet committed...
  const box = alice.getByLabel(`Seconds for ${names[0]}`);
  await box.fill('17');
  // ...when someone else adds an item and changes the other one's duration.
  const third = await (await api.post('/api/v1/content/web-pages', { data: { name: `Third ${tag}`, url: 'https://example.com/' } })).json();
  await api.post(`/api/v1/playlists/${list.id}/items`, { data: { content_id: third.id } });
  const server = await (await api.get(`/api/v1/playlists/${list.id}`)).json();
  await api.patch(`/api/v1/playlists/${list.id}/items/${server.items[1].id}`, { data: { duration_ms: 42_000 } });
  await expect.poll(() => itemNames(alice)).toEqual([...names, `Third ${tag}`]);
  await expect(alice.getByLabel(`Seconds for ${names[1]}`)).toHaveValue('42');
  // Her text and her caret are where she left them; Enter commits it.
  await expect(box).toHaveValue('17');
  await expect(box).toBeFocused();
  await box.press('Enter');
  await box.blur();
  await expect(alice.locator('.sync .pending')).toHaveAttribute('data-count', '0');
  const after = await (await api.get(`/api/v1/playlists/${list.id}`)).json();
  expect(after.items.map((i: { duration_ms: number }) => i.duration_ms)).toEqual([17_000, 42_000, after.items[2].duration_ms]);
});

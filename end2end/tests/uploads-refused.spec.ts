import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { unique } from './helpers';
import { MEDIA_DIR, livePage, png, sha256, storedFiles } from './media';

// The suite's server runs with upload-limit-mb = 2 (end2end/vizora.e2e.toml).
test('a renamed text file, an oversized file and an empty file are refused with their reason, and nothing is stored', async ({ browser }) => {
  const page = await livePage(browser, '/content');
  const before = await (await page.request.get('/api/v1/content')).json();
  const tag = unique('x').split(' ')[1];

  const text = Buffer.from(`shopping list ${tag}\n- milk\n- bread\n`);
  const big = Buffer.concat([png(32, 32, 5), Buffer.alloc(3 * 1024 * 1024, 7)]);
  const cases = [
    { name: `notes-${tag}.png`, buffer: text, reason: 'This file is plain text; only PNG, JPEG, WebP, GIF, MP4 and WebM can be uploaded.' },
    { name: `huge-${tag}.png`, buffer: big, reason: 'larger than the 2 MB limit' },
    { name: `empty-${tag}.png`, buffer: Buffer.alloc(0), reason: 'The file is empty.' },
  ];
  for (const c of cases) {
    await page.getByLabel('Upload files').setInputFiles({ name: c.name, mimeType: 'image/png', buffer: c.buffer });
    const row = page.locator('.upload', { hasText: c.name });
    await expect(row).toHaveAttribute('data-state', 'failed', { timeout: 10_000 });
    await expect(row.getByRole('alert')).toContainText(c.reason);
    await expect(row.getByRole('alert')).toContainText(c.name);
  }

  // Disk: no file named by any of their hashes, and no temp file of theirs left.
  for (const c of cases) expect(storedFiles(sha256(c.buffer))).toEqual([]);
  const tmp = path.join(MEDIA_DIR, 'tmp');
  if (existsSync(tmp)) {
    // Other specs may be uploading right now; give their temp files a moment.
    await expect.poll(() => readdirSync(tmp).length, { timeout: 5_000 }).toBe(0);
  }
  // Database: no item with any of these names.
  const after: { name: string }[] = await (await page.request.get('/api/v1/content')).json();
  expect(after.filter((c) => c.name.includes(tag))).toEqual([]);
  expect(after.length).toBeGreaterThanOrEqual(before.length);
  await expect(page.locator('.content-card', { hasText: tag })).toHaveCount(0);
});

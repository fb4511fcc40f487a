import { expect, test } from '@playwright/test';
import { signIn } from './helpers';
import { png, sha256 } from './media';

test('media is served with ranges (206 and the right bytes) and ETag revalidation (304)', async ({ page }) => {
  await signIn(page);
  const bytes = png(400, 300, 77);
  const created = await page.request.post('/api/v1/content', {
    multipart: { file: { name: 'range-test.png', mimeType: 'image/png', buffer: bytes } },
  });
  expect(created.status()).toBe(201);
  const [item] = await created.json();
  expect(item.sha256).toBe(sha256(bytes));
  const url = `/media/${item.sha256}.png`;

  const full = await page.request.get(url);
  expect(full.status()).toBe(200);
  expect(full.headers()['cache-control']).toContain('immutable');
  expect(full.headers()['accept-ranges']).toBe('bytes');
  expect(Buffer.compare(await full.body(), bytes)).toBe(0);
  const etag = full.headers()['etag'];
  expect(etag).toBe(`"${item.sha256}"`);

  const part = await page.request.get(url, { headers: { range: 'bytes=100-199' } });
  expect(part.status()).toBe(206);
  expect(part.headers()['content-range']).toBe(`bytes 100-199/${bytes.length}`);
  expect(Buffer.compare(await part.body(), bytes.subarray(100, 200))).toBe(0);

  const tail = await page.request.get(url, { headers: { range: 'bytes=-16' } });
  expect(tail.status()).toBe(206);
  expect(Buffer.compare(await tail.body(), bytes.subarray(bytes.length - 16))).toBe(0);

  const beyond = await page.request.get(url, { headers: { range: `bytes=${bytes.length + 10}-` } });
  expect(beyond.status()).toBe(416);

  const again = await page.request.get(url, { headers: { 'if-none-match': etag } });
  expect(again.status()).toBe(304);
  expect(await again.body()).toHaveLength(0);
});

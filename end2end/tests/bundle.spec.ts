import { expect, test, type Response } from '@playwright/test';
import { hydrated, signIn } from './helpers';

/** The page's own responses, by kind. */
function kindOf(r: Response): string | null {
  const url = new URL(r.url());
  if (r.request().resourceType() === 'document') return 'html';
  if (url.pathname.startsWith('/pkg/') && url.pathname.endsWith('.wasm')) return 'wasm';
  if (url.pathname.startsWith('/pkg/') && url.pathname.endsWith('.js')) return 'js';
  if (url.pathname.startsWith('/pkg/') && url.pathname.endsWith('.css')) return 'css';
  return null;
}

/** The route parts (`split___<route>_route_view_…wasm`) a page fetched. */
function routeParts(urls: string[]): string[] {
  const parts = urls.map((u) => /\/split___([a-z]+)_route_view_/.exec(new URL(u).pathname)?.[1]);
  return [...new Set(parts.filter((r): r is string => !!r))];
}

test('a console page, its wasm, script and styles arrive compressed, hash-named and cached for good', async ({ page }) => {
  await signIn(page, undefined, '/devices');
  const seen = new Map<string, Response[]>();
  page.on('response', (r) => {
    const kind = kindOf(r);
    if (kind && r.status() === 200) seen.set(kind, [...(seen.get(kind) ?? []), r]);
  });
  await page.goto('/devices', { waitUntil: 'load' });
  await hydrated(page);
  for (const kind of ['html', 'wasm', 'js', 'css']) {
    const all = seen.get(kind) ?? [];
    expect(all.length, `no ${kind} response`).toBeGreaterThan(0);
    for (const r of all) {
      const h = await r.allHeaders();
      // Chromium offers brotli only over HTTPS: here it asks for gzip.
      expect(['br', 'gzip'], `${kind} ${r.url()}`).toContain(h['content-encoding']);
      expect(h['vary'] ?? '', `${kind} Vary`).toMatch(/accept-encoding/i);
      if (kind !== 'html') {
        expect(new URL(r.url()).pathname, 'asset names carry their hash').toMatch(/^\/pkg\/[A-Za-z0-9_]+\.[A-Za-z0-9_-]{16,}\.(wasm|js|css)$/);
        expect(h['cache-control']).toBe('public, max-age=31536000, immutable');
      }
    }
  }
  // The wasm comes in parts: the shared one, and of the pages' parts only
  // this page's.
  const wasm = (seen.get('wasm') ?? []).map((r) => r.url());
  expect(wasm.some((u) => /\/pkg\/vizora\.[A-Za-z0-9_-]{16,}\.wasm$/.test(u)), 'the shared part').toBe(true);
  expect(routeParts(wasm), wasm.join(' ')).toEqual(['devices']);
  // Another page fetches its own part when it is first opened.
  const before = wasm.length;
  await page.getByRole('navigation').getByRole('link', { name: 'Health' }).click();
  await expect(page).toHaveURL(/\/health$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Health' })).toBeVisible();
  const after = (seen.get('wasm') ?? []).map((r) => r.url());
  expect(routeParts(after.slice(before)), after.slice(before).join(' ')).toEqual(['health']);

  // A client that asks for brotli gets the build's brotli file; one that
  // asks for nothing gets the plain bytes, with the same Vary.
  const shared = wasm.find((u) => /\/pkg\/vizora\./.test(u))!;
  const br = await page.request.get(shared, { headers: { 'accept-encoding': 'br' } });
  expect(br.headers()['content-encoding']).toBe('br');
  const plain = await page.request.get(shared, { headers: { 'accept-encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  expect(plain.headers()['vary']).toMatch(/accept-encoding/i);
  const body = await plain.body();
  expect(Array.from(body.subarray(0, 4))).toEqual([0, 0x61, 0x73, 0x6d]);

  // JSON from the REST API and the long-poll are compressed on the fly.
  const api = await page.request.get('/api/v1/devices', { headers: { 'accept-encoding': 'gzip' } });
  expect(api.status()).toBe(200);
  expect(api.headers()['content-encoding']).toBe('gzip');
  expect((await api.json()).devices.length).toBeGreaterThan(0);
});

test('/player fetches its own part and none of the console pages\' parts', async ({ page }) => {
  const wasm: string[] = [];
  page.on('response', (r) => {
    if (kindOf(r) === 'wasm') wasm.push(r.url());
  });
  await page.goto('/player', { waitUntil: 'load' });
  await hydrated(page);
  expect(routeParts(wasm), wasm.join(' ')).toEqual(['player']);
});

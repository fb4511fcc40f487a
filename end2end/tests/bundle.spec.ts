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

test('a console page, its wasm, script and styles arrive compressed, hash-named and cached for good', async ({ page }) => {
  await signIn(page, undefined, '/devices');
  const seen = new Map<string, Response>();
  page.on('response', (r) => {
    const kind = kindOf(r);
    if (kind && r.status() === 200) seen.set(kind, r);
  });
  await page.goto('/devices', { waitUntil: 'load' });
  await hydrated(page);
  for (const kind of ['html', 'wasm', 'js', 'css']) {
    const r = seen.get(kind);
    expect(r, `no ${kind} response`).toBeTruthy();
    const h = await r!.allHeaders();
    // Chromium offers brotli only over HTTPS: here it asks for gzip.
    expect(['br', 'gzip'], `${kind} ${r!.url()}`).toContain(h['content-encoding']);
    expect(h['vary'] ?? '', `${kind} Vary`).toMatch(/accept-encoding/i);
    if (kind !== 'html') {
      expect(new URL(r!.url()).pathname, 'asset names carry their hash').toMatch(/^\/pkg\/(vizora|__wasm_split|split_[a-z]+_part_\d+|chunk_\d+)\.[A-Za-z0-9_-]{16,}\.(wasm|js|css)$/);
      expect(h['cache-control']).toBe('public, max-age=31536000, immutable');
    }
  }

  // A client that asks for brotli gets the build's brotli file; one that
  // asks for nothing gets the plain bytes, with the same Vary.
  const wasm = seen.get('wasm')!.url();
  const br = await page.request.get(wasm, { headers: { 'accept-encoding': 'br' } });
  expect(br.headers()['content-encoding']).toBe('br');
  const plain = await page.request.get(wasm, { headers: { 'accept-encoding': 'identity' } });
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

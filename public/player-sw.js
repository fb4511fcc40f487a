// The /player service worker: a display must never go black because the
// server is away. Media (hash-named, immutable) are served cache-first; the
// player page and its WebAssembly network-first with the cache behind them,
// so a reload with the server gone still starts the player, which then plays
// the manifest it saved. Registered by /player with scope /player.
const SHELL = 'vizora-player-shell-v1';
const MEDIA = 'vizora-player-media-v1';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    try {
      // The page, and the scripts, styles and wasm it names, ready for the first offline reload.
      const cache = await caches.open(SHELL);
      const page = await fetch('/player', { credentials: 'omit' });
      if (page.ok) {
        const html = await page.clone().text();
        await cache.put('/player', page);
        const named = [...html.matchAll(/["'](\/(?:pkg|assets)\/[^"'?#\s]+)["']/g)].map((m) => m[1]);
        await cache.addAll([...new Set(named)]);
      }
    } catch (e) {
      // Offline at install: the fetch handler fills the cache as things load.
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

async function cacheFirst(request) {
  const cache = await caches.open(MEDIA);
  const hit = await cache.match(request.url);
  if (hit) return hit;
  // Ask for the whole file (a Range answer cannot be cached) and keep it.
  const response = await fetch(request.url, { credentials: 'omit' });
  if (response.ok && response.status === 200) await cache.put(request.url, response.clone());
  return response;
}

async function networkFirst(request, key) {
  const cache = await caches.open(SHELL);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/media/')) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname === '/player') {
    event.respondWith(networkFirst(request, '/player'));
  } else if (url.pathname.startsWith('/pkg/') || url.pathname.startsWith('/assets/')) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});

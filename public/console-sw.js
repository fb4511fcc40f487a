// The console's service worker: a reload without the network still opens
// the console. Each console page is kept as it was last loaded (its data is
// in the HTML the server rendered), its code beside it; the outbox lives in
// localStorage and drains when the stream comes back. Only GETs of pages
// and built files are touched: ops, server functions, the stream, media and
// the player (which has its own worker) go straight to the network.
// Registered by every console page with scope /.
const PAGES = 'vizora-console-pages-v1';
const CODE = 'vizora-console-code-v1';
const CONSOLE = ['/', '/devices', '/content', '/playlists', '/schedules', '/health', '/analytics', '/settings'];

function isConsolePage(pathname) {
  return CONSOLE.includes(pathname) || pathname.startsWith('/devices/');
}

// A file whose name carries its content's hash never changes: the server
// says so (`Cache-Control: immutable`, src/server/headers.rs), so the rule
// for which names are hashed lives there alone.
function immutable(response) {
  return (response.headers.get('cache-control') || '').includes('immutable');
}

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('vizora-console-') && name !== PAGES && name !== CODE) await caches.delete(name);
    }
    await self.clients.claim();
    // The page that installed this worker loaded before the worker could
    // keep it: keep it now, or the first page opened on a device would be
    // the one page a reload without the network cannot open.
    for (const client of await self.clients.matchAll({ type: 'window' })) {
      const url = new URL(client.url);
      if (url.origin === self.location.origin && isConsolePage(url.pathname)) {
        await keepPage(url.pathname + url.search);
      }
    }
  })());
});

const NAMED = /["'](\/(?:pkg|assets)\/[^"'?#\s]+)["']/g;

function namedIn(html) {
  return new Set([...html.matchAll(NAMED)].map((m) => m[1]));
}

// The built files a page names, fetched into the cache after the page is
// in hand (most arrive through the page's own loads already). When a new
// build's files appear, those of older builds that no kept page names go.
async function keepCodeOf(html) {
  const code = await caches.open(CODE);
  let newBuild = false;
  for (const path of namedIn(html)) {
    if (await code.match(path)) continue;
    try {
      const response = await fetch(path, { credentials: 'same-origin' });
      if (response.ok) {
        newBuild = newBuild || immutable(response);
        await code.put(path, response);
      }
    } catch (e) {
      // Offline again: the fetch handler fills the gap next time.
    }
  }
  if (!newBuild) return;
  const pages = await caches.open(PAGES);
  const live = new Set();
  for (const request of await pages.keys()) {
    const kept = await pages.match(request);
    if (kept) for (const path of namedIn(await kept.text())) live.add(path);
  }
  for (const request of await code.keys()) {
    const kept = await code.match(request);
    if (kept && immutable(kept) && !live.has(new URL(request.url).pathname)) await code.delete(request);
  }
}

// Keeps `response` as the console page at `key` (and the code it names),
// unless it is not that page (a redirect to sign in, an error).
async function keep(key, response) {
  if (!response.ok || !(response.headers.get('content-type') || '').startsWith('text/html')) return;
  const html = await response.clone().text();
  await (await caches.open(PAGES)).put(key, response);
  await keepCodeOf(html);
}

// Fetches a console page into the kept pages.
async function keepPage(key) {
  try {
    await keep(key, await fetch(key, { credentials: 'same-origin', redirect: 'manual' }));
  } catch (e) {
    // Offline: the page is kept at its next load.
  }
}

async function forgetPages() {
  await caches.delete(PAGES);
}

const OFFLINE_PAGE = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · Vizora</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem; max-width: 40rem">
<h1>You are offline</h1>
<p>This page has not been opened on this device yet, so there is no copy of it to show.
Pages you opened before still open without the network; changes you make there are kept
and sent once the server can be reached.</p>
<p><a href="/">Overview</a> · <a href="/devices">Devices</a></p></body></html>`;

async function page(event) {
  const request = event.request;
  const url = new URL(request.url);
  const key = url.pathname + url.search;
  const pages = await caches.open(PAGES);
  try {
    const response = await fetch(request);
    // A navigation's redirect comes back opaque: the gate sending a
    // signed-out browser to /login. Nothing of the last session stays.
    if (response.type === 'opaqueredirect' || response.status === 401) {
      event.waitUntil(forgetPages());
    } else {
      event.waitUntil(keep(key, response.clone()));
    }
    return response;
  } catch (e) {
    const hit = (await pages.match(key)) || (await pages.match(url.pathname, { ignoreSearch: true }));
    if (hit) return hit;
    // No copy: the network may be coming back this very moment (a laptop
    // waking, Wi-Fi rejoining). One more try before saying it is not.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      return await fetch(request);
    } catch (again) {
      // Still offline.
    }
    return new Response(OFFLINE_PAGE, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
  }
}

async function code(request) {
  const url = new URL(request.url);
  const cache = await caches.open(CODE);
  const hit = await cache.match(url.pathname);
  if (hit && immutable(hit)) return hit;
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(url.pathname, response.clone());
    return response;
  } catch (e) {
    if (hit) return hit;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Signing out forgets every kept page: the next person at this browser
  // must not find the last one's data.
  if (request.method === 'POST' && url.pathname === '/auth/logout') {
    event.waitUntil(forgetPages());
    return;
  }
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate' && isConsolePage(url.pathname)) {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith('/pkg/') || url.pathname.startsWith('/assets/')) {
    event.respondWith(code(request));
  }
});

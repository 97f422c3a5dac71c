// The web till's service worker (registered by /till with scope /till, so it never controls the
// rest of the app): keeps the till's page and its assets so that the till opens and takes
// payments without the network. The API is never cached: offline payments are queued by the page
// itself (IndexedDB) and sent as a signed batch once the network is back.
const cacheName = 'guichet-till-v1';
const page = '/till';
const fixed = ['/favicon.svg', '/till.webmanifest'];

/** The page and every asset it names (Vite's hashed /assets/… files). */
async function precache() {
  const cache = await caches.open(cacheName);
  const response = await fetch(page, { headers: { accept: 'text/html' }, cache: 'no-store' });
  if (!response.ok) throw new Error(`till page: ${response.status}`);
  const html = await response.clone().text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]);
  await cache.put(page, response);
  await cache.addAll([...new Set([...assets, ...fixed])]);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('guichet-till-') && name !== cacheName) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** The page: from the network when it answers (and kept), else the kept copy. */
async function pageFirstFromNetwork(request) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(page, response.clone());
    return response;
  } catch {
    const kept = await cache.match(page);
    if (kept) return kept;
    throw new Error('offline and the till page is not kept');
  }
}

/** Hashed assets never change: the kept copy, else the network (and keep it). */
async function assetFromCache(request) {
  const cache = await caches.open(cacheName);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && (url.pathname === page || url.pathname === `${page}/`)) {
    event.respondWith(pageFirstFromNetwork(request));
  } else if (url.pathname.startsWith('/assets/') || fixed.includes(url.pathname)) {
    event.respondWith(assetFromCache(request));
  }
});

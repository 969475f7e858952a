// Tavolo's service worker: keeps the app itself on the phone, so that a
// page reloaded or reopened with no network still opens the board (the
// board's documents are kept in IndexedDB: src/lib/localStore.ts).
//
// Only the app's own files are cached. The API, the sync socket and
// anything else always go to the network. Pages: the network first, the
// cached app when it cannot be reached. Hashed assets: the cache first
// (their content never changes under a name).
//
// Built by vite (see `serviceWorker` in vite.config.ts), which fills in the
// build's file list and a version; a new build means a new cache, and the
// old one is dropped once the new worker takes over.

const VERSION = '__TAVOLO_VERSION__';
const ASSETS = __TAVOLO_ASSETS__;
const CACHE = `tavolo-app-${VERSION}`;
/** Where the cached page is kept: the app is one page for every route. */
const SHELL = '/';

const APP_ROUTE = /^\/(?:$|j(?:\/[^/]+)?$|b\/[^/]+$|f\/[^/]+$|p\/[^/]+$)/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([SHELL, ...ASSETS]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('tavolo-app-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && APP_ROUTE.test(url.pathname)) {
    event.respondWith(page(request));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(asset(request));
  }
});

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(SHELL, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(SHELL);
    if (cached) return cached;
    throw error;
  }
}

async function asset(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

// The referral app's service worker: it keeps the app's page and assets so the app opens
// with no signal. Network first (a fresh page when there is signal), the kept copy otherwise.
// The session's key and the send never go through the cache.
const CACHE = "refer-app-v2";
const KEPT = [
  "/refer/app",
  "/refer/app.js",
  "/refer/manifest.webmanifest",
  "/refer/icon-192.png",
  "/find/assets/govuk/govuk-frontend.min.css",
  "/find/assets/find.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEPT)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!KEPT.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname).then((kept) => kept || Response.error())),
  );
});

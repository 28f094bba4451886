// digitlab's service worker: the page, its scripts, onnxruntime-web and the model, kept for offline use.
// Served at ./sw.js next to the page (not under static/), so its scope is the page's folder, also under
// a --root-path prefix. Every URL here is relative to that scope.
"use strict";

const CACHE = "digitlab-v1";
// What the page needs to draw and read a digit with no network. The model and its config come from
// the server that served the page (api/browser); the page checks the model against its SHA-256.
const OFFLINE_FILES = [
  "./", "manifest.webmanifest",
  "static/app.js", "static/pad.js", "static/browser-reader.js", "static/style.css", "static/favicon.svg",
  "static/icons/icon-192.png", "static/icons/icon-512.png",
  "static/ort/ort.wasm.min.mjs", "static/ort/ort-wasm-simd-threaded.mjs", "static/ort/ort-wasm-simd-threaded.wasm",
  "api/browser", "api/browser/model.onnx",
];
// Fixed files of one onnxruntime-web release: from the cache first (14 MB not fetched again on every visit).
const FIXED_PREFIX = "static/ort/";

const scoped = (path) => new URL(path, self.registration.scope).href;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(OFFLINE_FILES.map(scoped));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// Everything else the page asks for with GET on this origin: from the network when it answers (and
// the copy kept up to date), from the cache when it does not. Readings (POST) always go to the server.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(self.registration.scope)) return;
  const path = request.url.slice(self.registration.scope.length).split("?")[0];
  if (path.startsWith("api/") && !path.startsWith("api/browser")) return; // live status: never stale
  event.respondWith(path.startsWith(FIXED_PREFIX) ? cacheFirst(request) : networkFirst(request));
});

async function cacheFirst(request) {
  const cached = await caches.match(request);
  return cached || networkFirst(request);
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

// The service worker: the app shell from the cache (so the app opens with no network), and
// reminders pushed while the app is closed. VERSION and SHELL above are written by the server
// from the files on disk. Patient data (/api/) never passes through any cache here.

const CACHE = `diary-shell-${VERSION}`;
const scope = new URL(self.registration.scope);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(new URL(url, scope), { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("diary-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  // Every page of the app is the one shell (/app/, /app/enroll): answer navigations with it.
  const key = event.request.mode === "navigate" ? new URL("./", scope).href : url.origin + url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(key)) || fetch(event.request)),
  );
});

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    message = {};
  }
  // The delivery id is the tag: a resent reminder replaces the one shown, never doubles it.
  event.waitUntil(
    self.registration.showNotification(message.title || "Reminder", {
      body: message.body || "",
      tag: message.delivery_id || "diary-reminder",
      icon: new URL("icons/icon-192.png", scope).href,
      data: { id: message.delivery_id || null },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL("./#/notifications", scope).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url.startsWith(scope.href));
      if (open) return open.focus().then((w) => (w.navigate ? w.navigate(target) : w));
      return self.clients.openWindow(target);
    }),
  );
});

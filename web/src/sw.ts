// The service worker, built to /sw.js (scope /) and registered only when a person turns on
// push notifications in this browser (web/src/push.ts): it shows each Web Push message the
// server sends (models/notifications/delivery.py push_payload: {title, body, data: {id, type,
// url, ...}}) and, when one is clicked, brings the app to the page it names. It handles no
// fetch: the app loads from the network as without it. It imports nothing, so it stays one
// small classic script outside the app's chunks.
/// <reference lib="webworker" />
export {};
declare const self: ServiceWorkerGlobalScope;

interface Push {
  title?: string;
  body?: string;
  data?: { id?: number; url?: string } & Record<string, unknown>;
}

self.addEventListener("install", () => void self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let push: Push = {};
  try {
    push = (event.data?.json() ?? {}) as Push;
  } catch {
    push = { body: event.data?.text() };
  }
  const data = push.data ?? {};
  event.waitUntil(
    self.registration.showNotification(push.title || "Cinema", {
      body: push.body ?? "",
      data,
      icon: "/favicon.svg",
      // One notification shown per inbox item: a coalesced update replaces the older one.
      tag: data.id !== undefined ? `n${data.id}` : undefined,
    }),
  );
});

/** The page a click opens, on this worker's own origin (the server names its public URL,
 * which may be another address of the same site). */
function target(data: Push["data"]): string {
  try {
    const url = new URL(data?.url ?? "/notifications", self.location.origin);
    return url.pathname + url.search + url.hash;
  } catch {
    return "/notifications";
  }
}

async function open(path: string): Promise<void> {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const ours = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (!ours) {
    await self.clients.openWindow(path);
    return;
  }
  // The app routes it without a reload (web/src/live.tsx listens); focusing may be refused
  // outside a person's click, the page changes either way.
  ours.postMessage({ type: "open", path });
  await ours.focus().catch(() => undefined);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const opening = open(target(event.notification.data as Push["data"]));
  event.waitUntil(opening);
});

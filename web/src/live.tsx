// What a signed-in person sees live in the header: the notification bell with its unread
// count and the offline banner. Loaded only when signed in, with the socket module, so the
// signed-out first load carries no Socket.IO client.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ok } from "./api/client";
import { useConnection, useOnConnect, useServerEvent } from "./api/socket";
import { Link, navigate } from "./router";

// A push notification clicked while the app is open: the service worker (src/sw.ts) asks
// this page to show the notification's page, routed here without a reload.
navigator.serviceWorker?.addEventListener("message", (e: MessageEvent) => {
  const msg = e.data as { type?: string; path?: string } | null;
  if (msg?.type === "open" && typeof msg.path === "string" && msg.path.startsWith("/") && !msg.path.startsWith("//")) {
    navigate(msg.path);
  }
});

export function Bell(): JSX.Element {
  const [unread, setUnread] = useState<number | null>(null);
  const count = () => void ok(api.GET("/api/v1/notifications/unread-count")).then((u) => setUnread(u.unread), () => undefined);
  useEffect(count, []);
  useOnConnect(count); // back after a disconnect: what arrived meanwhile counts too
  useServerEvent("notification:unread", (e) => setUnread(e.unread)); // read elsewhere
  // A new or coalesced notification: the count is the server's (a coalesced one may or may
  // not have been unread already).
  useServerEvent("notification", () => {
    void ok(api.GET("/api/v1/notifications/unread-count")).then((u) => setUnread(u.unread), () => undefined);
  });
  const label = unread ? `Notifications, ${unread} unread` : "Notifications";
  return (
    <Link href="/notifications" class="bell" aria-label={label} title={label}>
      <svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24" fill="currentColor">
        <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
      </svg>
      {unread ? (
        <span class="badge" id="unread-count" aria-hidden="true">
          {unread > 99 ? "99+" : unread}
        </span>
      ) : null}
    </Link>
  );
}

export function OfflineBanner(): JSX.Element | null {
  const state = useConnection();
  if (state !== "offline") return null;
  return (
    <p class="offline" role="status">
      Offline: reconnecting… Live updates resume by themselves, nothing is lost.
    </p>
  );
}

// Web Push in this browser: loaded only when a person looks at the switch (notification
// preferences) or signs out with it on, never in the first load.
// On: ask permission, register the service worker (/sw.js, scope /), subscribe with the
// server's VAPID key (GET /push/vapid-public-key) and register the subscription
// (POST /push/subscriptions). Off (and at sign-out): delete it on the server, then unsubscribe.
// What the server registered is kept in localStorage (MARK), so sign-out knows without asking.
import { api, ok } from "./api/client";
import { PUSH_MARK as MARK } from "./api/session";

interface Kept {
  id: number;
  endpoint: string;
}

export type PushState = "unsupported" | "denied" | "off" | "on";

export function supported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window && window.isSecureContext;
}

function kept(): Kept | null {
  try {
    const raw = localStorage.getItem(MARK);
    return raw ? (JSON.parse(raw) as Kept) : null;
  } catch {
    return null;
  }
}

async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  return navigator.serviceWorker.getRegistration("/");
}

/** Whether this browser gets push notifications for the signed-in person. */
export async function pushState(): Promise<PushState> {
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  const subscription = await (await registration())?.pushManager.getSubscription();
  const mine = kept();
  return subscription && mine && mine.endpoint === subscription.endpoint ? "on" : "off";
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export class PushError extends Error {}

export async function enablePush(): Promise<void> {
  if (!supported()) throw new PushError("This browser cannot receive push notifications.");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    throw new PushError(
      permission === "denied"
        ? "Notifications are blocked for this site: allow them in the browser's site settings, then try again."
        : "Push notifications need your permission.",
    );
  }
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  const reg = await navigator.serviceWorker.ready;
  const { public_key } = await ok(api.GET("/api/v1/push/vapid-public-key"));
  let subscription = await reg.pushManager.getSubscription();
  const serverKey = keyBytes(public_key);
  const sameKey = (s: PushSubscription) => {
    const k = s.options.applicationServerKey;
    return k !== null && new Uint8Array(k).join() === serverKey.join();
  };
  if (subscription && !sameKey(subscription)) {
    await subscription.unsubscribe(); // made for another server key: start over
    subscription = null;
  }
  try {
    subscription ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey });
  } catch (exc) {
    throw new PushError(`This browser could not subscribe to push notifications (${(exc as Error).message}).`);
  }
  const json = subscription.toJSON();
  try {
    const saved = await ok(
      api.POST("/api/v1/push/subscriptions", {
        body: {
          endpoint: subscription.endpoint,
          keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
          expirationTime: json.expirationTime ?? null,
          user_agent: navigator.userAgent.slice(0, 300),
        },
      }),
    );
    localStorage.setItem(MARK, JSON.stringify({ id: saved.id, endpoint: saved.endpoint } satisfies Kept));
  } catch (exc) {
    // The server did not take it: leave nothing half-done in the browser either.
    await subscription.unsubscribe().catch(() => undefined);
    throw exc;
  }
}

/** Off: the server forgets the subscription, then the browser drops it. */
export async function disablePush(): Promise<void> {
  const mine = kept();
  const subscription = supported() ? await (await registration())?.pushManager.getSubscription() : null;
  if (mine) {
    try {
      await ok(api.DELETE("/api/v1/push/subscriptions/{subscription_id}", { params: { path: { subscription_id: mine.id } } }));
    } catch (exc) {
      if ((exc as { status?: number }).status !== 404) throw exc; // gone already: fine
    }
  }
  localStorage.removeItem(MARK);
  // Unsubscribed, the push service answers the server 410 for anything still sent: it prunes.
  await subscription?.unsubscribe();
}

/** Signed out without a token to call the API with: unsubscribe in the browser only. */
export async function dropInBrowser(): Promise<void> {
  localStorage.removeItem(MARK);
  if (supported()) await (await registration())?.pushManager.getSubscription().then((s) => s?.unsubscribe());
}

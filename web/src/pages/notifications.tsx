// The inbox: notifications newest first, live (a new or coalesced one arrives over the
// socket and nothing is missed across reconnects: the notifications stream), read one or all.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { followStream } from "../api/socket";
import { disablePush, enablePush, pushState, type PushState } from "../push";
import { Link } from "../router";
import { useLoad } from "../hooks";
import { ErrorNote, Loaded, Loading, Status, useTitle } from "../ui";
import { RequireSignIn } from "./require";

type Note = Schemas["NotificationOut"];

export default function Notifications(): JSX.Element {
  useTitle("Notifications");
  return (
    <RequireSignIn>
      <Inbox />
      <Preferences />
      <PushSwitch />
    </RequireSignIn>
  );
}

function linkOf(n: Note): string | null {
  const d = n.data as Record<string, unknown>;
  if (typeof d.title_id === "number") return `/titles/${d.title_id}`;
  if (n.type === "friend_request" || n.type === "friend_accepted") return "/friends";
  return null;
}

function Inbox(): JSX.Element {
  const [items, setItems] = useState<Note[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<{ loading: boolean; error: string | null }>({ loading: true, error: null });
  const load = async (after?: string) => {
    setState({ loading: true, error: null });
    try {
      const [head, page] = await Promise.all([
        after ? null : ok(api.GET("/api/v1/notifications/unread-count")),
        ok(api.GET("/api/v1/notifications", { params: { query: { limit: 30, ...(after ? { cursor: after } : {}) } } })),
      ]);
      setItems((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
      setState({ loading: false, error: null });
      return head?.cursor;
    } catch (exc) {
      setState({ loading: false, error: message(exc) });
      return undefined;
    }
  };
  useEffect(() => {
    let stop = () => {};
    void load().then((head) => {
      if (head === undefined) return;
      // Live from the stream head the first page was read at.
      stop = followStream(
        "notifications",
        head,
        (e) => {
          const n = (e as { notification: Note }).notification;
          setItems((prev) => [n, ...prev.filter((p) => p.id !== n.id)]);
        },
        () => void load(),
      );
    });
    return () => stop();
  }, []);
  const read = async (n: Note) => {
    try {
      await ok(api.POST("/api/v1/notifications/{notification_id}/read", { params: { path: { notification_id: n.id } } }));
      setItems((prev) => prev.map((p) => (p.id === n.id ? { ...p, read: true } : p)));
    } catch (exc) {
      setState({ loading: false, error: message(exc) });
    }
  };
  const readAll = async () => {
    try {
      await ok(api.POST("/api/v1/notifications/read-all", { body: {} }));
      setItems((prev) => prev.map((p) => ({ ...p, read: true })));
    } catch (exc) {
      setState({ loading: false, error: message(exc) });
    }
  };
  return (
    <section>
      <h1>Notifications</h1>
      <p>
        <button type="button" class="secondary" onClick={readAll} disabled={!items.some((n) => !n.read)}>
          Mark all read
        </button>
      </p>
      <ul class="notes" aria-live="polite">
        {items.map((n) => {
          const href = linkOf(n);
          return (
            <li key={n.id} class={n.read ? "note" : "note unread"}>
              <span>
                {!n.read && <span class="visually-hidden">Unread: </span>}
                {href ? (
                  <Link href={href} onClick={() => void read(n)}>
                    {n.text}
                  </Link>
                ) : (
                  n.text
                )}{" "}
                <time class="muted" dateTime={n.updated_at}>
                  {new Date(n.updated_at).toLocaleString()}
                </time>
              </span>
              {!n.read && (
                <button type="button" class="link" onClick={() => read(n)}>
                  Mark read
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {state.error && <ErrorNote message={state.error} />}
      {state.loading && <Loading />}
      {!state.loading && items.length === 0 && <p class="muted">Nothing yet.</p>}
      {cursor && !state.loading && (
        <button type="button" class="secondary" onClick={() => load(cursor)}>
          Older
        </button>
      )}
    </section>
  );
}

const TYPES: Record<string, string> = {
  new_release: "New releases of titles and genres I follow",
  comment_liked: "Likes on my comments",
  friend_request: "Friend requests",
  friend_accepted: "Accepted friend requests",
  party_invite: "Watch-party invitations",
  message_while_away: "Messages while I am away",
};
const CHANNELS: [string, string][] = [
  ["in_app", "In the app"],
  ["email", "Email"],
  ["push", "Push"],
];

/** Each type x channel on or off; a change is saved at once. */
function Preferences(): JSX.Element {
  const [prefs, , setPrefs] = useLoad(() => ok(api.GET("/api/v1/notifications/preferences")));
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const change = async (item: Schemas["PreferenceItem"]) => {
    try {
      setPrefs(await ok(api.PUT("/api/v1/notifications/preferences", { body: { items: [item] } })));
      setStatus({ ok: true, text: "Saved." });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <section aria-labelledby="prefs-h">
      <h2 id="prefs-h">What to tell me, and how</h2>
      <Loaded load={prefs}>
        {(p) => (
          <table class="prefs">
            <thead>
              <tr>
                <th scope="col">Notification</th>
                {CHANNELS.map(([, label]) => (
                  <th scope="col" key={label}>
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...new Set(p.items.map((i) => i.type))].map((type) => (
                <tr key={type}>
                  <th scope="row">{TYPES[type] ?? type}</th>
                  {CHANNELS.map(([channel, label]) => {
                    const item = p.items.find((i) => i.type === type && i.channel === channel);
                    return (
                      <td key={channel}>
                        {item && (
                          <input
                            type="checkbox"
                            checked={item.enabled}
                            aria-label={`${TYPES[type] ?? type}: ${label}`}
                            onChange={(e) => change({ ...item, enabled: e.currentTarget.checked })}
                          />
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      <Status status={status} id="prefs-status" />
    </section>
  );
}

/** Web Push in this browser (src/push.ts, the service worker src/sw.ts): asks permission on. */
function PushSwitch(): JSX.Element {
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    void pushState().then(setState, () => setState("off"));
  }, []);
  const change = async (on: boolean) => {
    setBusy(true);
    setStatus(null);
    try {
      if (on) await enablePush();
      else await disablePush();
      setStatus({ ok: true, text: on ? "Push notifications are on in this browser." : "Push notifications are off in this browser." });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    } finally {
      setState(await pushState().catch(() => "off" as const));
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="push-h">
      <h2 id="push-h">Push notifications in this browser</h2>
      {state === "unsupported" ? (
        <p class="muted">This browser cannot receive push notifications.</p>
      ) : (
        <label class="switch">
          <input
            type="checkbox"
            id="push-switch"
            role="switch"
            checked={state === "on"}
            disabled={busy || state === null}
            onChange={(e) => void change(e.currentTarget.checked)}
          />{" "}
          Notify me here even when the cinema is closed (the Push column above chooses which)
        </label>
      )}
      {state === "denied" && <p class="muted">Notifications are blocked for this site: allow them in the browser's site settings to turn this on.</p>}
      <Status status={status} id="push-status" />
    </section>
  );
}

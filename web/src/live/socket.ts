// The app's one Socket.IO connection (the official socket.io-client), opened when a page first
// needs it: the token is asked for at every (re)connect (auth as a function, so a refreshed
// token is used), a `token_expired` refusal refreshes and tries again, and every reconnect
// replays what was missed with `sync:resume` (the server's cursor per stream).
import { io, type Socket } from "socket.io-client";
import type { ClientEvents, ServerEvents } from "../api/events";
import { accessToken, subscribe, signedIn } from "../api/session";

type Handler = (data: never) => void;
type ServerEventName = keyof ServerEvents & string;
type ClientEventName = keyof ClientEvents & string;

let socket: Socket | null = null;
const statusListeners = new Set<(up: boolean) => void>();

export function connection(): Socket | null {
  if (!signedIn()) return null;
  if (socket) return socket;
  socket = io({
    path: "/socket.io/",
    transports: ["websocket"],
    auth: (cb) => {
      void accessToken().then((token) => cb({ token: token ?? "" }));
    },
  });
  socket.on("connect", () => {
    for (const fn of statusListeners) fn(true);
    void resume();
  });
  socket.on("sync:stale", () => void resume());
  socket.on("disconnect", () => {
    for (const fn of statusListeners) fn(false);
  });
  socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
    // A refused handshake is not retried by socket.io-client: an expired token is renewed
    // (accessToken refreshes it) and we connect again; a session that ended stays out.
    const code = err.data?.code ?? err.message;
    if (code === "token_expired" || code === "invalid_token") {
      setTimeout(() => signedIn() && socket?.connect(), 1000);
    }
  });
  return socket;
}

// Signed out: the connection goes with the session.
subscribe(() => {
  if (!signedIn() && socket) {
    socket.disconnect();
    socket = null;
  }
});

/** Listen to one server event; returns the function that stops listening. */
export function listen<E extends ServerEventName>(event: E, fn: (data: ServerEvents[E]) => void): () => void {
  const s = connection();
  if (!s) return () => undefined;
  const any = s as unknown as { on(e: string, f: unknown): void; off(e: string, f: unknown): void };
  any.on(event, fn);
  return () => any.off(event, fn);
}

export function onStatus(fn: (up: boolean) => void): () => void {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}

export interface Ack<T> {
  ok?: boolean;
  data?: T;
  error?: { code: string; message: string };
}

/** Emit with an acknowledgement; resolves with the ack's data, rejects with its error. */
export function request<E extends ClientEventName>(
  event: E,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<unknown> {
  const s = connection();
  if (!s) return Promise.reject(new Error("Not signed in"));
  return new Promise((resolve, reject) => {
    s.timeout(timeoutMs).emit(event, payload, (err: Error | null, ack: Ack<unknown>) => {
      if (err) reject(new Error("The server did not answer"));
      else if (ack?.error) reject(Object.assign(new Error(ack.error.message), { code: ack.error.code }));
      else resolve(ack?.data ?? ack);
    });
  });
}
// --- no loss on reconnect: streams with cursors, replayed by sync:resume ---------------------

interface Tracked {
  cursor: number;
  replay: (payload: Record<string, unknown>) => void;
}
const streams = new Map<string, Tracked>();

/** Follow a stream (`dm`, `notifications`...) from `cursor`: whatever a disconnect made us miss
 * is handed to `replay` (oldest first, as the live events carried it) after each reconnect. */
export function track(stream: string, cursor: number, replay: Tracked["replay"]): () => void {
  const prev = streams.get(stream);
  streams.set(stream, { cursor: Math.max(cursor, prev?.cursor ?? 0), replay });
  return () => streams.delete(stream);
}

/** A live event of a tracked stream: true when it is new (not seen, not replayed already). */
export function advance(stream: string, cursor: number | undefined): boolean {
  const t = streams.get(stream);
  if (!t || cursor === undefined) return true;
  if (cursor <= t.cursor) return false;
  t.cursor = cursor;
  return true;
}

async function resume(): Promise<void> {
  if (streams.size === 0) return;
  const cursors = Object.fromEntries([...streams].map(([name, t]) => [name, t.cursor]));
  try {
    const out = (await request("sync:resume", { cursors })) as {
      streams: Record<string, { events: Record<string, unknown>[]; cursor: number }>;
    };
    for (const [name, replay] of Object.entries(out.streams)) {
      const t = streams.get(name);
      if (!t) continue;
      for (const ev of replay.events) {
        if (advance(name, ev.cursor as number)) t.replay(ev);
      }
    }
  } catch {
    // The next reconnect tries again.
  }
}
export type { Handler };

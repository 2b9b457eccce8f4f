// The one Socket.IO connection (official socket.io-client), typed by the event registry
// (events.d.ts, generated from /asyncapi.json).
// - Authenticates with `auth` as a function, so every (re)connect carries a fresh access token
//   (refreshed first when it is about to expire); a refused connect (expired or revoked
//   token) retries after a refresh, with backoff.
// - Streams (notifications, dm, party chat) lose nothing and apply nothing twice: on every
//   connect and on `sync:stale` it sends `sync:resume` with the last cursor of each stream,
//   holds live events until the ack, applies the replay, then the held events, dropping any
//   cursor not above the one kept (docs/notifications.md).
// - `useConnection()` tells the UI whether we are connected (the offline banner).
import { io, type Socket } from "socket.io-client";
import { useEffect, useState } from "preact/hooks";
import type { ClientEvents, ServerEvents } from "./events";
import { loadMe } from "./auth";
import { accessToken, signedIn, subscribe } from "./session";

type Handler = (payload: never) => void;
type State = "off" | "connecting" | "online" | "offline";

let socket: Socket | null = null;
let state: State = "off";
let retry = 0;
let sent: string | null = null; // the access token of the last connect
let refused: string | null = null; // ...when the server answered it `token_expired`
const stateListeners = new Set<() => void>();
const handlers = new Map<string, Set<Handler>>();
const connectListeners = new Set<() => void>();

function setState(next: State): void {
  state = next;
  for (const fn of stateListeners) fn();
}

export class AckError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ---- streams ------------------------------------------------------------------------------

interface Stream {
  cursor: number;
  apply: (event: Record<string, unknown>) => void;
  refetch?: () => void; // more than the replay holds were missed
}
const streams = new Map<string, Stream>();
let resuming = false;
let held: [string, Record<string, unknown>][] = [];

function streamOf(event: string, payload: Record<string, unknown>): string | null {
  if (typeof payload?.cursor !== "number") return null;
  if (typeof payload.stream === "string") return payload.stream;
  return event === "dm:message" ? "dm" : null;
}

function deliver(name: string, payload: Record<string, unknown>): void {
  const stream = streams.get(name);
  if (!stream) return;
  const cursor = payload.cursor as number;
  if (cursor <= stream.cursor) return; // a duplicate
  if (name === "notifications" && cursor > stream.cursor + 1) {
    held.push([name, payload]); // a gap in a gapless stream: resume first
    void resume();
    return;
  }
  stream.cursor = cursor;
  stream.apply(payload);
}

/** Follow a stream from `cursor` (the last one applied, e.g. read over HTTP). */
export function followStream(name: string, cursor: number, apply: Stream["apply"], refetch?: () => void): () => void {
  streams.set(name, { cursor, apply, refetch });
  return () => streams.delete(name);
}

async function resume(): Promise<void> {
  if (!socket?.connected || resuming || streams.size === 0) return;
  resuming = true;
  try {
    const cursors = Object.fromEntries([...streams].map(([name, s]) => [name, s.cursor]));
    const data = await request("sync:resume", { cursors });
    for (const [name, replay] of Object.entries(data.streams ?? {})) {
      const stream = streams.get(name);
      if (!stream || replay.error) continue;
      if (replay.truncated) stream.refetch?.();
      for (const event of replay.events ?? []) {
        const cursor = (event as { cursor?: number }).cursor ?? 0;
        if (cursor > stream.cursor) {
          stream.cursor = cursor;
          stream.apply(event);
        }
      }
      stream.cursor = Math.max(stream.cursor, replay.cursor);
    }
  } catch {
    // Disconnected meanwhile: the next connect resumes again.
  } finally {
    resuming = false;
    const waiting = held;
    held = [];
    for (const [name, payload] of waiting) {
      const stream = streams.get(name);
      const cursor = payload.cursor as number;
      if (stream && cursor > stream.cursor) {
        stream.cursor = cursor;
        stream.apply(payload);
      }
    }
  }
}

// ---- the connection ------------------------------------------------------------------------

function connect(): void {
  if (socket) return;
  setState("connecting");
  socket = io({
    path: "/socket.io/",
    transports: ["websocket"],
    auth: (cb) => {
      void accessToken(refused ?? undefined).then((token) => {
        sent = token;
        refused = null;
        cb({ token: token ?? "" });
      });
    },
  });
  socket.on("connect", () => {
    retry = 0;
    setState("online");
    void resume();
    for (const fn of connectListeners) fn();
  });
  socket.on("disconnect", (reason) => {
    setState(signedIn() ? "offline" : "off");
    // The server closed it, which the client never retries by itself: the session ended
    // (signed out elsewhere, the account suspended), then asking the API signs us out here
    // too (a 401); or the server asked us to come back, then we do.
    if (reason === "io server disconnect") void checkSession();
  });
  socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
    // Refused (a token that expired or was revoked) or unreachable: try again, the auth
    // function refreshes the token first (at once if the server said it expired before our
    // clock did). Backoff up to 30 s.
    if (err.data?.code === "token_expired") refused = sent;
    setState("offline");
    if (!socket || socket.active) return; // the client retries by itself
    retry += 1;
    // Refused: if the session itself ended, asking the API signs us out (and stops this).
    const again = () => setTimeout(() => socket?.connect(), Math.min(30_000, 500 * 2 ** retry));
    void loadMe().then(again, again);
  });
  socket.on("sync:stale", () => void resume());
  socket.onAny((event: string, payload: Record<string, unknown>) => {
    const name = streamOf(event, payload);
    if (name && streams.has(name)) {
      if (resuming) held.push([name, payload]);
      else deliver(name, payload);
    }
    for (const fn of handlers.get(event) ?? []) (fn as (p: unknown) => void)(payload);
  });
}

async function checkSession(): Promise<void> {
  try {
    await loadMe();
  } catch {
    // Unreachable: the socket's own retries take over below.
  }
  if (signedIn()) socket?.connect();
}

function disconnect(): void {
  socket?.disconnect();
  socket = null;
  setState("off");
}

function follow(): void {
  if (signedIn()) connect();
  else disconnect();
}
subscribe(follow);
follow();

/** The connection itself, for a client that speaks to it directly (the watch party's
 * reference client); null when signed out. */
export function currentSocket(): Socket | null {
  return socket;
}

/** Send a client event and wait for its ack: the data, or an AckError with the server's code. */
export async function request<E extends keyof ClientEvents>(
  event: E,
  payload: ClientEvents[E]["payload"],
  timeoutMs = 10_000,
): Promise<ClientEvents[E]["ack"]> {
  if (!socket) throw new AckError("not_connected", "Not connected: sign in first.");
  const ack = (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as
    | { ok: true; data: ClientEvents[E]["ack"] }
    | { ok: false; error: { code: string; message: string } };
  if (!ack.ok) throw new AckError(ack.error.code, ack.error.message);
  return ack.data;
}

/** Listen to a server event until the returned function is called (outside a component:
 * something that outlives a page, like this screen answering its remote). */
export function onServerEvent<E extends keyof ServerEvents>(event: E, handler: (payload: ServerEvents[E]) => void): () => void {
  const set = handlers.get(event) ?? new Set<Handler>();
  handlers.set(event, set);
  set.add(handler as Handler);
  return () => set.delete(handler as Handler);
}

/** Listen to a server event while mounted. */
export function useServerEvent<E extends keyof ServerEvents>(event: E, handler: (payload: ServerEvents[E]) => void, deps: unknown[] = []): void {
  useEffect(() => {
    const off = onServerEvent(event, handler);
    return () => void off();
  }, deps);
}

/** Add a (re)connect listener outside a component; returns its remover. */
export function onConnect(fn: () => void): () => void {
  connectListeners.add(fn);
  return () => connectListeners.delete(fn);
}

/** Run `fn` at every (re)connect while mounted: events not kept in a stream may have been
 * missed while disconnected, so a page reads its state again. */
export function useOnConnect(fn: () => void): void {
  useEffect(() => {
    connectListeners.add(fn);
    return () => connectListeners.delete(fn);
  }, []);
}

export function useConnection(): State {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((t) => t + 1);
    stateListeners.add(fn);
    return () => stateListeners.delete(fn);
  }, []);
  return state;
}

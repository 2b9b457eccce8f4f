// Private messages: /messages lists my conversations (unread counts, live), /messages/:userId
// is one conversation: history paged back with the cursors, new messages live over the socket
// (`dm:message`, which also carries what I send from another tab), replayed after a reconnect
// (`sync:resume` of the `dm` stream, cursor = the last message id), typing, read receipts,
// title cards and images (attach one: a preview, the upload's progress, then send).
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { ReportButton } from "../components/report";
import { useSession } from "../hooks";
import { followStream, request, useServerEvent } from "../api/socket";
import "./messages.css";
import { Link, navigate, type PageProps } from "../router";
import { ErrorNote, Loading, useTitle } from "../ui";
import { IMAGE_TYPES, SharedImage, SharedTitle, uploadImage, type Uploaded } from "../components/shared";
import { RequireSignIn } from "./require";

type Msg = Schemas["MessageOut"];
type Conversation = Schemas["ConversationOut"];

function name(u: { display_name?: string | null; username: string }): string {
  return u.display_name || u.username;
}

function preview(m: Msg): string {
  if (m.deleted) return "Deleted message";
  if (m.text) return m.text;
  if (m.attachment) return "📷 Image";
  if (m.title) return m.title.available ? `🎬 ${m.title.name}` : "🎬 A title";
  return "";
}

type Pending = { file: File; preview: string; progress: number; uploaded: Uploaded | null; error: string | null };

function Conversations(): JSX.Element {
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    ok(api.GET("/api/v1/conversations", { params: { query: { limit: 50 } } })).then(
      (page) => setItems(page.items),
      (exc: unknown) => setError(message(exc)),
    );
  useEffect(() => void load(), []);
  useServerEvent("dm:message", () => void load());
  useTitle("Messages");
  return (
    <section class="narrow">
      <h1>Messages</h1>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const id = new FormData(e.currentTarget).get("user_id");
          if (typeof id === "string" && id.trim()) navigate(`/messages/${id.trim()}`);
        }}
      >
        <label>
          Write to (user id) <input name="user_id" required />
        </label>
        <button type="submit">Open</button>
      </form>
      {error && <ErrorNote message={error} />}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p>No conversations yet. Friends can write to each other.</p>}
      <ul class="conversations">
        {items?.map((c) => (
          <li key={c.id}>
            <Link href={`/messages/${c.peer.id}`}>
              <strong>{name(c.peer)}</strong>
              {c.unread_count > 0 && <span class="badge" aria-label={`${c.unread_count} unread`}>{c.unread_count}</span>}
              {c.last_message && <span class="preview"> {preview(c.last_message)}</span>}
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Thread({ peerId }: { peerId: string }): JSX.Element {
  const { user } = useSession();
  const [msgs, setMsgs] = useState<Msg[]>([]);
  const [older, setOlder] = useState<string | null>(null);
  const [peer, setPeer] = useState<string>("");
  const [error, setError] = useState<string | null>(null);
  const [typing, setTyping] = useState(false);
  const [peerRead, setPeerRead] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const lastTyping = useRef(0);
  const list = useRef<HTMLOListElement>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const pendingFile = useRef<File | null>(null);
  const clearPending = (discard: boolean) => {
    if (pending) URL.revokeObjectURL(pending.preview);
    // Removed before sending: the upload goes now (else it waits a day among my 20).
    const unsent = discard ? pending?.uploaded?.id : undefined;
    if (unsent) void api.DELETE("/api/v1/message-attachments/{attachment_id}", { params: { path: { attachment_id: unsent } } }).catch(() => undefined);
    pendingFile.current = null;
    setPending(null);
  };
  const attach = (file: File) => {
    clearPending(true);
    pendingFile.current = file;
    const p: Pending = { file, preview: URL.createObjectURL(file), progress: 0, uploaded: null, error: null };
    setPending(p);
    const update = (change: Partial<Pending>) => {
      if (pendingFile.current === file) setPending((now) => (now && now.file === file ? { ...now, ...change } : now));
    };
    uploadImage(file, (progress) => update({ progress })).then(
      (uploaded) => update({ uploaded, progress: 1 }),
      (exc: unknown) => update({ error: message(exc) }),
    );
  };
  useTitle(peer ? `Messages with ${peer}` : "Messages");

  const add = (incoming: Msg[]) =>
    setMsgs((have) => {
      const byId = new Map(have.map((m) => [m.id, m]));
      for (const m of incoming) {
        byId.set(m.id, m);
        lastId.current = Math.max(lastId.current, m.id);
      }
      return [...byId.values()].sort((a, b) => a.id - b.id);
    });
  const lastId = useRef(0);
  const markRead = () =>
    void api
      .POST("/api/v1/conversations/{user_id}/read", { params: { path: { user_id: peerId } }, body: { up_to_id: lastId.current } })
      .catch(() => undefined);
  const mine = (m: { from_user_id: string; to_user_id: string }) => m.from_user_id === peerId || m.to_user_id === peerId;

  useEffect(() => {
    let live = true;
    let stopFollowing = () => {};
    ok(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: peerId } } })).then(
      (u) => live && setPeer(name(u)),
      (exc: unknown) => live && setError(message(exc)),
    );
    ok(api.GET("/api/v1/conversations/{user_id}/messages", { params: { path: { user_id: peerId }, query: { limit: 30 } } })).then(
      (page) => {
        if (!live) return;
        add(page.items);
        setOlder(page.next_cursor ?? null);
        setLoaded(true);
        const last = page.items.reduce((n, m) => Math.max(n, m.id), 0);
        // New messages (live, or replayed after a reconnect) come through the `dm` stream.
        stopFollowing = followStream("dm", last, (ev) => {
          const m = ev as unknown as Msg;
          if (!mine(m)) return;
          add([m]);
          if (m.from_user_id === peerId) {
            setTyping(false);
            markRead();
          }
        });
        markRead();
      },
      (exc: unknown) => live && setError(message(exc)),
    );
    return () => {
      live = false;
      stopFollowing();
    };
  }, [peerId]);
  useServerEvent(
    "dm:typing",
    (t) => {
      if (t.from_user_id === peerId) setTyping(t.typing);
    },
    [peerId],
  );
  // A moderator hid a message of ours (it leaves the conversation) or restored one (read the
  // latest page again: it may be anywhere in it).
  useServerEvent(
    "dm:moderated",
    (e) => {
      if (e.hidden) setMsgs((have) => have.filter((m) => m.id !== e.message_id));
      else
        void ok(api.GET("/api/v1/conversations/{user_id}/messages", { params: { path: { user_id: peerId }, query: { limit: 30 } } })).then(
          (page) => add(page.items),
          () => undefined,
        );
    },
    [peerId],
  );
  useServerEvent(
    "dm:read",
    (r) => {
      if (r.reader_id === peerId) setPeerRead((n) => Math.max(n, r.last_read_message_id));
    },
    [peerId],
  );

  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [msgs.length]);

  const send = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem("text") as HTMLInputElement;
    const text = input.value.trim();
    if (pending && !pending.uploaded) {
      setError(pending.error ?? "The image is still uploading.");
      return;
    }
    const attachment_id = pending?.uploaded?.id;
    if (!text && !attachment_id) return;
    try {
      const m = await ok(
        api.POST("/api/v1/messages", { body: { to_user_id: peerId, text, client_msg_id: crypto.randomUUID(), ...(attachment_id ? { attachment_id } : {}) } }),
      );
      add([m]);
      input.value = "";
      clearPending(false);
      setError(null);
    } catch (exc) {
      setError(message(exc));
    }
  };
  const loadOlder = async () => {
    if (!older) return;
    const page = await ok(
      api.GET("/api/v1/conversations/{user_id}/messages", { params: { path: { user_id: peerId }, query: { limit: 30, cursor: older } } }),
    );
    add(page.items);
    setOlder(page.next_cursor ?? null);
  };

  return (
    <section class="narrow thread">
      <p>
        <Link href="/messages">← All conversations</Link>
      </p>
      <h1>{peer || "Messages"}</h1>
      {older && (
        <button type="button" class="secondary" onClick={() => void loadOlder()}>
          Older messages
        </button>
      )}
      {!loaded && !error && <Loading />}
      <ol class="messages" ref={list} aria-live="polite">
        {msgs.map((m) => (
          <li key={m.id} class={m.from_user_id === user?.id ? "me" : "them"}>
            {m.deleted ? <span class="text muted">This message was deleted</span> : m.text && <span class="text">{m.text}</span>}
            {m.title && <SharedTitle card={m.title} />}
            {m.attachment && <SharedImage image={m.attachment} from={m.from_user_id === user?.id ? "you" : peer} />}
            <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleTimeString()}</time>
            {m.from_user_id === user?.id && m.id <= peerRead && <span class="seen"> · Seen</span>}
            {m.from_user_id === peerId && <ReportButton kind="message" targetId={String(m.id)} what={`the message from ${peer || "them"}`} />}
          </li>
        ))}
      </ol>
      <p class="typing" aria-live="polite">
        {typing ? `${peer} is typing…` : ""}
      </p>
      {error && <ErrorNote message={error} />}
      {pending && (
        <div class="attach-preview">
          <img src={pending.preview} alt="Image to send" />
          <div>
            {pending.error ? (
              <ErrorNote message={pending.error} />
            ) : (
              <label>
                {pending.uploaded ? "Ready to send" : "Uploading…"}{" "}
                <progress max={1} value={pending.progress} aria-label="Upload progress" />
              </label>
            )}
            <button type="button" class="secondary" onClick={() => clearPending(true)}>
              Remove image
            </button>
          </div>
        </div>
      )}
      <form class="inline" onSubmit={send}>
        <label class="attach">
          Attach an image
          <input
            type="file"
            accept={IMAGE_TYPES}
            onChange={(e) => {
              const input = e.currentTarget;
              const file = input.files?.[0];
              if (file) attach(file);
              input.value = "";
            }}
          />
        </label>
        <label class="grow">
          Message{" "}
          <input
            name="text"
            autocomplete="off"
            maxLength={4000}
            onInput={() => {
              if (Date.now() - lastTyping.current < 3000) return;
              lastTyping.current = Date.now();
              void request("dm:typing", { to_user_id: peerId, typing: true }).catch(() => undefined);
            }}
          />
        </label>
        <button type="submit">Send</button>
      </form>
    </section>
  );
}

export default function MessagesPage({ params }: PageProps): JSX.Element {
  return <RequireSignIn>{params.userId ? <Thread key={params.userId} peerId={params.userId} /> : <Conversations />}</RequireSignIn>;
}

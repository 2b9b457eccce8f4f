// Private messages: /messages lists my conversations (unread counts, live), /messages/:userId
// is one conversation: history paged back with the cursors, new messages live over the socket
// (`dm:message`, which also carries what I send from another tab), replayed after a reconnect
// (`sync:resume` of the `dm` stream, cursor = the last message id), typing, read receipts,
// title cards and images (attach one: a preview, the upload's progress, then send); and what
// one does to a message (components/chat.tsx): edit, delete for everyone, reply with a quote,
// react. Changes come back on the same stream, so the other side's open page follows at once.
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
import { ChatEntry, ReplyingTo, useJump, type ChatMessage, type ChatOps } from "../components/chat";
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

/** A private message as the shared message controls see it. */
function entry(m: Msg): ChatMessage {
  return {
    id: m.id,
    author_id: m.from_user_id,
    text: m.text,
    deleted: m.deleted ?? false,
    edited: m.edited_at != null,
    reply_to: m.reply_to ? { id: m.reply_to.id, author_id: m.reply_to.from_user_id, text: m.reply_to.text, deleted: m.reply_to.deleted } : null,
    reactions: m.reactions ?? [],
  };
}

function Thread({ peerId }: { peerId: string }): JSX.Element {
  const { user } = useSession();
  const me = user?.id;
  const [msgs, setMsgs] = useState<Msg[]>([]);
  const [older, setOlder] = useState<string | null>(null);
  const [peer, setPeer] = useState<string>("");
  const [error, setError] = useState<string | null>(null);
  const [typing, setTyping] = useState(false);
  const [peerRead, setPeerRead] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const [editing, setEditing] = useState<number | null>(null);
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const lastTyping = useRef(0);
  const list = useRef<HTMLOListElement>(null);
  const composer = useRef<HTMLInputElement>(null);
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

  const lastId = useRef(0);
  const oldest = useRef(Number.MAX_SAFE_INTEGER);
  const more = useRef(false); // older messages not loaded yet
  // How many times the stream changed each message: an answer to my own change is shown only
  // if nothing newer about that message came over the stream meanwhile.
  const streamed = useRef(new Map<number, number>());
  const add = (incoming: Msg[]) =>
    setMsgs((have) => {
      const byId = new Map(have.map((m) => [m.id, m]));
      for (const m of incoming) {
        byId.set(m.id, m);
        lastId.current = Math.max(lastId.current, m.id);
        oldest.current = Math.min(oldest.current, m.id);
      }
      return [...byId.values()].sort((a, b) => a.id - b.id);
    });
  const markRead = () =>
    void api
      .POST("/api/v1/conversations/{user_id}/read", { params: { path: { user_id: peerId } }, body: { up_to_id: lastId.current } })
      .catch(() => undefined);
  const mine = (m: { from_user_id: string; to_user_id: string }) => m.from_user_id === peerId || m.to_user_id === peerId;
  const page = (cursor?: string) =>
    ok(api.GET("/api/v1/conversations/{user_id}/messages", { params: { path: { user_id: peerId }, query: { limit: 30, ...(cursor ? { cursor } : {}) } } }));

  useEffect(() => {
    let live = true;
    let stopFollowing = () => {};
    ok(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: peerId } } })).then(
      (u) => live && setPeer(name(u)),
      (exc: unknown) => live && setError(message(exc)),
    );
    page().then(
      (first) => {
        if (!live) return;
        add(first.items);
        setOlder(first.next_cursor ?? null);
        more.current = first.next_cursor != null;
        setLoaded(true);
        const last = first.items.reduce((n, m) => Math.max(n, m.id), 0);
        // New messages and changed ones (edited, deleted, reacted to: the same id again), live
        // or replayed in order after a reconnect, come through the `dm` stream.
        stopFollowing = followStream("dm", last, (ev) => {
          const m = ev as unknown as Msg;
          if (!mine(m)) return;
          // A change to a message further back than what is loaded comes with its page.
          if (more.current && m.id < oldest.current) return;
          streamed.current.set(m.id, (streamed.current.get(m.id) ?? 0) + 1);
          const isNew = m.id > lastId.current;
          add([m]);
          if (isNew && m.from_user_id === peerId) {
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
      else void page().then((p) => add(p.items), () => undefined);
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

  // To the newest message when one arrives (not when older ones load above).
  const newest = msgs.length ? msgs[msgs.length - 1].id : 0;
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [newest]);

  /** My change of a message: the answer is the message as it is now, shown unless the
   * stream already brought something newer about it. */
  const change = async (id: number, call: () => Promise<Msg | null>) => {
    const seen = streamed.current.get(id) ?? 0;
    const m = await call();
    if (m && (streamed.current.get(id) ?? 0) === seen) add([m]);
  };
  const path = (id: number) => ({ params: { path: { message_id: id } } });
  const loadOlder = async (): Promise<boolean> => {
    if (!older) return false;
    const p = await page(older);
    add(p.items);
    setOlder(p.next_cursor ?? null);
    more.current = p.next_cursor != null;
    return true;
  };
  const { jump, missing } = useJump((id) => `msg-${id}`, older ? loadOlder : null);
  const ops: ChatOps = {
    me,
    name: (id) => (id === me ? "You" : peer || "them"),
    anchor: (id) => `msg-${id}`,
    maxLength: 4000,
    mayEdit: (m) => m.author_id === me && m.text !== "",
    mayDelete: (m) => m.author_id === me,
    edit: (id, text) => change(id, () => ok(api.PATCH("/api/v1/messages/{message_id}", { ...path(id), body: { text } }))),
    remove: (id) =>
      change(id, async () => {
        await ok(api.DELETE("/api/v1/messages/{message_id}", path(id)));
        const had = msgs.find((m) => m.id === id);
        return had ? { ...had, deleted: true, text: "", reactions: [], title: null, attachment: null } : null;
      }),
    react: (id, emoji, on) => change(id, () => ok(api.POST("/api/v1/messages/{message_id}/reactions", { ...path(id), body: { emoji, on } }))),
    reply: (m) => {
      setReplyTo(m);
      composer.current?.focus();
    },
    jump,
    editing,
    setEditing,
  };
  const byId = new Map(msgs.map((m) => [m.id, m]));

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
        api.POST("/api/v1/messages", {
          body: {
            to_user_id: peerId,
            text,
            client_msg_id: crypto.randomUUID(),
            ...(attachment_id ? { attachment_id } : {}),
            ...(replyTo ? { reply_to_id: replyTo.id } : {}),
          },
        }),
      );
      add([m]);
      input.value = "";
      clearPending(false);
      setReplyTo(null);
      setError(null);
    } catch (exc) {
      setError(message(exc));
    }
  };

  return (
    <section class="narrow thread">
      <p>
        <Link href="/messages">← All conversations</Link>
      </p>
      <h1>{peer || "Messages"}</h1>
      {older && (
        <button type="button" class="secondary" onClick={() => void loadOlder().catch((exc: unknown) => setError(message(exc)))}>
          Older messages
        </button>
      )}
      {!loaded && !error && <Loading />}
      {missing && <p class="muted" role="status">The message it replies to is no longer in this conversation.</p>}
      <ol class="messages" ref={list} aria-live="polite">
        {msgs.map((m) => {
          const c = entry(m);
          const original = c.reply_to ? byId.get(c.reply_to.id) : undefined;
          return (
            <ChatEntry
              key={m.id}
              m={c}
              ops={ops}
              class={m.from_user_id === me ? "me" : "them"}
              original={original && entry(original)}
              meta={
                <>
                  <time dateTime={m.created_at}>{new Date(m.created_at).toLocaleTimeString()}</time>
                  {m.from_user_id === me && m.id <= peerRead && <span class="seen"> · Seen</span>}
                </>
              }
              tail={m.from_user_id === peerId && !m.deleted && <ReportButton kind="message" targetId={String(m.id)} what={`the message from ${peer || "them"}`} />}
            >
              {m.title && <SharedTitle card={m.title} />}
              {m.attachment && <SharedImage image={m.attachment} from={m.from_user_id === me ? "you" : peer} />}
            </ChatEntry>
          );
        })}
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
      {replyTo && (
        <ReplyingTo
          to={replyTo}
          ops={ops}
          onCancel={() => {
            setReplyTo(null);
            composer.current?.focus();
          }}
        />
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
            ref={composer}
            name="text"
            autocomplete="off"
            maxLength={4000}
            onKeyDown={(e) => {
              // Esc drops the reply; Up in an empty field edits my last message (as in most chats).
              if (e.key === "Escape" && replyTo) {
                e.preventDefault();
                setReplyTo(null);
              } else if (e.key === "ArrowUp" && !e.currentTarget.value) {
                const last = [...msgs].reverse().find((m) => m.from_user_id === me && !m.deleted && m.text);
                if (last) {
                  e.preventDefault();
                  setEditing(last.id);
                }
              }
            }}
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

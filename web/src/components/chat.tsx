// What a person does to a message, the same in private messages and in a party's chat: edit
// their own in place (Enter saves, Shift+Enter a new line, Esc cancels; shown "edited"),
// delete it for everyone after saying so (a "Message deleted" tombstone stays), reply with a
// quote of it (the quote takes you back to it), and put emoji on it (counts, who, a tap on
// one's own takes it back). Each view maps its messages to ChatMessage and says what each
// action calls; what changes comes back over the live stream (and after a reconnect, the
// resume), so the server's copy is what shows. Buttons carry hidden words for screen readers
// instead of aria-labels, so a page's "Message" field stays the only thing of that name.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { message } from "../api/client";
import { ErrorNote } from "../ui";
import "./chat.css";

export type Reaction = { emoji: string; count: number; user_ids: string[] };
export type Quote = { id: number; author_id: string; text: string; deleted: boolean };
export interface ChatMessage {
  id: number;
  author_id: string;
  text: string;
  deleted: boolean;
  edited: boolean;
  reply_to: Quote | null;
  reactions: Reaction[];
}

export const EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🔥", "👏", "🎬"];

/** What a view lets people do with its messages. */
export interface ChatOps {
  me: string | undefined;
  /** A person's name as shown ("You" for me). */
  name(userId: string): string;
  /** The element id of a message (what a quote jumps to). */
  anchor(id: number): string;
  maxLength: number;
  mayEdit(m: ChatMessage): boolean;
  mayDelete(m: ChatMessage): boolean;
  edit(id: number, text: string): Promise<unknown>;
  remove(id: number): Promise<unknown>;
  react(id: number, emoji: string, on: boolean): Promise<unknown>;
  reply(m: ChatMessage): void;
  jump(id: number): void;
  /** The one message being edited in this view (one at a time). */
  editing: number | null;
  setEditing(id: number | null): void;
}

export function snippet(text: string, n = 60): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
}

function whose(m: { author_id: string }, ops: ChatOps): string {
  return m.author_id === ops.me ? "your message" : `${ops.name(m.author_id)}'s message`;
}

function people(ids: string[], ops: ChatOps): string {
  const names = ids.map((id) => ops.name(id));
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** One message with its quote, text (or editor, or tombstone), reactions and actions. `head`
 * goes first (an author line), `children` after the text (a card, an image), `meta` on the
 * time line; `original` is the quoted message as this view has it now (fresher than the
 * quote the server attached when the reply was sent). */
export function ChatEntry(props: {
  m: ChatMessage;
  ops: ChatOps;
  class?: string;
  original?: ChatMessage;
  head?: ComponentChildren;
  children?: ComponentChildren;
  meta?: ComponentChildren;
  tail?: ComponentChildren;
}): JSX.Element {
  const { m, ops } = props;
  const [confirming, setConfirming] = useState(false);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const li = useRef<HTMLLIElement>(null);
  const editing = ops.editing === m.id && !m.deleted;
  const what = whose(m, ops);
  const run = (p: Promise<unknown>, done?: () => void) =>
    p.then(
      () => {
        setError(null);
        done?.();
      },
      (exc: unknown) => setError(message(exc)),
    );
  // Where focus goes once the change is drawn (the button that opened what just closed).
  const refocus = useRef<string | null>(null);
  const focusIn = (selector: string) => {
    refocus.current = selector;
  };
  useEffect(() => {
    const selector = refocus.current;
    const el = selector ? li.current?.querySelector<HTMLElement>(selector) : null;
    if (!el) return;
    refocus.current = null;
    el.focus();
  });
  // Deleted elsewhere meanwhile: nothing left to confirm or edit.
  useEffect(() => {
    if (m.deleted) setConfirming(false);
  }, [m.deleted]);

  return (
    <li ref={li} id={ops.anchor(m.id)} tabIndex={-1} class={[props.class, "chat-entry", m.deleted ? "deleted" : ""].filter(Boolean).join(" ")}>
      {props.head}
      {m.reply_to && !m.deleted && <QuoteButton quote={m.reply_to} original={props.original} ops={ops} />}
      {m.deleted ? (
        <span class="text tombstone">Message deleted</span>
      ) : editing ? (
        <Editor
          text={m.text}
          maxLength={ops.maxLength}
          onSave={(text) => ops.edit(m.id, text)}
          onClose={() => {
            ops.setEditing(null);
            focusIn(".chat-actions .edit");
          }}
        />
      ) : (
        m.text && <span class="text">{m.text}</span>
      )}
      {!m.deleted && props.children}
      {!m.deleted && m.reactions.length > 0 && (
        <span class="chat-reactions">
          {m.reactions.map((r) => {
            const mine = ops.me !== undefined && r.user_ids.includes(ops.me);
            const who = people(r.user_ids, ops);
            return (
              <button
                key={r.emoji}
                type="button"
                class="reaction-chip"
                aria-pressed={mine}
                aria-label={`${r.emoji} ${r.count}: ${who}`}
                title={who}
                onClick={() => void run(ops.react(m.id, r.emoji, !mine))}
              >
                <span aria-hidden="true">
                  {r.emoji} {r.count}
                </span>
                <span class="reactors" aria-hidden="true">
                  {who}
                </span>
              </button>
            );
          })}
        </span>
      )}
      <span class="chat-foot">
        <span class="chat-meta">
          {props.meta}
          {m.edited && !m.deleted && <span class="edited">edited</span>}
        </span>
        {!m.deleted && !editing && !confirming && (
          <span class="chat-actions">
            <button type="button" class="link reply" onClick={() => ops.reply(m)}>
              Reply<span class="visually-hidden"> to {what}</span>
            </button>
            <button
              type="button"
              class="link react"
              aria-expanded={picking}
              onClick={() => {
                setPicking(!picking);
                if (!picking) focusIn(".emoji-picker button");
              }}
            >
              React<span class="visually-hidden"> to {what}</span>
            </button>
            {ops.mayEdit(m) && (
              <button
                type="button"
                class="link edit"
                onClick={() => {
                  setPicking(false);
                  ops.setEditing(m.id);
                }}
              >
                Edit<span class="visually-hidden"> {what}</span>
              </button>
            )}
            {ops.mayDelete(m) && (
              <button
                type="button"
                class="link delete"
                onClick={() => {
                  setPicking(false);
                  setConfirming(true);
                  focusIn(".confirm-delete .cancel");
                }}
              >
                Delete<span class="visually-hidden"> {what}</span>
              </button>
            )}
          </span>
        )}
      </span>
      {!m.deleted && picking && (
        <EmojiPicker
          mine={new Set(m.reactions.filter((r) => ops.me !== undefined && r.user_ids.includes(ops.me)).map((r) => r.emoji))}
          onPick={(emoji, on) => {
            setPicking(false);
            focusIn(".chat-actions .react");
            void run(ops.react(m.id, emoji, on));
          }}
          onClose={() => {
            setPicking(false);
            focusIn(".chat-actions .react");
          }}
        />
      )}
      {!m.deleted && confirming && (
        <span
          class="confirm-delete"
          role="group"
          aria-labelledby={`${ops.anchor(m.id)}-confirm`}
          onKeyDown={(e) => {
            if (e.key !== "Escape") return;
            e.stopPropagation();
            setConfirming(false);
            focusIn(".chat-actions .delete");
          }}
        >
          <span id={`${ops.anchor(m.id)}-confirm`}>Delete for everyone? It cannot be undone.</span>{" "}
          <button
            type="button"
            class="danger"
            onClick={() =>
              void run(ops.remove(m.id), () => {
                setConfirming(false);
                li.current?.focus();
              })
            }
          >
            Delete for everyone
          </button>{" "}
          <button
            type="button"
            class="secondary cancel"
            onClick={() => {
              setConfirming(false);
              focusIn(".chat-actions .delete");
            }}
          >
            Keep it
          </button>
        </span>
      )}
      {error && <ErrorNote message={error} />}
      {props.tail}
    </li>
  );
}

function QuoteButton({ quote, original, ops }: { quote: Quote; original?: ChatMessage; ops: ChatOps }): JSX.Element {
  const deleted = original ? original.deleted : quote.deleted;
  const text = original ? original.text : quote.text;
  const author = ops.name(quote.author_id);
  return (
    <button type="button" class="quote" onClick={() => ops.jump(quote.id)}>
      <span class="visually-hidden">Replying to </span>
      <span class="quote-who">{author}</span>
      <span class="quote-text">{deleted ? <em>Message deleted</em> : snippet(text, 120) || <em>An image or a title</em>}</span>
      <span class="visually-hidden"> (show it)</span>
    </button>
  );
}

function Editor(props: { text: string; maxLength: number; onSave: (text: string) => Promise<unknown>; onClose: () => void }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  // Before the browser paints or takes input: after it, a keystroke or a paste that came
  // first would be moved to the end of the old text (an effect runs a frame late).
  useLayoutEffect(() => {
    const el = area.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const save = async () => {
    const text = area.current?.value.trim() ?? "";
    if (text === props.text.trim()) return props.onClose();
    if (!text) return setError("A message cannot be empty: delete it instead.");
    setBusy(true);
    try {
      await props.onSave(text);
      props.onClose();
    } catch (exc) {
      setError(message(exc));
      setBusy(false);
    }
  };
  return (
    <form
      class="chat-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        <span class="visually-hidden">Edit the text</span>
        <textarea
          ref={area}
          name="edit"
          rows={Math.min(6, props.text.split("\n").length + 1)}
          maxLength={props.maxLength}
          disabled={busy}
          defaultValue={props.text}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              void save();
            } else if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              props.onClose();
            }
          }}
        />
      </label>
      <span class="chat-editor-buttons">
        <button type="submit" disabled={busy}>
          Save
        </button>{" "}
        <button type="button" class="secondary" onClick={props.onClose}>
          Cancel
        </button>
        <small class="muted"> Enter saves, Esc cancels</small>
      </span>
      {error && <ErrorNote message={error} />}
    </form>
  );
}

function EmojiPicker(props: { mine: Set<string>; onPick: (emoji: string, on: boolean) => void; onClose: () => void }): JSX.Element {
  // Arrow keys move along the row (a TV remote has no Tab key).
  const move = (e: KeyboardEvent) => {
    const buttons = [...(e.currentTarget as HTMLElement).querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === "Escape") {
      e.stopPropagation();
      props.onClose();
    } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      const next = (i + (e.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length;
      buttons[next]?.focus();
    }
  };
  return (
    <span class="emoji-picker" role="group" aria-label="Pick a reaction" onKeyDown={move}>
      {EMOJI.map((emoji) => {
        const on = props.mine.has(emoji);
        return (
          <button key={emoji} type="button" class="secondary" aria-pressed={on} onClick={() => props.onPick(emoji, !on)}>
            <span aria-hidden="true">{emoji}</span>
            <span class="visually-hidden">{on ? `Take back ${emoji}` : `React with ${emoji}`}</span>
          </button>
        );
      })}
    </span>
  );
}

/** "Replying to …" over a composer, with a way out (also Esc in the composer). */
export function ReplyingTo({ to, ops, onCancel }: { to: ChatMessage; ops: ChatOps; onCancel: () => void }): JSX.Element {
  return (
    <p class="replying">
      <span>
        Replying to <strong>{to.author_id === ops.me ? "yourself" : ops.name(to.author_id)}</strong>: {snippet(to.text, 80) || "an image or a title"}
      </span>
      <button type="button" class="link" onClick={onCancel}>
        Cancel reply
      </button>
    </p>
  );
}

/** Take a person to a message: scrolled into the middle, focused, flashed. When it is not on
 * the page yet, `more` loads what comes before (false: nothing left to load, say so). */
export function useJump(anchor: (id: number) => string, more: (() => Promise<boolean>) | null) {
  const [target, setTarget] = useState<number | null>(null);
  const [round, setRound] = useState(0); // another page came: look again
  const [missing, setMissing] = useState(false);
  const loading = useRef(false);
  useEffect(() => {
    if (target === null) return;
    const el = document.getElementById(anchor(target));
    if (el) {
      setTarget(null);
      el.scrollIntoView({ block: "center", behavior: "smooth" });
      el.focus({ preventScroll: true });
      el.classList.remove("flash");
      void el.offsetWidth; // restart the animation
      el.classList.add("flash");
      setTimeout(() => el.classList.remove("flash"), 1600);
      return;
    }
    if (loading.current) return;
    if (!more) {
      setTarget(null);
      setMissing(true);
      return;
    }
    loading.current = true;
    void more().then(
      (found) => {
        loading.current = false;
        if (found) setRound((r) => r + 1);
        else {
          setTarget(null);
          setMissing(true);
        }
      },
      () => {
        loading.current = false;
        setTarget(null);
        setMissing(true);
      },
    );
  }, [target, round]);
  return {
    jump: (id: number) => {
      setMissing(false);
      setTarget(id);
    },
    missing,
  };
}

// Comments on a title: newest first with paging, replies (one level deep) on demand, likes,
// spoilers hidden until asked for, and my own comments editable and deletable.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { useSession } from "../hooks";
import { Link } from "../router";
import { ErrorNote, Loading, Status } from "../ui";
import { ReportButton } from "./report";

type Comment = Schemas["CommentOut"];

function usePaged(fetchPage: (cursor?: string) => Promise<{ items: Comment[]; next_cursor?: string | null }>, deps: unknown[]) {
  const [items, setItems] = useState<Comment[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<{ loading: boolean; error: string | null }>({ loading: true, error: null });
  const load = async (after?: string) => {
    setState({ loading: true, error: null });
    try {
      const page = await fetchPage(after);
      setItems((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
      setState({ loading: false, error: null });
    } catch (exc) {
      setState({ loading: false, error: message(exc) });
    }
  };
  useEffect(() => {
    void load();
  }, deps);
  return { items, setItems, cursor, state, more: () => cursor && load(cursor), reload: () => load() };
}

export function Comments({ titleId }: { titleId: number }): JSX.Element {
  const { signedIn } = useSession();
  const list = usePaged(
    (cursor) => ok(api.GET("/api/v1/titles/{title_id}/comments", { params: { path: { title_id: titleId }, query: { limit: 20, ...(cursor ? { cursor } : {}) } } })),
    [titleId, signedIn],
  );
  return (
    <section aria-labelledby="comments-h" class="comments">
      <h2 id="comments-h">Comments</h2>
      {signedIn ? (
        <CommentForm titleId={titleId} onPosted={(c) => list.setItems((prev) => [c, ...prev])} />
      ) : (
        <p>
          <Link href={`/signin?next=/titles/${titleId}`}>Sign in</Link> to comment.
        </p>
      )}
      <ul class="comment-list">
        {list.items.map((c) => (
          <CommentItem key={c.id} comment={c} titleId={titleId} />
        ))}
      </ul>
      {list.state.error && <ErrorNote message={list.state.error} />}
      {list.state.loading && <Loading what="Loading comments" />}
      {!list.state.loading && list.items.length === 0 && !list.state.error && <p class="muted">No comments yet.</p>}
      {list.cursor && !list.state.loading && (
        <button type="button" class="secondary" onClick={list.more}>
          Older comments
        </button>
      )}
    </section>
  );
}

function CommentForm(props: { titleId: number; parentId?: number; onPosted: (c: Comment) => void; label?: string }): JSX.Element {
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    try {
      const c = await ok(
        api.POST("/api/v1/titles/{title_id}/comments", {
          params: { path: { title_id: props.titleId } },
          body: { body: String(data.get("body") ?? ""), spoiler: data.get("spoiler") === "on", parent_id: props.parentId ?? null },
        }),
      );
      form.reset();
      setStatus(null);
      props.onPosted(c);
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <form class="comment-form" onSubmit={submit}>
      <label>
        {props.label ?? "Add a comment"}
        <textarea name="body" rows={props.parentId ? 2 : 3} maxLength={10000} required />
      </label>
      <label class="inline">
        <input type="checkbox" name="spoiler" /> Contains spoilers
      </label>
      <button type="submit">{props.parentId ? "Reply" : "Post"}</button>
      <Status status={status} />
    </form>
  );
}

function CommentItem({ comment, titleId, isReply }: { comment: Comment; titleId: number; isReply?: boolean }): JSX.Element {
  const { signedIn, user } = useSession();
  const [c, setC] = useState(comment);
  const [shown, setShown] = useState(!comment.spoiler);
  const [replying, setReplying] = useState(false);
  const [repliesOpen, setRepliesOpen] = useState(false);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mine = user != null && c.author?.id === user.id;
  const path = { params: { path: { comment_id: c.id } } };
  const like = async () => {
    try {
      const r = c.liked_by_me ? await ok(api.DELETE("/api/v1/comments/{comment_id}/like", path)) : await ok(api.PUT("/api/v1/comments/{comment_id}/like", path));
      setC({ ...c, like_count: r.like_count, liked_by_me: r.liked_by_me });
    } catch (exc) {
      setError(message(exc));
    }
  };
  const remove = async () => {
    if (!confirm("Delete this comment?")) return;
    try {
      await ok(api.DELETE("/api/v1/comments/{comment_id}", path));
      setC({ ...c, deleted: true, body: null });
    } catch (exc) {
      setError(message(exc));
    }
  };
  const save = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    try {
      setC(await ok(api.PATCH("/api/v1/comments/{comment_id}", { ...path, body: { body: String(data.get("body")), spoiler: data.get("spoiler") === "on" } })));
      setEditing(false);
    } catch (exc) {
      setError(message(exc));
    }
  };
  const who = c.author ? c.author.display_name || c.author.username : "Someone";
  return (
    <li class="comment" id={`comment-${c.id}`}>
      <p class="comment-head">
        <strong>{c.deleted || !c.author ? (c.deleted ? (c.hidden ? "Hidden by a moderator" : "Deleted comment") : who) : <Link href={`/users/${c.author.id}`}>{who}</Link>}</strong>{" "}
        <time class="muted" dateTime={c.created_at}>
          {new Date(c.created_at).toLocaleString()}
        </time>
        {c.edited_at && <span class="muted"> (edited)</span>}
      </p>
      {c.deleted ? null : editing ? (
        <form onSubmit={save} class="comment-form">
          <label>
            Edit
            <textarea name="body" rows={3} value={c.body ?? ""} required />
          </label>
          <label class="inline">
            <input type="checkbox" name="spoiler" checked={c.spoiler} /> Contains spoilers
          </label>
          <button type="submit">Save</button>{" "}
          <button type="button" class="secondary" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : shown ? (
        <p class="comment-body">{c.body}</p>
      ) : (
        <p>
          <button type="button" class="secondary spoiler" onClick={() => setShown(true)}>
            Spoiler: show the comment
          </button>
        </p>
      )}
      {!c.deleted && (
        <div class="comment-actions">
          <button type="button" class="link" aria-pressed={c.liked_by_me} disabled={!signedIn} onClick={like}>
            <span aria-hidden="true">♥ </span>
            {c.liked_by_me ? "Liked" : "Like"} · {c.like_count}
          </button>
          {signedIn && !isReply && (
            <button type="button" class="link" onClick={() => setReplying(!replying)}>
              Reply
            </button>
          )}
          {mine && (
            <>
              <button type="button" class="link" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button type="button" class="link" onClick={remove}>
                Delete
              </button>
            </>
          )}
          {signedIn && !mine && c.author && <ReportButton kind="comment" targetId={String(c.id)} what={`the comment by ${who}`} />}
        </div>
      )}
      {error && <ErrorNote message={error} />}
      {!isReply && c.reply_count > 0 && !repliesOpen && (
        <button type="button" class="link" onClick={() => setRepliesOpen(true)}>
          {c.reply_count} repl{c.reply_count === 1 ? "y" : "ies"}
        </button>
      )}
      {!isReply && (repliesOpen || replying) && (
        <Replies
          comment={c}
          titleId={titleId}
          replying={replying}
          onReplied={() => {
            setReplying(false);
            setRepliesOpen(true);
            setC((prev) => ({ ...prev, reply_count: prev.reply_count + 1 }));
          }}
        />
      )}
    </li>
  );
}

function Replies(props: { comment: Comment; titleId: number; replying: boolean; onReplied: () => void }): JSX.Element {
  const list = usePaged(
    (cursor) => ok(api.GET("/api/v1/comments/{comment_id}/replies", { params: { path: { comment_id: props.comment.id }, query: { limit: 20, ...(cursor ? { cursor } : {}) } } })),
    [props.comment.id],
  );
  return (
    <div class="replies">
      <ul class="comment-list">
        {list.items.map((r) => (
          <CommentItem key={r.id} comment={r} titleId={props.titleId} isReply />
        ))}
      </ul>
      {list.state.loading && <Loading what="Loading replies" />}
      {list.state.error && <ErrorNote message={list.state.error} />}
      {list.cursor && !list.state.loading && (
        <button type="button" class="link" onClick={list.more}>
          More replies
        </button>
      )}
      {props.replying && (
        <CommentForm
          titleId={props.titleId}
          parentId={props.comment.id}
          label="Your reply"
          onPosted={(r) => {
            list.setItems((prev) => [...prev, r]);
            props.onReplied();
          }}
        />
      )}
    </div>
  );
}

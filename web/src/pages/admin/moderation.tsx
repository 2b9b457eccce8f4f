// /admin/moderation: the moderators' queue. Open reports oldest first (or the closed ones,
// newest first), each with what was reported shown as moderators see it (hidden or deleted
// words included) and where it was said; hide or restore it, dismiss the report, suspend its
// author, each with a reason for the audit log. What an action did shows at once on the item.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../../api/client";
import { reasonLabel } from "../../components/report";
import { useSession } from "../../hooks";
import { Link } from "../../router";
import { useTitle } from "../../ui";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";
import "./moderation.css";

type Item = Schemas["QueueItem"];
type Status = Schemas["ReportOut"]["status"];
type Kind = Schemas["ReportOut"]["kind"];
type Person = { id: string; username: string; display_name?: string | null };

export function personName(u: Person | null | undefined): string {
  if (!u) return "someone deleted";
  return u.display_name ? `${u.display_name} (@${u.username})` : `@${u.username}`;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

const KIND_NAMES: Record<Kind, string> = { comment: "Comment", message: "Private message", user: "Account" };

export default function Moderation(): JSX.Element {
  useTitle("Moderation");
  return (
    <AdminLayout title="Moderation">
      <Queue />
    </AdminLayout>
  );
}

function Queue(): JSX.Element {
  const [status, setStatus] = useState<Status>("open");
  const [kind, setKind] = useState<Kind | "">("");
  const list = useAdminList(
    (cursor) => ok(api.GET("/api/v1/moderation/reports", { params: { query: { status, limit: 20, ...(kind ? { kind } : {}), ...(cursor ? { cursor } : {}) } } })),
    [status, kind],
    "more",
  );
  return (
    <>
      <form class="admin-filters" aria-label="Queue filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value as Status)}>
            <option value="open">Open, oldest first</option>
            <option value="resolved">Resolved (acted on)</option>
            <option value="dismissed">Dismissed</option>
          </select>
        </label>
        <label>
          About
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind | "")}>
            <option value="">Anything</option>
            <option value="comment">Comments</option>
            <option value="message">Private messages</option>
            <option value="user">Accounts</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={list.reload}>
          Refresh
        </button>
      </form>
      <AdminList
        list={list}
        empty={<p class="muted">{status === "open" ? "Nothing to look at: the queue is empty." : "No reports here."}</p>}
        loading="Loading reports"
        more="More reports"
      >
        {(items) => (
          <ol class="queue" aria-label="Report queue">
            {items.map((item) => (
              <QueueEntry key={item.report.id} item={item} />
            ))}
          </ol>
        )}
      </AdminList>
    </>
  );
}

function moderate(kind: Kind, id: number, hidden: boolean, reason: string | null): Promise<Schemas["ModerationOut"]> {
  const body = { reason };
  if (kind === "comment") {
    const params = { path: { comment_id: id } };
    return ok(hidden ? api.POST("/api/v1/moderation/comments/{comment_id}/hide", { params, body }) : api.POST("/api/v1/moderation/comments/{comment_id}/restore", { params, body }));
  }
  const params = { path: { message_id: id } };
  return ok(hidden ? api.POST("/api/v1/moderation/messages/{message_id}/hide", { params, body }) : api.POST("/api/v1/moderation/messages/{message_id}/restore", { params, body }));
}

/** Suspend an account (it is signed out everywhere at once) or lift the suspension. */
export function setSuspended(userId: string, suspended: boolean, reason: string | null): Promise<Schemas["UserStateOut"]> {
  const args = { params: { path: { user_id: userId } }, body: { reason } };
  return ok(suspended ? api.POST("/api/v1/moderation/users/{user_id}/suspend", args) : api.POST("/api/v1/moderation/users/{user_id}/unsuspend", args));
}

function QueueEntry({ item }: { item: Item }): JSX.Element {
  const { user: me } = useSession();
  const [report, setReport] = useState(item.report);
  const [target, setTarget] = useState(item.target);
  const [authorSuspended, setAuthorSuspended] = useState(item.target.kind === "user" && item.target.hidden);
  const [done, setDone] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const head = `report-${report.id}`;
  const author = target.user;
  const authorName = personName(author);
  const content = target.kind === "comment" ? "comment" : "message";

  const act = async (run: (reason: string | null) => Promise<string>, form: HTMLFormElement | null) => {
    const reason = String(new FormData(form ?? undefined).get("reason") ?? "").trim() || null;
    setBusy(true);
    try {
      setDone({ ok: true, text: await run(reason) });
    } catch (exc) {
      setDone({ ok: false, text: message(exc) });
    } finally {
      setBusy(false);
    }
  };
  const closed = (n: number) => (n ? ` ${n} open report${n === 1 ? "" : "s"} on it closed.` : "");
  const hide = (hidden: boolean) => async (reason: string | null) => {
    const out = await moderate(target.kind, Number(target.id), hidden, reason);
    setTarget(out.target);
    if (out.resolved_reports > 0 && report.status === "open") setReport({ ...report, status: "resolved", resolved_at: new Date().toISOString() });
    return `${hidden ? "Hidden" : "Restored"}: the ${content} ${hidden ? "no longer shows" : "shows again"}.${closed(out.resolved_reports)}`;
  };
  const dismiss = async (reason: string | null) => {
    setReport(await ok(api.POST("/api/v1/moderation/reports/{report_id}/dismiss", { params: { path: { report_id: report.id } }, body: { reason } })));
    return "Report dismissed: nothing was changed.";
  };
  const suspend = (suspended: boolean) => async (reason: string | null) => {
    if (!author) return "";
    const out = await setSuspended(author.id, suspended, reason);
    setAuthorSuspended(out.suspended);
    if (target.kind === "user") {
      setTarget({ ...target, hidden: out.suspended });
      if (suspended && report.status === "open") setReport({ ...report, status: "resolved", resolved_at: new Date().toISOString() });
    }
    return suspended
      ? `${authorName} is suspended: signed out everywhere (${out.ended_sessions} session${out.ended_sessions === 1 ? "" : "s"} ended).`
      : `${authorName} may sign in again.`;
  };

  const formId = `${head}-form`;
  const form = () => document.getElementById(formId) as HTMLFormElement | null;
  const canSuspend = author && author.id !== me?.id;
  return (
    <li class="queue-item">
      <article aria-labelledby={head}>
        <h2 id={head} class="queue-title">
          {KIND_NAMES[target.kind]} {target.kind === "user" ? authorName : `by ${authorName}`}
          <span class={`badge-state ${report.status}`}>{report.status}</span>
        </h2>
        <p class="queue-meta">
          Reported by {personName(item.reporter)} for <strong>{reasonLabel(report.reason)}</strong>, {when(report.created_at)}
          {item.open_reports > 1 && report.status === "open" ? ` · ${item.open_reports} open reports on it` : ""}
          {report.resolved_at ? ` · closed ${when(report.resolved_at)}` : ""}
        </p>
        {report.note && <p class="queue-note">“{report.note}”</p>}
        {target.kind === "user" ? (
          <p>
            <Link href={`/users/${target.id}`}>Open the profile</Link> · joined {when(target.created_at)}
          </p>
        ) : target.text === null && target.deleted && !target.user ? (
          <p class="muted">It is gone from the database.</p>
        ) : (
          <figure class="reported">
            <blockquote>{target.text}</blockquote>
            <figcaption class="muted">
              {target.kind === "comment" ? "On " : "Sent "}
              {target.kind === "comment" && target.title_id != null ? (
                <Link href={`/titles/${target.title_id}#comment-${target.id}`}>the title's page</Link>
              ) : (
                "privately to the reporter"
              )}
              , {when(target.created_at)}
            </figcaption>
          </figure>
        )}
        <p class="states">
          {target.kind !== "user" && target.hidden && <span class="state">Hidden by a moderator</span>}
          {target.deleted && target.kind === "comment" && !target.hidden && <span class="state">Deleted by its author</span>}
          {authorSuspended && <span class="state">{target.kind === "user" ? "Suspended" : "Author suspended"}</span>}
        </p>
        <form id={formId} class="queue-actions" onSubmit={(e) => e.preventDefault()}>
          <label>
            Reason <small>(kept in the audit log)</small>
            <input name="reason" maxLength={1000} autoComplete="off" />
          </label>
          <div class="buttons">
            {target.kind !== "user" &&
              (target.hidden ? (
                <button type="button" class="secondary" disabled={busy} onClick={() => void act(hide(false), form())}>
                  Restore {content}
                </button>
              ) : (
                <button type="button" disabled={busy || (target.deleted && target.kind === "comment")} onClick={() => void act(hide(true), form())}>
                  Hide {content}
                </button>
              ))}
            {report.status === "open" && (
              <button type="button" class="secondary" disabled={busy} onClick={() => void act(dismiss, form())}>
                Dismiss report
              </button>
            )}
            {canSuspend &&
              (authorSuspended ? (
                <button type="button" class="secondary" disabled={busy} onClick={() => void act(suspend(false), form())}>
                  Reinstate {target.kind === "user" ? "account" : "author"}
                </button>
              ) : (
                <button
                  type="button"
                  class="danger"
                  disabled={busy}
                  onClick={() => confirm(`Suspend ${authorName}? They are signed out everywhere at once.`) && void act(suspend(true), form())}
                >
                  Suspend {target.kind === "user" ? "account" : "author"}
                </button>
              ))}
          </div>
          <p class={done ? (done.ok ? "status ok" : "status error") : "status"} role={done && !done.ok ? "alert" : "status"}>
            {done?.text ?? ""}
          </p>
        </form>
      </article>
    </li>
  );
}

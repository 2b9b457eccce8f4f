// /admin/audit (admins): what editors and admins did, newest first, filtered by what was
// done, to what, and by whom (the filters live in the address, so a view can be linked:
// the accounts page links each account's history); older entries page in.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, ok, type Schemas } from "../../api/client";
import { Link, navigate, useLocation } from "../../router";
import { useTitle } from "../../ui";
import { AdminOnly } from "./adminonly";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";
import { personName, when } from "./moderation";
import "./moderation.css";

type Entry = Schemas["AuditOut"];
const FILTERS = ["action", "target_kind", "target_id", "actor_id"] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

const ACTIONS = [
  "hide_comment",
  "restore_comment",
  "hide_message",
  "restore_message",
  "dismiss_report",
  "suspend_user",
  "unsuspend_user",
  "set_role",
  "create_title",
  "update_title",
  "delete_title",
];
const KINDS = ["comment", "message", "user", "report", "title", "season", "episode", "person", "collection"];

export default function Audit(): JSX.Element {
  useTitle("Audit log");
  return (
    <AdminLayout title="Audit log">
      <AdminOnly>
        <AuditLog />
      </AdminOnly>
    </AdminLayout>
  );
}

function filtersOf(query: URLSearchParams): Filters {
  const out: Filters = {};
  for (const name of FILTERS) {
    const v = query.get(name)?.trim();
    if (v) out[name] = v;
  }
  return out;
}

function show(filters: Filters): void {
  const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v) as [string, string][]);
  const search = q.toString();
  navigate(`/admin/audit${search ? `?${search}` : ""}`, { replace: true });
}

function targetLink(e: Entry): JSX.Element {
  const label = `${e.target_kind} ${e.target_id}`;
  if (e.target_kind === "user") return <Link href={`/users/${e.target_id}`}>{label}</Link>;
  if (e.target_kind === "title") return <Link href={`/titles/${e.target_id}`}>{label}</Link>;
  if (e.target_kind === "person") return <Link href={`/people/${e.target_id}`}>{label}</Link>;
  return <span>{label}</span>;
}

function AuditLog(): JSX.Element {
  const { query } = useLocation();
  const filters = filtersOf(query);
  const key = JSON.stringify(filters);
  const [actorName, setActorName] = useState<string | null>(null);
  const list = useAdminList(
    (cursor) => ok(api.GET("/api/v1/moderation/audit", { params: { query: { limit: 30, ...filters, ...(cursor ? { cursor } : {}) } } })),
    [key],
    "more",
  );
  const apply = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    show({
      action: String(data.get("action") ?? "").trim(),
      target_kind: String(data.get("target_kind") ?? ""),
      target_id: String(data.get("target_id") ?? "").trim(),
      actor_id: filters.actor_id,
    });
  };
  return (
    <>
      <form class="admin-filters" aria-label="Filter the audit log" onSubmit={apply} key={key}>
        <label>
          Action
          <input name="action" list="audit-actions" pattern="[a-z_]{1,40}" defaultValue={filters.action ?? ""} autoComplete="off" />
          <datalist id="audit-actions">
            {ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          On
          <select name="target_kind" defaultValue={filters.target_kind ?? ""}>
            <option value="">Anything</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Its id
          <input name="target_id" maxLength={64} pattern="[\w:.\-]+" defaultValue={filters.target_id ?? ""} autoComplete="off" />
        </label>
        <button type="submit">Filter</button>
        {Object.keys(filters).length > 0 && (
          <button type="button" class="secondary" onClick={() => show({})}>
            Clear filters
          </button>
        )}
      </form>
      {filters.actor_id && (
        <p>
          Only what {actorName ?? "one person"} did.{" "}
          <button type="button" class="link" onClick={() => show({ ...filters, actor_id: undefined })}>
            Everyone
          </button>
        </p>
      )}
      <AdminList
        list={list}
        empty={<p class="muted">Nothing recorded{Object.keys(filters).length ? " for these filters" : ""}.</p>}
        loading="Loading the audit log"
        more="Older entries"
      >
        {(items) => (
          <ol class="audit" aria-label="Audit log entries">
            {items.map((e) => (
              <li key={e.id}>
                <p class="audit-line">
                  <time dateTime={e.created_at}>{when(e.created_at)}</time>
                  {e.actor ? (
                    <button
                      type="button"
                      class="link"
                      title="Only what they did"
                      onClick={() => {
                        setActorName(personName(e.actor));
                        show({ ...filters, actor_id: e.actor?.id });
                      }}
                    >
                      {personName(e.actor)}
                    </button>
                  ) : (
                    <span class="muted">a removed account</span>
                  )}
                  <span class="audit-action">{e.action}</span>
                  {targetLink(e)}
                </p>
                {e.reason && <p class="audit-reason">Reason: {e.reason}</p>}
              </li>
            ))}
          </ol>
        )}
      </AdminList>
    </>
  );
}

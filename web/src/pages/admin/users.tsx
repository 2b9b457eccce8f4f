// /admin/users (admins): find accounts by the start of a name, by role or state; see each
// one's role, state and open reports; change a role; suspend (signed out everywhere at once)
// or reinstate. Each change is written to the audit log with the reason given.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../../api/client";
import { useSession } from "../../hooks";
import { Link } from "../../router";
import { useTitle } from "../../ui";
import { AdminOnly } from "./adminonly";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";
import { setSuspended, when } from "./moderation";
import "./moderation.css";

type Account = Schemas["AccountOut"];
type Role = Schemas["RoleIn"]["role"];
type Query = { q: string; role: Role | ""; suspended: "" | "true" | "false" };

const ROLES: Role[] = ["user", "editor", "admin"];

export default function Users(): JSX.Element {
  useTitle("Users");
  return (
    <AdminLayout title="Users">
      <AdminOnly>
        <Accounts />
      </AdminOnly>
    </AdminLayout>
  );
}

function Accounts(): JSX.Element {
  const [query, setQuery] = useState<Query>({ q: "", role: "", suspended: "" });
  const list = useAdminList(
    (cursor) =>
      ok(
        api.GET("/api/v1/moderation/users", {
          params: {
            query: {
              limit: 25,
              ...(query.q.trim() ? { q: query.q.trim() } : {}),
              ...(query.role ? { role: query.role } : {}),
              ...(query.suspended ? { suspended: query.suspended === "true" } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
    [query],
    "more",
  );
  const search = (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    setQuery({
      q: String(data.get("q") ?? ""),
      role: String(data.get("role") ?? "") as Role | "",
      suspended: String(data.get("suspended") ?? "") as Query["suspended"],
    });
  };
  return (
    <>
      <form class="admin-filters" role="search" aria-label="Find accounts" onSubmit={search}>
        <label>
          Name starts with
          <input name="q" type="search" maxLength={64} autoComplete="off" />
        </label>
        <label>
          Role
          <select name="role">
            <option value="">Any</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select name="suspended">
            <option value="">Any</option>
            <option value="false">Active</option>
            <option value="true">Suspended</option>
          </select>
        </label>
        <button type="submit">Find</button>
      </form>
      <AdminList list={list} empty={<p class="muted">No account matches.</p>} loading="Loading accounts" more="More accounts">
        {(items) => (
          <ul class="accounts" aria-label="Accounts">
            {items.map((a) => (
              <AccountEntry key={a.id} account={a} />
            ))}
          </ul>
        )}
      </AdminList>
    </>
  );
}

function AccountEntry(props: { account: Account }): JSX.Element {
  const { user: me } = useSession();
  const [a, setA] = useState(props.account);
  const [done, setDone] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const head = `account-${a.id}`;
  const name = a.display_name ? `${a.display_name} (@${a.username})` : `@${a.username}`;
  const self = me?.id === a.id;
  const run = async (e: Event, what: (data: FormData) => Promise<string>) => {
    const form = (e.currentTarget as HTMLElement).closest("form");
    if (!form) return;
    setBusy(true);
    try {
      setDone({ ok: true, text: await what(new FormData(form)) });
    } catch (exc) {
      setDone({ ok: false, text: message(exc) });
    } finally {
      setBusy(false);
    }
  };
  const reasonOf = (data: FormData) => String(data.get("reason") ?? "").trim() || null;
  const changeRole = async (data: FormData) => {
    const role = String(data.get("role")) as Role;
    const out = await ok(api.PUT("/api/v1/users/{user_id}/role", { params: { path: { user_id: a.id } }, body: { role, reason: reasonOf(data) } }));
    setA({ ...a, role: out.role });
    return `${name} is now ${/^[aeiou]/.test(out.role) ? "an" : "a"} ${out.role}.`;
  };
  const suspend = (suspended: boolean) => async (data: FormData) => {
    const out = await setSuspended(a.id, suspended, reasonOf(data));
    setA({ ...a, suspended: out.suspended, open_reports: suspended ? 0 : a.open_reports });
    return suspended
      ? `${name} is suspended: signed out everywhere (${out.ended_sessions} session${out.ended_sessions === 1 ? "" : "s"} ended).`
      : `${name} may sign in again.`;
  };
  return (
    <li>
      <article aria-labelledby={head}>
        <div class="account-head">
          <h2 id={head}>
            <Link href={`/users/${a.id}`}>{name}</Link>
          </h2>
          <span class="badge-state">{a.role}</span>
          {a.suspended ? <span class="state">Suspended</span> : <span class="badge-state">Active</span>}
          {a.open_reports > 0 && (
            <span class="muted">
              {a.open_reports} open report{a.open_reports === 1 ? "" : "s"}
            </span>
          )}
          <span class="muted">joined {when(a.created_at)}</span>
          <Link href={`/admin/audit?target_kind=user&target_id=${a.id}`} aria-label={`History of ${name}`}>
            History
          </Link>
        </div>
        {self ? (
          <p class="muted">This is you.</p>
        ) : (
          <form class="account-actions" aria-label={`Change ${name}`} onSubmit={(e) => {
              e.preventDefault();
              void run(e, changeRole);
            }}>
            <label>
              Role
              <select name="role" value={a.role}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Reason <small>(audit log)</small>
              <input name="reason" maxLength={1000} autoComplete="off" />
            </label>
            <button type="submit" disabled={busy}>
              Change role
            </button>
            {a.suspended ? (
              <button type="button" class="secondary" disabled={busy} onClick={(e) => void run(e, suspend(false))}>
                Reinstate
              </button>
            ) : (
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={(e) => confirm(`Suspend ${name}? They are signed out everywhere at once.`) && void run(e, suspend(true))}
              >
                Suspend
              </button>
            )}
            <p class={done ? (done.ok ? "status ok" : "status error") : "status"} role={done && !done.ok ? "alert" : "status"}>
              {done?.text ?? ""}
            </p>
          </form>
        )}
      </article>
    </li>
  );
}

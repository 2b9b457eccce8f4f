// Family: a parent sets the family PIN, creates child accounts with a maturity limit (the
// oldest age rating they may watch), changes a limit, resets a child's password and reads
// what a child watched. Every change asks for the PIN (the server limits tries).
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { ErrorNote, Loading, Status, formValues, useTitle } from "../ui";
import { RequireSignIn } from "./require";

type Child = Schemas["ChildOut"];
type Note = { ok: boolean; text: string } | null;
const AGES = [0, 6, 7, 10, 12, 13, 14, 16, 17, 18];

function History({ child }: { child: Child }): JSX.Element {
  const [items, setItems] = useState<Schemas["HistoryEntryOut"][] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    ok(api.GET("/api/v1/family/children/{child_id}/history", { params: { path: { child_id: child.id }, query: { limit: 20 } } })).then(
      (page) => setItems(page.items),
      (exc: unknown) => setError(message(exc)),
    );
  }, [child.id]);
  if (error) return <ErrorNote message={error} />;
  if (!items) return <Loading />;
  if (items.length === 0) return <p class="muted">Nothing watched yet.</p>;
  return (
    <ul class="child-history">
      {items.map((h) => (
        <li key={h.id}>
          {h.title}
          {h.season_number != null && ` S${h.season_number}E${h.episode_number ?? "?"}`} · {new Date(h.updated_at).toLocaleString()}
          {h.watched ? " · watched" : ""}
        </li>
      ))}
    </ul>
  );
}

function Family(): JSX.Element {
  const [children, setChildren] = useState<Child[] | null>(null);
  const [note, setNote] = useState<Note>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  useTitle("Family");
  const load = () =>
    ok(api.GET("/api/v1/family/children")).then(setChildren, (exc: unknown) => setError(message(exc)));
  useEffect(() => void load(), []);
  const attempt = async (fn: () => Promise<unknown>, done: string) => {
    try {
      await fn();
      setNote({ ok: true, text: done });
      await load();
    } catch (exc) {
      setNote({ ok: false, text: message(exc) });
    }
  };

  if (error) return <ErrorNote message={error} />;
  return (
    <section class="narrow" id="family">
      <h1>Family</h1>
      <Status status={note} />
      <h2>Children</h2>
      {!children && <Loading />}
      {children?.length === 0 && <p>No child accounts yet.</p>}
      <ul class="sessions">
        {children?.map((c) => (
          <li key={c.id}>
            <div>
              <strong>{c.display_name || c.username}</strong> ({c.username}) · up to age {c.maturity_limit ?? "?"}
              <form
                class="inline"
                onSubmit={(e) => {
                  e.preventDefault();
                  const v = formValues(e.currentTarget as HTMLFormElement);
                  void attempt(
                    () =>
                      ok(
                        api.PUT("/api/v1/family/children/{child_id}/maturity-limit", {
                          params: { path: { child_id: c.id } },
                          body: { maturity_limit: Number(v.maturity_limit), pin: v.pin ?? "" },
                        }),
                      ),
                    "Limit changed.",
                  );
                }}
              >
                <label>
                  Limit{" "}
                  <select name="maturity_limit" value={String(c.maturity_limit ?? 12)}>
                    {AGES.map((a) => (
                      <option key={a} value={a}>
                        {a}+
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  PIN <input name="pin" type="password" inputMode="numeric" required />
                </label>
                <button type="submit" class="secondary">
                  Change limit
                </button>
              </form>
              <form
                class="inline"
                onSubmit={(e) => {
                  e.preventDefault();
                  const v = formValues(e.currentTarget as HTMLFormElement);
                  void attempt(
                    () =>
                      ok(
                        api.POST("/api/v1/family/children/{child_id}/password", {
                          params: { path: { child_id: c.id } },
                          body: { new_password: v.new_password ?? "", pin: v.pin ?? "" },
                        }),
                      ),
                    "Password reset.",
                  );
                }}
              >
                <label>
                  New password <input name="new_password" type="password" autocomplete="new-password" required />
                </label>
                <label>
                  PIN <input name="pin" type="password" inputMode="numeric" required />
                </label>
                <button type="submit" class="secondary">
                  Reset password
                </button>
              </form>
              <button type="button" class="link" onClick={() => setOpen(open === c.id ? null : c.id)} aria-expanded={open === c.id}>
                {open === c.id ? "Hide history" : "What they watched"}
              </button>
              {open === c.id && <History child={c} />}
            </div>
          </li>
        ))}
      </ul>
      <h2>Add a child</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget as HTMLFormElement;
          const v = formValues(form);
          void attempt(
            () =>
              ok(
                api.POST("/api/v1/family/children", {
                  body: {
                    username: v.username ?? "",
                    display_name: v.display_name || null,
                    password: v.password ?? "",
                    maturity_limit: Number(v.maturity_limit),
                    pin: v.pin ?? "",
                  },
                }),
              ).then(() => form.reset()),
            "Child account created.",
          );
        }}
      >
        <label>
          Username <input name="username" required autocomplete="off" />
        </label>
        <label>
          Display name <input name="display_name" autocomplete="off" />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="new-password" required />
        </label>
        <label>
          Oldest age rating allowed
          <select name="maturity_limit" value="12">
            {AGES.map((a) => (
              <option key={a} value={a}>
                {a}+
              </option>
            ))}
          </select>
        </label>
        <label>
          Family PIN <input name="pin" type="password" inputMode="numeric" required />
        </label>
        <button type="submit">Create</button>
      </form>
      <h2>Family PIN</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const v = formValues(e.currentTarget as HTMLFormElement);
          void attempt(
            () => ok(api.PUT("/api/v1/family/pin", { body: { current_password: v.current_password ?? "", pin: v.pin ?? "" } })),
            "PIN set.",
          );
        }}
      >
        <label>
          Your password <input name="current_password" type="password" autocomplete="current-password" required />
        </label>
        <label>
          New PIN <input name="pin" type="password" inputMode="numeric" required />
        </label>
        <button type="submit" class="secondary">
          Set PIN
        </button>
      </form>
    </section>
  );
}

export default function FamilyPage(): JSX.Element {
  return (
    <RequireSignIn>
      <Family />
    </RequireSignIn>
  );
}

// My profile: display name, username, email (a change is pending until confirmed), password,
// my sessions on every device, each revocable, and this device's name as one of my screens.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { loadMe, signOut } from "../api/auth";
import { api, message, ok, type Schemas } from "../api/client";
import { setUser } from "../api/session";
import { useLoad, useSession } from "../hooks";
import { navigate } from "../router";
import { ScreenName } from "../screens/name";
import { Loaded, Status, formValues, useTitle } from "../ui";
import { RequireSignIn } from "./require";

type St = { ok: boolean; text: string } | null;

export default function Profile(): JSX.Element {
  useTitle("Profile");
  return (
    <RequireSignIn>
      <ProfileBody />
    </RequireSignIn>
  );
}

function ProfileBody(): JSX.Element {
  const { user } = useSession();
  const [me] = useLoad(() => ok(api.GET("/api/v1/me")), [user?.id]);
  return (
    <section>
      <h1>Profile</h1>
      <Loaded load={me}>{(u) => <Details user={u} />}</Loaded>
      <PasswordForm />
      <Sessions />
      <h2>Sign out</h2>
      <button
        type="button"
        class="secondary"
        onClick={async () => {
          await ok(api.POST("/api/v1/auth/logout-all")).catch(() => undefined);
          await signOut();
          navigate("/signin");
        }}
      >
        Sign out on every device
      </button>
    </section>
  );
}

function Details({ user }: { user: Schemas["UserOut"] }): JSX.Element {
  const [status, setStatus] = useState<St>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    const body: Schemas["MeUpdate"] = {};
    if ((v.display_name ?? "") !== (user.display_name ?? "")) body.display_name = v.display_name || null;
    if (v.username !== user.username) body.username = v.username;
    if (v.email !== user.email) {
      body.email = v.email;
      body.current_password = v.current_password;
    }
    if (Object.keys(body).length === 0) {
      setStatus({ ok: true, text: "Nothing changed." });
      return;
    }
    try {
      const next = await ok(api.PATCH("/api/v1/me", { body }));
      setUser(next);
      setStatus({
        ok: true,
        text: next.pending_email ? `Saved. Open the link we mailed to ${next.pending_email} to switch to it.` : "Saved.",
      });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <form id="profile" onSubmit={submit}>
      <p>
        Signed in as <strong>{user.username}</strong> ({user.role}).{" "}
        {user.email_confirmed ? "Email confirmed." : <ResendConfirmation />}
      </p>
      <label>
        Display name
        <input name="display_name" value={user.display_name ?? ""} maxLength={64} autoComplete="nickname" />
      </label>
      <label>
        Username
        <input name="username" value={user.username} required minLength={3} maxLength={32} autoComplete="username" />
      </label>
      <label>
        Email
        <input name="email" type="email" value={user.email} required autoComplete="email" />
        {user.pending_email && <small>Waiting for confirmation: {user.pending_email}</small>}
      </label>
      <label>
        Current password <small>(only to change the email)</small>
        <input name="current_password" type="password" autoComplete="current-password" />
      </label>
      <button type="submit">Save</button>
      <Status status={status} />
    </form>
  );
}

function ResendConfirmation(): JSX.Element {
  const [said, setSaid] = useState<string | null>(null);
  return (
    <>
      Email not confirmed yet.{" "}
      <button
        type="button"
        class="link"
        onClick={() =>
          ok(api.POST("/api/v1/auth/confirm/resend")).then(
            (a) => setSaid(a.message),
            (exc: unknown) => setSaid(message(exc)),
          )
        }
      >
        Send the link again
      </button>
      {said && <span role="status"> {said}</span>}
    </>
  );
}

function PasswordForm(): JSX.Element {
  const [status, setStatus] = useState<St>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const v = formValues(form);
    try {
      await ok(api.POST("/api/v1/me/password", { body: { current_password: v.current_password, new_password: v.new_password } }));
      form.reset();
      setStatus({ ok: true, text: "Password changed. Your other sessions were signed out." });
      void loadMe();
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <form id="password" onSubmit={submit}>
      <h2>Password</h2>
      <label>
        Current password
        <input name="current_password" type="password" autoComplete="current-password" required />
      </label>
      <label>
        New password
        <input name="new_password" type="password" autoComplete="new-password" required />
      </label>
      <button type="submit">Change password</button>
      <Status status={status} />
    </form>
  );
}

function Sessions(): JSX.Element {
  const [sessions, reload] = useLoad(() => ok(api.GET("/api/v1/auth/sessions")));
  const [status, setStatus] = useState<St>(null);
  const revoke = async (s: Schemas["SessionOut"]) => {
    try {
      await ok(api.DELETE("/api/v1/auth/sessions/{session_id}", { params: { path: { session_id: s.id } } }));
      if (s.current) {
        await signOut();
        navigate("/signin");
        return;
      }
      setStatus({ ok: true, text: "Session signed out." });
      reload();
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <section aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions and devices</h2>
      <Loaded load={sessions}>
        {(list) => (
          <ul class="sessions">
            {list.map((s) => (
              <li key={s.id}>
                <span>
                  <strong>{s.user_agent || "Unknown device"}</strong> · {s.ip} · last seen{" "}
                  {new Date(s.last_seen_at).toLocaleString()}
                  {s.current && <em> (this device)</em>}
                </span>
                <button type="button" class="secondary" onClick={() => revoke(s)}>
                  Sign out{s.current ? " here" : ""}
                </button>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      <Status status={status} />
      <ScreenName />
    </section>
  );
}

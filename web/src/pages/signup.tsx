import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok } from "../api/client";
import { Link, navigate } from "../router";
import { Status, formValues, useTitle } from "../ui";

export default function SignUp(): JSX.Element {
  useTitle("Create an account");
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      await ok(api.POST("/api/v1/auth/register", { body: { email: v.email, username: v.username, password: v.password } }));
      navigate("/signin?registered=1", { replace: true });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="narrow">
      <h1>Create an account</h1>
      <form id="signup" onSubmit={submit}>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required maxLength={254} />
        </label>
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={3} maxLength={32} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" required aria-describedby="pw-hint" />
          <small id="pw-hint">A long passphrase is best; the server refuses common and breached passwords.</small>
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
        <Status status={status} />
      </form>
      <p>
        Have an account? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}

import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { signIn } from "../api/auth";
import { message } from "../api/client";
import { Link, navigate, type PageProps } from "../router";
import { Status, formValues, useTitle } from "../ui";

export default function SignIn({ query }: PageProps): JSX.Element {
  useTitle("Sign in");
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const next = query.get("next") ?? "/";
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      await signIn(v.login, v.password);
      navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="narrow">
      <h1>Sign in</h1>
      {query.get("registered") && (
        <p class="status ok" role="status">
          Check your mail for the confirmation link, then sign in.
        </p>
      )}
      <form id="signin" onSubmit={submit}>
        <label>
          Email or username
          <input name="login" autoComplete="username" required maxLength={254} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <Status status={status} />
      </form>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link> · New here? <Link href="/signup">Create an account</Link>
      </p>
    </section>
  );
}

// The pages the mailed links open (models/accounts/links.py builds the links): confirm an
// email address, reset a forgotten password, undo an email change, keep an account that is to
// be deleted. Each sends the token from its URL to the API only when the person acts (a mail
// scanner's GET changes nothing), except the confirmation, which is safe to repeat.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { loadMe } from "../api/auth";
import { api, message, ok } from "../api/client";
import { forget, signedIn } from "../api/session";
import { Link, type PageProps } from "../router";
import { Status, formValues, useTitle } from "../ui";

type St = { ok: boolean; text: string } | null;

export function Confirm({ query }: PageProps): JSX.Element {
  useTitle("Confirm your email");
  const token = query.get("token") ?? "";
  const [status, setStatus] = useState<St>(null);
  useEffect(() => {
    if (!token) {
      setStatus({ ok: false, text: "This link has no token. Open the link from the mail again." });
      return;
    }
    ok(api.POST("/api/v1/auth/confirm", { body: { token } })).then(
      (user) => {
        setStatus({ ok: true, text: `Email confirmed: ${user.email}. Thanks, ${user.username}!` });
        void loadMe();
      },
      (exc: unknown) => setStatus({ ok: false, text: message(exc) }),
    );
  }, [token]);
  return (
    <section class="narrow" id="confirm">
      <h1>Confirm your email</h1>
      {status ? <Status status={status} id="result" /> : <p role="status">Confirming…</p>}
      {status?.ok && <p>{signedIn() ? <Link href="/">Go to the cinema</Link> : <Link href="/signin">Sign in</Link>}</p>}
    </section>
  );
}

export function Forgot(): JSX.Element {
  useTitle("Forgot your password");
  const [status, setStatus] = useState<St>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    try {
      const answer = await ok(api.POST("/api/v1/auth/password/forgot", { body: { email: v.email } }));
      setStatus({ ok: true, text: answer.message ?? "If the address has an account, a link is on its way." });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <section class="narrow">
      <h1>Forgot your password</h1>
      <p>We mail you a link to choose a new one.</p>
      <form id="forgot" onSubmit={submit}>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <button type="submit">Send the link</button>
        <Status status={status} id="result" />
      </form>
    </section>
  );
}

export function Reset({ query }: PageProps): JSX.Element {
  useTitle("Choose a new password");
  const token = query.get("token");
  const [status, setStatus] = useState<St>(null);
  if (!token) return <Forgot />;
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    try {
      const answer = await ok(api.POST("/api/v1/auth/password/reset", { body: { token, new_password: v.new_password } }));
      forget(); // every session ended, this one too
      setStatus({ ok: true, text: answer.message ?? "Password changed." });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      <form id="reset" onSubmit={submit}>
        <label>
          New password
          <input name="new_password" type="password" autoComplete="new-password" required />
        </label>
        <button type="submit">Change password</button>
        <Status status={status} id="result" />
      </form>
      {status?.ok && <Link href="/signin">Sign in</Link>}
    </section>
  );
}

export function UndoEmail({ query }: PageProps): JSX.Element {
  useTitle("Keep your email address");
  const token = query.get("token") ?? "";
  const [status, setStatus] = useState<St>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const answer = await ok(api.POST("/api/v1/auth/email/undo", { body: { token } }));
      forget();
      setStatus({ ok: true, text: answer.message ?? "Done." });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <section class="narrow">
      <h1>Keep your email address</h1>
      <p>Someone asked to change the email address of your account. If it was not you, keep the current one: every session is signed out.</p>
      <form id="undo" onSubmit={submit}>
        <button type="submit">Keep my address and sign out everywhere</button>
        <Status status={status} id="result" />
      </form>
    </section>
  );
}

export function UndoDeletion({ query }: PageProps): JSX.Element {
  useTitle("Keep your account");
  const token = query.get("token") ?? "";
  const [status, setStatus] = useState<St>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const answer = await ok(api.POST("/api/v1/auth/deletion/undo", { body: { token } }));
      setStatus({ ok: true, text: answer.message ?? "Your account will not be deleted." });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  return (
    <section class="narrow">
      <h1>Keep your account?</h1>
      <p>Your account is to be deleted. This cancels the deletion; then sign in again.</p>
      {!status?.ok && (
        <form id="undo" onSubmit={submit}>
          <button type="submit">Keep my account</button>
        </form>
      )}
      <Status status={status} id="result" />
      {status?.ok && !signedIn() && <Link href="/signin">Sign in</Link>}
    </section>
  );
}

// Account security: two-step sign-in with an authenticator app (scan the QR code, confirm a
// code, keep the recovery codes), new recovery codes, and passkeys (add with this device's
// authenticator, list, remove). Each change asks for the password again.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { Link } from "../router";
import { ErrorNote, Loading, Status, formValues, useTitle } from "../ui";
import { RequireSignIn } from "./require";

type Enrolment = Schemas["TotpEnrolmentOut"];
type Passkey = Schemas["PasskeyOut"];
type Note = { ok: boolean; text: string } | null;

function Codes({ codes }: { codes: string[] }): JSX.Element {
  return (
    <div class="recovery-codes" role="status">
      <p>Recovery codes: each signs you in once if you lose your authenticator. Keep them somewhere safe.</p>
      <ul>
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Security(): JSX.Element {
  const [status, setStatus] = useState<Schemas["MfaStatusOut"] | null>(null);
  const [passkeys, setPasskeys] = useState<Passkey[]>([]);
  const [enrol, setEnrol] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [note, setNote] = useState<Note>(null);
  const [error, setError] = useState<string | null>(null);
  useTitle("Security");

  const load = async () => {
    try {
      setStatus(await ok(api.GET("/api/v1/me/2fa")));
      setPasskeys(await ok(api.GET("/api/v1/me/passkeys")));
    } catch (exc) {
      setError(message(exc));
    }
  };
  useEffect(() => void load(), []);
  const attempt = async (fn: () => Promise<void>) => {
    try {
      await fn();
      setNote(null);
    } catch (exc) {
      setNote({ ok: false, text: message(exc) });
    }
  };

  const startTotp = (e: Event) => {
    e.preventDefault();
    const { current_password } = formValues(e.currentTarget as HTMLFormElement);
    void attempt(async () => setEnrol(await ok(api.POST("/api/v1/me/2fa/totp", { body: { current_password: current_password ?? "" } }))));
  };
  const confirmTotp = (e: Event) => {
    e.preventDefault();
    const { code } = formValues(e.currentTarget as HTMLFormElement);
    void attempt(async () => {
      const out = await ok(api.POST("/api/v1/me/2fa/totp/confirm", { body: { code: code ?? "" } }));
      setCodes((out as { recovery_codes?: string[] }).recovery_codes ?? null);
      setEnrol(null);
      await load();
    });
  };
  const disableTotp = (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    void attempt(async () => {
      await ok(api.POST("/api/v1/me/2fa/totp/disable", { body: { current_password: v.current_password ?? "", code: v.code || null } }));
      setCodes(null);
      await load();
    });
  };
  const newCodes = (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    void attempt(async () => {
      const out = await ok(
        api.POST("/api/v1/me/2fa/recovery-codes", { body: { current_password: v.current_password ?? "", code: v.code || null } }),
      );
      setCodes(out.recovery_codes);
    });
  };
  const addPasskey = (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    void attempt(async () => {
      const opts = await ok(api.POST("/api/v1/me/passkeys/options", { body: { current_password: v.current_password ?? "" } }));
      const PKC = window.PublicKeyCredential as unknown as {
        parseCreationOptionsFromJSON?: (o: unknown) => PublicKeyCredentialCreationOptions;
      };
      if (!PKC?.parseCreationOptionsFromJSON) throw new Error("This browser cannot create passkeys.");
      const raw = opts.options as { publicKey?: unknown };
      const cred = (await navigator.credentials.create({
        publicKey: PKC.parseCreationOptionsFromJSON(raw.publicKey ?? raw),
      })) as (PublicKeyCredential & { toJSON(): unknown }) | null;
      if (!cred) throw new Error("No passkey was made.");
      const out = await ok(
        api.POST("/api/v1/me/passkeys", {
          body: { ceremony_id: opts.ceremony_id, credential: cred.toJSON() as Record<string, unknown>, name: v.name || null },
        }),
      );
      if (out.recovery_codes.length) setCodes(out.recovery_codes);
      setNote({ ok: true, text: `Passkey "${out.passkey.name}" added.` });
      await load();
    });
  };

  if (error) return <ErrorNote message={error} />;
  if (!status) return <Loading />;
  return (
    <section class="narrow" id="security">
      <h1>Security</h1>
      <Status status={note} />
      {codes && <Codes codes={codes} />}
      <h2>Authenticator app</h2>
      {status.totp_enabled ? (
        <>
          <p class="totp-on">Two-step sign-in is on. {status.recovery_codes_left} recovery codes left.</p>
          <form onSubmit={disableTotp}>
            <label>
              Password <input type="password" name="current_password" autocomplete="current-password" required />
            </label>
            <label>
              Code from the app <input name="code" inputMode="numeric" autocomplete="one-time-code" />
            </label>
            <button type="submit" class="secondary">
              Turn off
            </button>
          </form>
          <form onSubmit={newCodes}>
            <label>
              Password <input type="password" name="current_password" autocomplete="current-password" required />
            </label>
            <label>
              Code from the app <input name="code" inputMode="numeric" autocomplete="one-time-code" />
            </label>
            <button type="submit" class="secondary">
              New recovery codes
            </button>
          </form>
        </>
      ) : enrol ? (
        <form onSubmit={confirmTotp}>
          <p>Scan this with your authenticator app, or type the key.</p>
          <img src={enrol.qr_data_uri} alt="QR code for your authenticator app" width={200} height={200} />
          <p>
            Key: <code class="totp-secret">{enrol.secret}</code>
          </p>
          <label>
            Code from the app <input name="code" inputMode="numeric" autocomplete="one-time-code" required />
          </label>
          <button type="submit">Turn on</button>
        </form>
      ) : (
        <form onSubmit={startTotp}>
          <p>Ask for a code from an authenticator app when signing in.</p>
          <label>
            Password <input type="password" name="current_password" autocomplete="current-password" required />
          </label>
          <button type="submit">Set up</button>
        </form>
      )}
      <h2>Passkeys</h2>
      <ul class="sessions">
        {passkeys.map((p) => (
          <li key={p.id}>
            <span>
              <strong>{p.name}</strong> · added {new Date(p.created_at).toLocaleDateString()}
              {p.last_used_at && ` · used ${new Date(p.last_used_at).toLocaleDateString()}`}
            </span>
            <button
              type="button"
              class="secondary"
              onClick={() =>
                void attempt(async () => {
                  await ok(api.DELETE("/api/v1/me/passkeys/{passkey_id}", { params: { path: { passkey_id: p.id } } }));
                  await load();
                })
              }
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={addPasskey}>
        <label>
          Name <input name="name" placeholder="This laptop" />
        </label>
        <label>
          Password <input type="password" name="current_password" autocomplete="current-password" required />
        </label>
        <button type="submit">Add a passkey</button>
      </form>
      <h2>Family</h2>
      <p>
        <Link href="/family">Child accounts and their limits</Link>
      </p>
    </section>
  );
}

export default function SecurityPage(): JSX.Element {
  return (
    <RequireSignIn>
      <Security />
    </RequireSignIn>
  );
}

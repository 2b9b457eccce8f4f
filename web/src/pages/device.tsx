// Sign in on a TV (RFC 8628 verification_uri, models/accounts/links.py DEVICE_PATH): a
// signed-in person enters the code the TV shows (filled in from ?user_code=, the QR code's
// verification_uri_complete), sees which device asks, then approves or denies it. Anyone not
// signed in signs in first and comes back here with the code.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { Link, type PageProps } from "../router";
import { Status, formValues, useTitle } from "../ui";
import { RequireSignIn } from "./require";

type St = { ok: boolean; text: string } | null;
type Asking = Schemas["DeviceRequestOut"];

export default function Device({ query }: PageProps): JSX.Element {
  useTitle("Sign in on a TV");
  return (
    <RequireSignIn>
      <Grant initial={query.get("user_code") ?? ""} />
    </RequireSignIn>
  );
}

function Grant({ initial }: { initial: string }): JSX.Element {
  const [code, setCode] = useState(initial);
  const [asking, setAsking] = useState<Asking | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<St>(null);

  const lookup = async (userCode: string) => {
    setBusy(true);
    try {
      setAsking(await ok(api.POST("/api/v1/auth/device/lookup", { body: { user_code: userCode } })));
      setStatus(null);
    } catch (exc) {
      setAsking(null);
      setStatus({ ok: false, text: message(exc) });
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (initial) void lookup(initial);
  }, []);

  const decide = async (decision: "approve" | "deny") => {
    setBusy(true);
    try {
      const answer = await ok(api.POST("/api/v1/auth/device/approve", { body: { user_code: code, decision } }));
      setDone(true);
      setStatus({
        ok: true,
        text:
          answer.status === "approved"
            ? `${answer.device.device_name} is signed in. You can close this page.`
            : `${answer.device.device_name} was not signed in.`,
      });
    } catch (exc) {
      setAsking(null); // expired or already used meanwhile: ask for a code again
      setStatus({ ok: false, text: message(exc) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Sign in on a TV</h1>
      {!done && !asking && (
        <form
          id="code"
          onSubmit={(e) => {
            e.preventDefault();
            const typed = formValues(e.currentTarget as HTMLFormElement).user_code.trim();
            setCode(typed);
            void lookup(typed);
          }}
        >
          <p>Enter the code your TV shows.</p>
          <label>
            Code shown on the TV
            <input
              name="user_code"
              required
              maxLength={32}
              autoComplete="off"
              autoCapitalize="characters"
              placeholder="BCDF-GHJK"
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            Continue
          </button>
        </form>
      )}
      {!done && asking && (
        <form
          id="decide"
          onSubmit={(e) => {
            e.preventDefault();
            void decide("approve");
          }}
        >
          <p>
            Sign in <strong id="device">{asking.device_name}</strong> (<span id="client">{asking.client_id}</span>) as
            you? Only approve a device you are holding the remote of.
          </p>
          <button type="submit" disabled={busy}>
            Approve
          </button>{" "}
          <button type="button" id="deny" class="secondary" disabled={busy} onClick={() => void decide("deny")}>
            Deny
          </button>
        </form>
      )}
      <Status status={status} id="result" />
      {done && (
        <p>
          <Link href="/">Go to the cinema</Link>
        </p>
      )}
    </section>
  );
}

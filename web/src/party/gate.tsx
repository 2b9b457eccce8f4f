// Before the party: what an invite link leads to (the film, how full it is, whether it asks for
// a password or asks people to knock), the password prompt, and knocking: the knocker waits
// with a plain message until the host or a co-host answers, the room opens, or the party ends.
// The answer (party:admission) reaches only the sockets we have when it is given: offline then,
// we knock again on reconnect (or on coming back to the link), which tells where ours stands.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { AckError, request, useOnConnect, useServerEvent } from "../api/socket";
import type { ClientEvents } from "../api/events";
import { message } from "../api/client";
import { ErrorNote, Loading } from "../ui";
import { useMediaName, useNames } from "./names";

export type Target = { party_id: string; invite_code?: undefined } | { invite_code: string; party_id?: undefined };
export type Snapshot = ClientEvents["party:join"]["ack"];
type Preview = ClientEvents["party:preview"]["ack"];

type Stage =
  | { kind: "checking" }
  | { kind: "card"; note?: string; knock: boolean; password: boolean }
  | { kind: "joining" }
  | { kind: "knocking"; note?: string }
  | { kind: "closed"; text: string };

const FINAL: Record<string, string> = {
  party_not_found: "There is no party behind this link.",
  party_ended: "This party has ended.",
  banned: "You were removed from this party.",
};

export function JoinGate({ target, onJoined }: { target: Target; onJoined: (snap: Snapshot) => void }): JSX.Element {
  const [stage, setStageState] = useState<Stage>({ kind: "checking" });
  const current = useRef<Stage>(stage); // for handlers made at the first render
  const setStage = (s: Stage) => {
    current.current = s;
    setStageState(s);
  };
  const [preview, setPreviewState] = useState<Preview | null>(null);
  const seen = useRef<Preview | null>(null); // for handlers made at the first render
  const setPreview = (p: Preview) => {
    seen.current = p;
    setPreviewState(p);
  };
  const password = useRef("");
  const partyId = useRef<string | null>(target.party_id ?? null);
  const mediaName = useMediaName(preview?.media);
  const names = useNames(preview ? [preview.host_id] : []);

  const refused = (exc: unknown, knock = false): void => {
    const code = exc instanceof AckError ? exc.code : "";
    if (code in FINAL) return setStage({ kind: "closed", text: FINAL[code] });
    if (code === "admission_required") return setStage({ kind: "card", knock: true, password: Boolean(seen.current?.password_required) });
    if (code === "password_required") return setStage({ kind: "card", knock, password: true, note: "This party asks for its password." });
    if (code === "wrong_password") return setStage({ kind: "card", knock, password: true, note: "That is not this party's password." });
    if (code === "party_full") return setStage({ kind: "card", knock, password: Boolean(seen.current?.password_required), note: "The party is full." });
    setStage({ kind: "closed", text: message(exc) });
  };

  const join = (): void => {
    if (current.current.kind === "joining") return; // the answer came twice (event and ack)
    setStage({ kind: "joining" });
    const pw = password.current;
    request("party:join", { ...target, ...(pw ? { password: pw } : {}) }).then(onJoined, (exc: unknown) => refused(exc));
  };

  // Where our knock stands (a knock's ack, a preview): true when that settles it.
  const answered = (status: Preview["knock"]): boolean => {
    if (status === "admitted" || status === "member") {
      setStage({ kind: "knocking", note: "You're in! Joining…" });
      join();
      return true;
    }
    if (status === "turned_away") {
      setStage({ kind: "closed", text: "The host did not let you in this time." });
      return true;
    }
    return false;
  };

  // Knocking again is safe: it changes nothing and answers at once if the host already did.
  const knock = (again = false): void => {
    const pw = password.current;
    if (!again) setStage({ kind: "knocking" });
    request("party:knock", { ...target, ...(pw ? { password: pw } : {}) }).then(
      (seen) => {
        partyId.current = seen.party_id;
        setPreview(seen);
        answered(seen.knock);
      },
      (exc: unknown) => {
        if (again && exc instanceof AckError && exc.code === "no_knocking") {
          // The room opened while we were away.
          setStage({ kind: "knocking", note: "The room is open now. Joining…" });
          return join();
        }
        refused(exc, true);
      },
    );
  };

  useOnConnect(() => {
    if (current.current.kind === "knocking") knock(true);
  });

  // The answer to a knock (it may come before the knock's own ack: the id is then the link's).
  useServerEvent(
    "party:admission",
    (a) => {
      if (partyId.current && a.party_id !== partyId.current) return;
      if (a.reason === "turned_away") return setStage({ kind: "closed", text: "The host did not let you in this time." });
      if (a.reason === "ended") return setStage({ kind: "closed", text: "The party ended while you waited." });
      setStage({ kind: "knocking", note: a.reason === "room_open" ? "The room is open now. Joining…" : "You're in! Joining…" });
      join();
    },
    [],
  );

  useEffect(() => {
    if (target.invite_code) {
      request("party:preview", { invite_code: target.invite_code }).then(
        (seen) => {
          partyId.current = seen.party_id;
          setPreview(seen);
          // Knocked before (another tab, before a reload): carry on where that stands.
          if (seen.knock !== "member" && answered(seen.knock)) return;
          if (seen.knock === "waiting") return setStage({ kind: "knocking" });
          setStage({ kind: "card", knock: seen.admission === "knock", password: Boolean(seen.password_required) });
        },
        (exc: unknown) => refused(exc),
      );
    } else {
      join(); // by id: a member, invited, or a friend of a host who listed it
    }
  }, []);

  if (stage.kind === "checking" || stage.kind === "joining") return <Loading what="Joining the party" />;
  if (stage.kind === "closed") return <ErrorNote message={stage.text} />;
  const what = mediaName ? `“${mediaName}”` : "a film";
  const host = preview ? names[preview.host_id] : undefined;
  if (stage.kind === "knocking")
    return (
      <section class="narrow party-gate">
        <h1>Waiting to be let in</h1>
        <p role="status" aria-live="polite" class="knock-wait">
          {stage.note ?? `You asked to join${host ? ` ${host}'s party` : " the party"}. You will join as soon as the host lets you in.`}
        </p>
      </section>
    );
  const full = preview?.full ?? false;
  return (
    <section class="narrow party-gate">
      <h1>{host ? `${host}'s watch party` : "A watch party"}</h1>
      {preview && (
        <p class="party-preview">
          Watching {what}. <span class="capacity">{`${preview.members} of ${preview.capacity} watching`}</span>
          {full && " · full"}
          {preview.phase === "playing" && " · playing now"}
        </p>
      )}
      {stage.knock && <p>The host lets people in: ask to join and wait for them.</p>}
      {stage.note && (
        <p class="error" role="alert">
          {stage.note}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (stage.knock) knock();
          else join();
        }}
      >
        {stage.password && (
          <label>
            Party password{" "}
            <input
              type="password"
              name="password"
              autocomplete="off"
              maxLength={128}
              onInput={(e) => (password.current = (e.target as HTMLInputElement).value)}
            />
          </label>
        )}
        <p>
          <button type="submit" disabled={full}>
            {stage.knock ? "Ask to join" : "Join the party"}
          </button>
        </p>
      </form>
    </section>
  );
}

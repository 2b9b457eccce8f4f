// What a member sees about the party's timing: the party waiting for someone who is loading
// (who, or which other screen of mine, and until when at most), and "Catch up" when this member is behind the timeline
// (the server plans a slightly faster rate until they are back on it; nobody else waits).
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { currentSocket } from "../api/socket";
import { useMyScreens } from "../screens/agent";
import type { Act } from "./room";

type State = Schemas["PartyStateOut"];
type Member = Schemas["MemberOut"];

export interface Follower {
  state: State | null;
  serverNow(): number;
  catchUp(opts?: { backMs?: number }): Promise<{ mode: string; rate: number; until_server_ms: number }>;
  readonly catchingUp: boolean;
}

export function WaitingNote({
  state,
  me,
  names,
  serverNow,
}: {
  state: State;
  me: string | undefined;
  names: Record<string, string>;
  serverNow: () => number;
}): JSX.Element | null {
  const [, tick] = useState(0);
  const { others: myScreens } = useMyScreens();
  useEffect(() => {
    if (state.phase !== "waiting") return;
    const t = setInterval(() => tick((n) => n + 1), 500);
    return () => clearInterval(t);
  }, [state.phase]);
  if (state.phase !== "waiting") return null;
  const others = state.waiting_for.filter((id) => id !== me).map((id) => names[id] ?? "someone");
  const self = me !== undefined && state.waiting_for.includes(me);
  const left = state.wait_deadline_ms != null ? Math.max(0, Math.ceil((state.wait_deadline_ms - serverNow()) / 1000)) : null;
  const waits: string[] = [];
  if (others.length) waits.push(`${others.join(", ")} (loading)`);
  if (self) {
    // Which of my screens the party waits for: this one, or another of mine (a TV loading).
    const sockets = (me !== undefined && state.waiting_screens?.[me]) || [];
    const here = currentSocket()?.id;
    if (sockets.length === 0 || (here !== undefined && sockets.includes(here))) waits.push("your video to load");
    else {
      const named = myScreens.filter((s) => sockets.includes(s.socket_id)).map((s) => s.name);
      const screens = sockets.length > 1 ? "your other screens" : "your other screen";
      waits.push(named.length ? `${screens} (${named.join(", ")}) to load` : `${screens} to load`);
    }
  }
  const who = waits.length ? waits.join(" and ") : "everyone to be ready";
  return (
    <div class="party-waiting" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Waiting for {who}…
      {left != null && <span class="muted"> We go on in {left} s at most; anyone still loading catches up.</span>}
    </div>
  );
}

/** How far this member's video is behind the party now (ms; negative: ahead), or null. */
function behindMs(client: Follower, video: HTMLVideoElement | null, target: (s: State, now: number) => number): number | null {
  const s = client.state;
  if (!s || !video || s.phase !== "playing" || !s.playing) return null;
  const now = client.serverNow();
  if (now < s.anchor_server_ms) return null;
  return target(s, now) - video.currentTime * 1000;
}

export function CatchUp({
  client,
  video,
  target,
  me,
  act,
}: {
  client: Follower | null;
  video: HTMLVideoElement | null;
  target: (s: State, now: number) => number;
  me: Member | undefined;
  act: Act;
}): JSX.Element | null {
  const [behind, setBehind] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const t = setInterval(() => {
      if (!client) return;
      setBusy(client.catchingUp);
      setBehind(behindMs(client, video, target));
    }, 300);
    return () => clearInterval(t);
  }, [client, video]);
  if (!client || behind === null) return null;
  const go = (backMs: number) => {
    setBusy(true);
    act(
      client.catchUp({ backMs }).then((plan) => {
        setBusy(plan.mode === "rate");
        return plan;
      }),
    );
  };
  if (busy)
    return (
      <p class="catch-up" role="status">
        Catching up: playing a little faster until you are back with everyone ({Math.max(0, Math.round(behind / 1000))} s behind).
      </p>
    );
  const late = behind > 1000 || Boolean(me?.catching_up && behind > 300);
  return (
    <p class="catch-up">
      {late && (
        <>
          <span role="status">You are {Math.round(behind / 1000)} s behind the party.</span>{" "}
          <button type="button" onClick={() => go(0)}>
            Catch up
          </button>{" "}
        </>
      )}
      <button type="button" class="secondary" onClick={() => go(10_000)} title="Watch the last 10 s again, then catch up">
        Replay 10 s and catch up
      </button>
    </p>
  );
}

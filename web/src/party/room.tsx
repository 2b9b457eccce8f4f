// The room's people and rules: members with their roles and presence, what the host and
// co-hosts may do to each (co-host, host, mute, remove), who is knocking (admit or turn away),
// and the room's settings (who controls playback, join approval, password, slow mode, and the
// host's choice to let their friends see the party).
import type { JSX } from "preact";
import { request } from "../api/socket";
import type { Schemas } from "../api/client";
import type { ClientEvents } from "../api/events";

type State = Schemas["PartyStateOut"];
type Member = Schemas["MemberOut"];
export type Act = (p: Promise<unknown> | undefined, done?: string) => void;

const SLOW = [0, 5, 10, 30, 60, 120, 300];

export function roles(state: State, me: string | undefined) {
  const host = state.host_id === me;
  const cohost = me !== undefined && (state.cohosts ?? []).includes(me);
  return { host, cohost, moderator: host || cohost, controls: host || cohost || state.control_mode === "everyone" };
}

export function Knocking({ state, names, act }: { state: State; names: Record<string, string>; act: Act }): JSX.Element | null {
  const knocking = state.knocking ?? [];
  if (knocking.length === 0) return null;
  const party_id = state.party_id;
  return (
    <section class="knocking" aria-label="Asking to join" aria-live="polite">
      <ul>
        {knocking.map((id) => {
          const who = names[id] ?? "Someone";
          return (
            <li key={id}>
              <strong>{who}</strong> wants to join{" "}
              <button type="button" onClick={() => act(request("party:admit", { party_id, user_id: id, admit: true }))} aria-label={`Admit ${who}`}>
                Admit
              </button>{" "}
              <button
                type="button"
                class="secondary"
                onClick={() => act(request("party:admit", { party_id, user_id: id, admit: false }))}
                aria-label={`Deny ${who}`}
              >
                Deny
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

export function RoomSettings({ state, me, act }: { state: State; me: string | undefined; act: Act }): JSX.Element | null {
  const { host, moderator } = roles(state, me);
  if (!moderator) return null;
  const party_id = state.party_id;
  const room = (change: Omit<ClientEvents["party:room"]["payload"], "party_id">, done: string) => act(request("party:room", { party_id, ...change }), done);
  return (
    <details class="room-settings" open>
      <summary>Room settings</summary>
      {host && (
        <label>
          Who controls playback{" "}
          <select
            value={state.control_mode}
            onChange={(e) =>
              act(request("party:control_mode", { party_id, mode: (e.target as HTMLSelectElement).value as State["control_mode"] }), "Playback control changed.")
            }
          >
            <option value="host_only">Host and co-hosts</option>
            <option value="everyone">Everyone</option>
          </select>
        </label>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={state.admission === "knock"}
          onChange={(e) => room({ admission: (e.target as HTMLInputElement).checked ? "knock" : "open" }, "Join approval changed.")}
        />{" "}
        Ask newcomers to knock (approve who joins)
      </label>
      <label>
        Slow mode{" "}
        <select
          value={String(state.slow_mode_s ?? 0)}
          onChange={(e) => room({ slow_mode_s: Number((e.target as HTMLSelectElement).value) }, "Slow mode changed.")}
        >
          {[...new Set([...SLOW, state.slow_mode_s ?? 0])].sort((x, y) => x - y).map((s) => (
            <option key={s} value={String(s)}>
              {s === 0 ? "Off" : `One message per ${s} s`}
            </option>
          ))}
        </select>
      </label>
      {state.has_password ? (
        <p>
          Password on{" "}
          <button type="button" class="secondary" onClick={() => room({ password: "" }, "Password removed.")}>
            Remove password
          </button>
        </p>
      ) : (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const input = (e.currentTarget as HTMLFormElement).elements.namedItem("room-password") as HTMLInputElement;
            if (input.value) room({ password: input.value }, "Password set.");
            input.value = "";
          }}
        >
          <label class="grow">
            Room password <input name="room-password" type="password" autocomplete="new-password" maxLength={128} />
          </label>
          <button type="submit" class="secondary">
            Set password
          </button>
        </form>
      )}
      {host && (
        <label class="check">
          <input
            type="checkbox"
            checked={state.listed ?? false}
            onChange={(e) => room({ listed: (e.target as HTMLInputElement).checked }, "Friends listing changed.")}
          />{" "}
          Let my friends see this party and join
        </label>
      )}
    </details>
  );
}

export function Members({
  state,
  members,
  me,
  names,
  act,
}: {
  state: State;
  members: Member[];
  me: string | undefined;
  names: Record<string, string>;
  act: Act;
}): JSX.Element {
  const { host, moderator } = roles(state, me);
  const party_id = state.party_id;
  return (
    <ul class="members">
      {members.map((m) => {
        const who = names[m.user_id] ?? "…";
        const isHost = m.user_id === state.host_id;
        const isCohost = (state.cohosts ?? []).includes(m.user_id);
        const muted = (state.muted ?? []).includes(m.user_id);
        const mayModerate = moderator && m.user_id !== me && !isHost && (host || !isCohost);
        return (
          <li key={m.user_id}>
            <span class={m.connected ? "dot on" : "dot"} role="img" aria-label={m.connected ? "connected" : "away"} /> <span class="who">{who}</span>
            {isHost && <span class="role"> host</span>}
            {isCohost && <span class="role"> co-host</span>}
            {muted && <span class="role muted-tag"> muted</span>}
            {m.catching_up && <span class="muted"> · catching up</span>}
            {state.waiting_for.includes(m.user_id) && state.phase === "waiting" && <span class="muted"> · loading</span>}
            {(mayModerate || (host && m.user_id !== me)) && (
              <span class="member-actions">
                {host && !isHost && (
                  <button type="button" class="secondary" onClick={() => act(request("party:cohost", { party_id, user_id: m.user_id, enabled: !isCohost }))}>
                    {isCohost ? "Remove co-host" : "Make co-host"}
                    <span class="visually-hidden"> {who}</span>
                  </button>
                )}
                {host && !isHost && (
                  <button type="button" class="secondary" onClick={() => act(request("party:transfer_host", { party_id, user_id: m.user_id }))}>
                    Make host<span class="visually-hidden"> {who}</span>
                  </button>
                )}
                {mayModerate && (
                  <button type="button" class="secondary" onClick={() => act(request("party:mute", { party_id, user_id: m.user_id, muted: !muted }))}>
                    {muted ? "Unmute chat" : "Mute chat"}
                    <span class="visually-hidden"> of {who}</span>
                  </button>
                )}
                {mayModerate && (
                  <button type="button" class="secondary" onClick={() => act(request("party:kick", { party_id, user_id: m.user_id }))}>
                    Remove<span class="visually-hidden"> {who} from the party</span>
                  </button>
                )}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

// Watch parties: /party/new?title=<id> (or &episode=<id>) starts one, /party/join/<code> is the
// invite link, /party/<id> the party. The video follows the party with the reference client
// (`/static/party-client.js`, served by the server and imported as is: its clock sync,
// scheduled starts and drift correction are the documented rules, not a copy of them), over
// the app's Socket.IO connection. Chat, members with presence, host controls (transfer,
// kick, who controls playback); each member picks their own quality, audio and subtitles.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { useSession } from "../hooks";
import { currentSocket, request } from "../api/socket";
import { Player, type Playback } from "../player/player";
import { requestPlayback, saveProgress, type Problem } from "../player/playback";
import { navigate, type PageProps } from "../router";
import { ErrorNote, Loading, useTitle } from "../ui";
import { RequireSignIn } from "./require";
import { Screens } from "./watch";

type State = Schemas["PartyStateOut"];
type Member = Schemas["MemberOut"];
interface Chat {
  id: number;
  cursor: number;
  user_id: string;
  username: string;
  text: string;
  created_at: string;
}

// The reference client's surface we use (party-client.js has no types of its own).
interface PartyClient {
  members: Member[];
  state: State | null;
  partyId: string | null;
  join(target: { party_id?: string; invite_code?: string }): Promise<{ state: State; invite_code: string }>;
  leave(): Promise<unknown>;
  play(): Promise<unknown>;
  pause(): Promise<unknown>;
  seek(ms: number): Promise<unknown>;
  chat(text: string): Promise<unknown>;
  react(emoji: string): Promise<unknown>;
  transferHost(userId: string): Promise<unknown>;
  kick(userId: string): Promise<unknown>;
  switchingTracks(ms?: number): void;
  serverNow(): number;
  close(): void;
}
interface PartyModule {
  PartyClient: new (opts: {
    socket: unknown;
    video: HTMLVideoElement;
    onState: (s: State, members: Member[]) => void;
    onChat: (m: Chat) => void;
    onReaction: (r: { emoji: string; user_id: string }) => void;
    onLeft: (e: { reason?: string }) => void;
  }) => PartyClient;
  targetPosition(s: State, serverNowMs: number): number;
}

const CLIENT_URL = "/static/party-client.js";
let partyModule: Promise<PartyModule> | null = null;
function loadPartyModule(): Promise<PartyModule> {
  partyModule ??= import(/* @vite-ignore */ CLIENT_URL) as Promise<PartyModule>;
  return partyModule;
}

/** The socket.io-client connection, shaped as the reference client expects (acks whole). */
function socketAdapter() {
  const s = currentSocket()!;
  return {
    on: (event: string, fn: (...args: unknown[]) => void) => s.on(event, fn),
    request: (event: string, data: unknown, timeoutMs = 10_000) =>
      new Promise((resolve, reject) =>
        s.timeout(timeoutMs).emit(event, data, (err: Error | null, ack: unknown) => (err ? reject(err) : resolve(ack))),
      ),
    get connected() {
      return s.connected;
    },
  };
}

function NewParty({ query }: PageProps): JSX.Element {
  const [error, setError] = useState<string | null>(null);
  useTitle("New watch party");
  useEffect(() => {
    const title = query.get("title");
    const episode = query.get("episode");
    ok(
      api.POST("/api/v1/parties", {
        body: episode ? { episode_id: Number(episode) } : { title_id: Number(title) },
      }),
    ).then(
      (created) => navigate(`/party/${created.party_id}`, { replace: true }),
      (exc: unknown) => setError(message(exc)),
    );
  }, []);
  return error ? <ErrorNote message={error} /> : <Loading what="Starting the party" />;
}

function Party({ target }: { target: { party_id?: string; invite_code?: string } }): JSX.Element {
  const { user } = useSession();
  const [state, setState] = useState<State | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [chat, setChat] = useState<Chat[]>([]);
  const [invite, setInvite] = useState<string | null>(null);
  const [play, setPlay] = useState<Playback | Problem | null>(null);
  const [left, setLeft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [reactions, setReactions] = useState<{ key: number; emoji: string; who: string }[]>([]);
  const client = useRef<PartyClient | null>(null);
  const video = useRef<HTMLVideoElement | null>(null);
  const [round, setRound] = useState(0);
  useTitle("Watch party");

  const mediaKey = state ? `${state.media.kind}:${state.media.id}` : "";

  // Playback for the party's media (each member asks for their own screen).
  useEffect(() => {
    if (!state) return;
    const m = state.media;
    setPlay(null);
    requestPlayback(m.kind === "title" ? m.id : 0, m.kind === "episode" ? m.id : null).then(setPlay, (exc: unknown) =>
      setPlay({ kind: "other", text: message(exc) }),
    );
  }, [mediaKey, round]);

  // The reference client, once the video element exists.
  const onVideo = (el: HTMLVideoElement | null) => {
    video.current = el;
    if (!el || client.current) return;
    void loadPartyModule().then(
      (mod) => {
        const c = new mod.PartyClient({
          socket: socketAdapter(),
          video: el,
          onState: (s, ms) => {
            setState(s);
            setMembers([...ms]);
          },
          onChat: (m) => setChat((have) => (have.some((x) => x.id === m.id) ? have : [...have, m])),
          onReaction: (r) => {
            const key = Date.now() + Math.random();
            setReactions((have) => [...have.slice(-5), { key, emoji: r.emoji, who: r.user_id }]);
            setTimeout(() => setReactions((have) => have.filter((x) => x.key !== key)), 4000);
          },
          onLeft: (e) => setLeft(e.reason === "kicked" ? "You were removed from the party." : "The party is over for you."),
        });
        client.current = c;
        (window as unknown as { __party?: unknown }).__party = { client: c, targetPosition: mod.targetPosition };
        void c.join(target).catch((exc: unknown) => setError(message(exc)));
      },
      (exc: unknown) => setError(`The party client could not load: ${message(exc)}`),
    );
  };

  // First: join over the socket to learn the party (its media, its invite code).
  useEffect(() => {
    const s = currentSocket();
    if (!s) return;
    const first = new Promise<{ state: State; invite_code: string }>((resolve, reject) =>
      s.timeout(10_000).emit("party:join", target, (err: Error | null, ack: { ok: boolean; data: { state: State; invite_code: string }; error?: { message: string } }) =>
        err ? reject(err) : ack.ok ? resolve(ack.data) : reject(new Error(ack.error?.message ?? "Refused")),
      ),
    );
    first.then(
      (snap) => {
        setInvite(snap.invite_code);
        setState(snap.state);
        setMembers(snap.state.members ?? []);
        if (target.invite_code) history.replaceState(null, "", `/party/${snap.state.party_id}`);
      },
      (exc: unknown) => setError(message(exc)),
    );
    return () => {
      client.current?.close();
      client.current = null;
    };
  }, []);

  // Names for the member list.
  useEffect(() => {
    for (const m of members) {
      if (names[m.user_id]) continue;
      void ok(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: m.user_id } } })).then(
        (u) => setNames((n) => ({ ...n, [m.user_id]: u.display_name || u.username })),
        () => undefined,
      );
    }
  }, [members]);

  if (error) return <ErrorNote message={error} />;
  if (left)
    return (
      <section class="narrow">
        <p role="alert">{left}</p>
      </section>
    );
  if (!state) return <Loading what="Joining the party" />;
  const host = state.host_id === user?.id;
  const controls = host || state.control_mode === "everyone";
  const act = (p: Promise<unknown> | undefined) => void p?.catch((exc: unknown) => setError(message(exc)));
  const link = invite ? `${location.origin}/party/join/${invite}` : "";

  return (
    <section class="party">
      <div class="party-main">
        {play === null && <Loading what="Loading the video" />}
        {play && !("hls" in play) && play.kind === "streams" && <Screens problem={play} retry={() => setRound((r) => r + 1)} />}
        {play && !("hls" in play) && play.kind !== "streams" && <ErrorNote message={play.text} />}
        {play && "hls" in play && (
          <Player
            key={mediaKey}
            play={play}
            startMs={0}
            format="hls"
            autoplay={false}
            onVideo={onVideo}
            beforeSwitch={() => client.current?.switchingTracks()}
            onProgress={(pos, dur) =>
              saveProgress(
                state.media.kind === "title" ? state.media.id : null,
                state.media.kind === "episode" ? state.media.id : null,
                pos,
                dur,
                () => undefined,
              )
            }
            onChoice={() => undefined}
            drive={
              controls
                ? {
                    play: () => act(client.current?.play()),
                    pause: () => act(client.current?.pause()),
                    seek: (ms) => act(client.current?.seek(ms)),
                  }
                : { play: () => undefined, pause: () => undefined, seek: () => undefined }
            }
          />
        )}
        <div class="reactions" aria-live="polite">
          {reactions.map((r) => (
            <span key={r.key} class="reaction" title={names[r.who] ?? ""}>
              {r.emoji}
            </span>
          ))}
        </div>
        <p class="react-buttons">
          {["👍", "😂", "😮", "❤️", "👏"].map((emoji) => (
            <button key={emoji} type="button" class="secondary" aria-label={`React ${emoji}`} onClick={() => act(client.current?.react(emoji))}>
              {emoji}
            </button>
          ))}
        </p>
        <p class="party-phase" role="status">
          {state.phase === "waiting" ? "Waiting for everyone to be ready…" : state.phase === "ended" ? "The party ended." : state.playing ? "Playing" : "Paused"}
          {!controls && " · the host controls playback"}
        </p>
      </div>
      <aside class="party-side">
        {link && (
          <p>
            Invite: <input class="invite" readOnly value={link} aria-label="Invite link" onFocus={(e) => (e.target as HTMLInputElement).select()} />{" "}
            <button type="button" class="secondary" onClick={() => void navigator.clipboard?.writeText(link)}>
              Copy
            </button>
          </p>
        )}
        {host && (
          <label>
            Who controls playback{" "}
            <select
              value={state.control_mode}
              onChange={(e) =>
                act(
                  request("party:control_mode", {
                    party_id: state.party_id,
                    mode: (e.target as HTMLSelectElement).value as State["control_mode"],
                  }),
                )
              }
            >
              <option value="host_only">Host only</option>
              <option value="everyone">Everyone</option>
            </select>
          </label>
        )}
        <Queue state={state} controls={controls} act={act} />
        <h2>Members</h2>
        <ul class="members">
          {members.map((m) => (
            <li key={m.user_id}>
              <span class={m.connected ? "dot on" : "dot"} aria-label={m.connected ? "connected" : "away"} />{" "}
              {names[m.user_id] ?? "…"}
              {m.user_id === state.host_id && " (host)"}
              {m.catching_up && " · catching up"}
              {host && m.user_id !== user?.id && (
                <>
                  {" "}
                  <button type="button" class="secondary" onClick={() => act(client.current?.transferHost(m.user_id))}>
                    Make host
                  </button>{" "}
                  <button type="button" class="secondary" onClick={() => act(client.current?.kick(m.user_id))}>
                    Remove
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
        <h2>Chat</h2>
        <ol class="party-chat" aria-live="polite">
          {chat.map((m) => (
            <li key={m.id}>
              <strong>{m.username}</strong> {m.text}
            </li>
          ))}
        </ol>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const input = (e.currentTarget as HTMLFormElement).elements.namedItem("text") as HTMLInputElement;
            const text = input.value.trim();
            if (!text || !client.current) return;
            act(client.current.chat(text).then(() => (input.value = "")));
          }}
        >
          <label class="grow">
            Say something <input name="text" autocomplete="off" maxLength={500} />
          </label>
          <button type="submit">Send</button>
        </form>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            act(client.current?.leave());
            navigate("/");
          }}
        >
          Leave the party
        </button>
      </aside>
    </section>
  );
}

export default function PartyPage(props: PageProps): JSX.Element {
  const { params } = props;
  let body: JSX.Element;
  if (params.partyId === "new") body = <NewParty {...props} />;
  else if (params.code) body = <Party key={params.code} target={{ invite_code: params.code }} />;
  else body = <Party key={params.partyId} target={{ party_id: params.partyId }} />;
  return <RequireSignIn>{body}</RequireSignIn>;
}

function Queue({ state, controls, act }: { state: State; controls: boolean; act: (p: Promise<unknown> | undefined) => void }): JSX.Element {
  const queue = state.queue ?? [];
  const party_id = state.party_id;
  const label = (m: Schemas["MediaOut"]) => (m.kind === "title" ? `Film #${m.id}` : `Episode #${m.id}`);
  return (
    <>
      <h2>Up next</h2>
      {queue.length === 0 && <p class="muted">Nothing queued{state.media.kind === "episode" ? " (the next episode follows)" : ""}.</p>}
      <ol class="party-queue">
        {queue.map((q) => (
          <li key={q.id}>
            {label(q.media)}
            {!q.accepted && " (proposed)"}
            {controls && !q.accepted && (
              <button type="button" class="secondary" onClick={() => act(request("party:queue_accept", { party_id, item_id: q.id }))}>
                Accept
              </button>
            )}
            {controls && (
              <button type="button" class="secondary" onClick={() => act(request("party:queue_remove", { party_id, item_id: q.id }))}>
                Remove
              </button>
            )}
          </li>
        ))}
      </ol>
      {controls && queue.length > 0 && (
        <button type="button" class="secondary" onClick={() => act(request("party:next", { party_id }))}>
          Play next now
        </button>
      )}
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const id = Number(new FormData(e.currentTarget).get("title_id"));
          if (id > 0) act(request("party:queue_add", { party_id, items: [{ title_id: id }] }));
        }}
      >
        <label class="grow">
          {controls ? "Add a film (title id)" : "Propose a film (title id)"} <input name="title_id" inputMode="numeric" required />
        </label>
        <button type="submit" class="secondary">
          Add
        </button>
      </form>
    </>
  );
}

// Watch parties: /party/new?title=<id> (or &episode=<id>) starts one, /party/join/<code> is the
// invite link, /party/<id> the party. The video follows the party with the reference client
// (`/static/party-client.js`, served by the server and imported as is: its clock sync,
// scheduled starts and drift correction are the documented rules, not a copy of them), over
// the app's Socket.IO connection. Before it, the join gate (party/gate.tsx: capacity, password,
// knocking); in it, chat, members with presence and roles, the host's and co-hosts' controls
// (party/room.tsx), the queue (party/queue.tsx), waiting and catching up (party/watching.tsx);
// each member picks their own quality, audio and subtitles. The chat has the message controls
// of components/chat.tsx (edit, delete for everyone, reply, react), over the party's events.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { useSession } from "../hooks";
import { currentSocket, request, useServerEvent } from "../api/socket";
import { Player, type Playback } from "../player/player";
import { requestPlayback, saveProgress, type Problem } from "../player/playback";
import { navigate, type PageProps } from "../router";
import { ErrorNote, Loading, Status, useTitle } from "../ui";
import { JoinGate, type Snapshot, type Target } from "../party/gate";
import { useMediaName, useNames } from "../party/names";
import { Queue, UpNext } from "../party/queue";
import { Knocking, Members, RoomSettings, roles, type Act } from "../party/room";
import { CatchUp, WaitingNote } from "../party/watching";
import { ChatEntry, ReplyingTo, useJump, type ChatMessage, type ChatOps } from "../components/chat";
import { RequireSignIn } from "./require";
import { Screens } from "./watch";

type State = Schemas["PartyStateOut"];
type Member = Schemas["MemberOut"];
type Chat = Schemas["ChatMessageOut"];

/** A party chat message as the shared message controls see it. */
function entry(m: Chat): ChatMessage {
  return {
    id: m.id,
    author_id: m.user_id,
    text: m.text,
    deleted: m.deleted ?? false,
    edited: m.edited_at != null,
    reply_to: m.reply_to ? { id: m.reply_to.id, author_id: m.reply_to.user_id, text: m.reply_to.text, deleted: m.reply_to.deleted } : null,
    reactions: m.reactions ?? [],
  };
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
  catchUp(opts?: { backMs?: number }): Promise<{ mode: string; rate: number; until_server_ms: number }>;
  readonly catchingUp: boolean;
  setVideo(video: HTMLVideoElement | VideoLike): void;
  close(): void;
}
type VideoLike = Pick<HTMLVideoElement, "currentTime" | "paused" | "playbackRate" | "readyState" | "seeking"> & {
  play(): Promise<void>;
  pause(): void;
};
// Between two items of the queue: a player with nothing loaded (never ready, never playing).
const NO_VIDEO: VideoLike = {
  currentTime: 0,
  paused: true,
  playbackRate: 1,
  readyState: 0,
  seeking: false,
  play: () => Promise.resolve(),
  pause: () => undefined,
};
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

function Party({ target }: { target: Target }): JSX.Element {
  const [snap, setSnap] = useState<Snapshot | null>(null);
  if (!snap)
    return (
      <JoinGate
        target={target}
        onJoined={(s) => {
          if (target.invite_code) history.replaceState(null, "", `/party/${s.state.party_id}`);
          setSnap(s);
        }}
      />
    );
  return <Room snap={snap} />;
}

function Room({ snap }: { snap: Snapshot }): JSX.Element {
  const { user } = useSession();
  const me = user?.id;
  const [state, setState] = useState<State>(snap.state);
  const [members, setMembers] = useState<Member[]>(snap.state.members ?? []);
  const [chat, setChat] = useState<Chat[]>([]);
  const [editing, setEditing] = useState<number | null>(null);
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const composer = useRef<HTMLInputElement>(null);
  const invite = snap.invite_code;
  const [play, setPlay] = useState<Playback | Problem | null>(null);
  const [left, setLeft] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
  const [reactions, setReactions] = useState<{ key: number; emoji: string; who: string }[]>([]);
  const client = useRef<PartyClient | null>(null);
  const shown = useRef<string | null>(null); // the media the client last followed
  const latest = useRef<State>(snap.state); // the newest state shown
  const [follower, setFollower] = useState<PartyClient | null>(null);
  const target = useRef<PartyModule["targetPosition"] | null>(null);
  const [videoEl, setVideoEl] = useState<HTMLVideoElement | null>(null);
  const [round, setRound] = useState(0);
  const names = useNames([
    ...members.map((m) => m.user_id),
    ...(state.knocking ?? []),
    ...(state.queue ?? []).map((q) => q.added_by),
    ...chat.flatMap((m) => (m.reactions ?? []).flatMap((r) => r.user_ids)),
  ]);
  const mediaName = useMediaName(state.media);
  useTitle(mediaName ? `Watch party: ${mediaName}` : "Watch party");

  const mediaKey = `${state.media.kind}:${state.media.id}`;

  // Playback for the party's media (each member asks for their own screen).
  useEffect(() => {
    const m = state.media;
    setPlay(null);
    requestPlayback(m.kind === "title" ? m.id : 0, m.kind === "episode" ? m.id : null).then(setPlay, (exc: unknown) =>
      setPlay({ kind: "other", text: message(exc) }),
    );
  }, [mediaKey, round]);

  // A state to show. The queue comes only with the states that changed it: keep the one we
  // have, and read it again if a change of it was missed.
  const show = (s: State) => {
    const had = latest.current;
    if (s.version <= had.version) return;
    const next = s.queue == null ? { ...s, queue: had.queue } : s;
    if (s.queue == null && (s.queue_version ?? 0) !== (had.queue_version ?? 0))
      void request("party:snapshot", { party_id: s.party_id }).then(
        (full) => {
          if ((full.queue_version ?? 0) < (latest.current.queue_version ?? 0)) return;
          latest.current = { ...latest.current, queue: full.queue };
          setState(latest.current);
        },
        () => undefined,
      );
    latest.current = next;
    setState(next);
  };
  // A message comes again when it changes (same id, newer cursor); an older copy (an answer
  // that arrived after the event of a later change) never replaces a newer one.
  const onChat = (m: Chat) =>
    setChat((have) => {
      const had = have.find((x) => x.id === m.id);
      if (had && had.cursor >= m.cursor) return have;
      return [...have.filter((x) => x.id !== m.id), m].sort((x, y) => x.id - y.id);
    });
  const onLeft = (e: { reason?: string }) => setLeft(e.reason === "kicked" ? "You were removed from the party." : "The party is over for you.");

  // Until the reference client runs (it needs a video: none may be playable here, e.g. too
  // many screens), the page follows the party's events itself.
  const party_id = snap.state.party_id;
  // The member list as party-client.js keeps it: whole, or (big parties) the changes since a
  // base version, which any list at least that new takes; a list left behind is fetched.
  const membersAt = useRef<number>(snap.state.members_version);
  const follow = (s: State) => {
    if (s.version <= latest.current.version) return;
    if (s.members) {
      membersAt.current = s.members_version;
      setMembers(s.members);
      return;
    }
    if (s.members_version <= membersAt.current) return;
    const delta = s.members_delta;
    const base = s.members_base_version;
    if (delta && base != null && base <= membersAt.current) {
      membersAt.current = s.members_version;
      setMembers((have) => {
        const out = [...have];
        for (const c of delta) {
          const i = out.findIndex((m) => m.user_id === c.user_id);
          if (c.op === "remove") {
            if (i >= 0) out.splice(i, 1);
          } else if (c.member) {
            if (i >= 0) out[i] = c.member;
            else out.push(c.member);
          }
        }
        return out;
      });
      return;
    }
    void request("party:snapshot", { party_id: s.party_id }).then(
      (full) => {
        if (!full.members || full.members_version <= membersAt.current) return;
        membersAt.current = full.members_version;
        setMembers(full.members);
      },
      () => undefined,
    );
  };
  useServerEvent(
    "party:state",
    (s) => {
      if (client.current || s.party_id !== party_id) return;
      follow(s);
      show(s);
    },
    [],
  );
  useServerEvent("party:chat", (m) => !client.current && m.party_id === party_id && onChat(m), []);
  useServerEvent("party:left", (e) => !client.current && e.party_id === party_id && onLeft(e), []);

  // The reference client, once the video element exists; it follows the party from here.
  const onVideo = (el: HTMLVideoElement | null) => {
    setVideoEl(el);
    if (!el) return;
    if (client.current) {
      client.current.setVideo(el); // the next item's player: same party, new element
      return;
    }
    void loadPartyModule().then(
      (mod) => {
        if (client.current) return;
        const c = new mod.PartyClient({
          socket: socketAdapter(),
          video: el,
          onState: (s, ms) => {
            // The party moved on to another item: until its player is up, nothing plays here
            // (the old element must not say ready for the new media).
            if (shown.current && shown.current !== `${s.media.kind}:${s.media.id}`) client.current?.setVideo(NO_VIDEO);
            shown.current = `${s.media.kind}:${s.media.id}`;
            show(s);
            setMembers([...ms]);
          },
          onChat,
          onReaction: (r) => {
            const key = Date.now() + Math.random();
            setReactions((have) => [...have.slice(-5), { key, emoji: r.emoji, who: r.user_id }]);
            setTimeout(() => setReactions((have) => have.filter((x) => x.key !== key)), 4000);
          },
          onLeft,
        });
        client.current = c;
        target.current = mod.targetPosition;
        setFollower(c);
        (window as unknown as { __party?: unknown }).__party = { client: c, targetPosition: mod.targetPosition };
        void c.join({ party_id: snap.state.party_id }).catch((exc: unknown) => setLeft(message(exc)));
      },
      (exc: unknown) => setNotice({ ok: false, text: `The party client could not load: ${message(exc)}` }),
    );
  };

  useEffect(() => {
    for (const m of snap.chat) onChat(m);
    return () => {
      client.current?.close();
      client.current = null;
    };
  }, []);

  // A quote takes you to its message; one older than the chat shown is looked for further
  // back over HTTP (the party's chat history, newest first).
  const earlier = useRef<string | null | undefined>(undefined); // undefined: not asked yet
  const loadEarlier = async (): Promise<boolean> => {
    if (earlier.current === null) return false;
    const cursor = earlier.current;
    const page = await ok(
      api.GET("/api/v1/parties/{party_id}/messages", { params: { path: { party_id }, query: { limit: 100, ...(cursor ? { cursor } : {}) } } }),
    );
    for (const m of page.items) onChat(m);
    earlier.current = page.next_cursor ?? null;
    return page.items.length > 0;
  };
  const { jump, missing } = useJump((id) => `chat-${id}`, loadEarlier);

  // A refused command shows the server's reason next to the controls; the party goes on.
  const act: Act = (p, done) =>
    void p?.then(
      () => done && setNotice({ ok: true, text: done }),
      (exc: unknown) => setNotice({ ok: false, text: message(exc) }),
    );

  if (left)
    return (
      <section class="narrow">
        <p role="alert">{left}</p>
      </section>
    );
  const { host, moderator, controls } = roles(state, me);
  const link = invite ? `${location.origin}/party/join/${invite}` : "";
  const serverNow = () => client.current?.serverNow() ?? Date.now();
  const muted = me !== undefined && (state.muted ?? []).includes(me);
  const mine = members.find((m) => m.user_id === me);
  const byId = new Map(chat.map((m) => [m.id, m]));
  const authors = new Map(chat.map((m) => [m.user_id, m.username]));
  const chatOps: ChatOps = {
    me,
    name: (id) => (id === me ? "You" : (names[id] ?? authors.get(id) ?? "someone")),
    anchor: (id) => `chat-${id}`,
    maxLength: 500,
    mayEdit: (m) => m.author_id === me,
    mayDelete: (m) => m.author_id === me || moderator,
    edit: (id, text) => request("party:chat_edit", { party_id, message_id: id, text }).then((a) => onChat(a.message)),
    remove: (id) => request("party:chat_delete", { party_id, message_id: id }).then((a) => onChat(a.message)),
    react: (id, emoji, on) => request("party:chat_react", { party_id, message_id: id, emoji, on }).then((a) => onChat(a.message)),
    reply: (m) => {
      setReplyTo(m);
      composer.current?.focus();
    },
    jump,
    editing,
    setEditing,
  };

  return (
    <section class="party">
      <div class="party-main">
        <h1 class="party-title">{mediaName || "Watch party"}</h1>
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
        <WaitingNote state={state} me={me} names={names} serverNow={serverNow} />
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
          {controls && !host && state.control_mode !== "everyone" && " · you can control playback (co-host)"}
        </p>
        {target.current && <CatchUp client={follower} video={videoEl} target={target.current} me={mine} act={act} />}
        <UpNext state={state} serverNow={serverNow} />
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
        <p class="notice-line">
          <Status status={notice} />
        </p>
        {moderator && <Knocking state={state} names={names} act={act} />}
        <RoomSettings state={state} me={me} act={act} />
        <h2>Members</h2>
        <p class="muted capacity">
          {members.length} of {state.capacity} watching
        </p>
        <Members state={state} members={members} me={me} names={names} act={act} />
        <Queue state={state} me={me} controls={controls} names={names} act={act} />
        <h2>Chat</h2>
        {(state.slow_mode_s ?? 0) > 0 && <p class="muted">Slow mode: one message every {state.slow_mode_s} s.</p>}
        {muted && <p class="muted">The host muted your chat; you can still watch.</p>}
        {missing && <p class="muted" role="status">That message is no longer in the chat.</p>}
        <ol class="party-chat" aria-live="polite">
          {chat.map((m) => {
            const c = entry(m);
            const original = c.reply_to ? byId.get(c.reply_to.id) : undefined;
            return (
              <ChatEntry
                key={m.id}
                m={c}
                ops={chatOps}
                class={m.user_id === me ? "me" : undefined}
                original={original && entry(original)}
                head={<strong class="chat-author">{chatOps.name(m.user_id)}</strong>}
              />
            );
          })}
        </ol>
        {replyTo && (
          <ReplyingTo
            to={replyTo}
            ops={chatOps}
            onCancel={() => {
              setReplyTo(null);
              composer.current?.focus();
            }}
          />
        )}
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const input = (e.currentTarget as HTMLFormElement).elements.namedItem("text") as HTMLInputElement;
            const text = input.value.trim();
            if (!text) return;
            // The party's own event (not the reference client's chat()), which takes a reply
            // and an idempotency key, and works before the video (and so the client) is up.
            const reply_to_id = replyTo?.id;
            act(
              request("party:chat", { party_id, text, client_id: crypto.randomUUID(), ...(reply_to_id ? { reply_to_id } : {}) }).then((a) => {
                onChat(a.message);
                input.value = "";
                setReplyTo(null);
                setNotice(null);
              }),
            );
          }}
        >
          <label class="grow">
            Say something{" "}
            <input
              ref={composer}
              name="text"
              autocomplete="off"
              maxLength={500}
              onKeyDown={(e) => {
                if (e.key === "Escape" && replyTo) {
                  e.preventDefault();
                  setReplyTo(null);
                } else if (e.key === "ArrowUp" && !e.currentTarget.value) {
                  const last = [...chat].reverse().find((m) => m.user_id === me && !m.deleted);
                  if (last) {
                    e.preventDefault();
                    setEditing(last.id);
                  }
                }
              }}
            />
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

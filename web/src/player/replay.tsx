// "Watch with Ann and Bo's party": watching alone a title friends watched in a party, their
// chat and reactions come at the moments of the film they happened (GET /party-replays lists
// the parties, GET /parties/{id}/replay serves them by position, blocks and deletions already
// applied by the server). Chat goes to a small panel that can be hidden; reactions float over
// the video for a moment.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { ReplayFeed, type ReplayItem } from "./replay-feed";
import { fmt } from "./player";

export type ReplayParty = Schemas["PartyReplayOut"];
type MediaQuery = { title_id: number } | { episode_id: number };

const PAGE = 100;
const KEEP_LINES = 100;
const MAX_FLOATING = 6;
const FLOAT_MS = 4_000;

export function mediaQuery(titleId: number, episodeId: number | null): MediaQuery {
  return episodeId !== null ? { episode_id: episodeId } : { title_id: titleId };
}

/** "Ann", "Ann and Bo", "Ann, Bo and Cy", "Ann, Bo and 3 others". */
export function whose(friends: string[]): string {
  if (friends.length === 0) return "your";
  if (friends.length <= 3) {
    const names = friends.length === 1 ? friends[0]! : `${friends.slice(0, -1).join(", ")} and ${friends.at(-1)!}`;
    return `${names}'s`;
  }
  return `${friends.slice(0, 2).join(", ")} and ${friends.length - 2} others'`;
}

/** The parties friends held for this title or episode (none when asking fails: it is extra). */
export function useReplays(media: MediaQuery): ReplayParty[] {
  const [parties, setParties] = useState<ReplayParty[]>([]);
  const key = JSON.stringify(media);
  useEffect(() => {
    let live = true;
    setParties([]);
    ok(api.GET("/api/v1/party-replays", { params: { query: media } })).then(
      (answer) => live && setParties(answer.items),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [key]);
  return parties;
}

export function ReplayOffer({ parties, onChoose }: { parties: ReplayParty[]; onChoose: (p: ReplayParty) => void }): JSX.Element | null {
  if (parties.length === 0) return null;
  const label = (p: ReplayParty) => `Watch with ${whose(p.friends)} party`;
  const when = (p: ReplayParty) =>
    `${new Date(p.started_at).toLocaleDateString()} · ${p.chat_count} ${p.chat_count === 1 ? "message" : "messages"}, ${p.reaction_count} ${p.reaction_count === 1 ? "reaction" : "reactions"}`;
  if (parties.length === 1) {
    const p = parties[0]!;
    return (
      <section class="replay-offer" aria-label="Friends' party">
        <button type="button" onClick={() => onChoose(p)}>
          {label(p)}
        </button>{" "}
        <span class="hint">Their chat and reactions at the same moments of the film ({when(p)})</span>
      </section>
    );
  }
  return (
    <section class="replay-offer" aria-labelledby="replay-offer-h">
      <h2 id="replay-offer-h">Friends watched this in parties</h2>
      <ul>
        {parties.map((p) => (
          <li key={p.party_id}>
            <button type="button" onClick={() => onChoose(p)}>
              {label(p)}
            </button>{" "}
            <span class="hint">{when(p)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

interface Floating {
  key: string;
  emoji: string;
  username: string;
}

export interface Replay {
  lines: ReplayItem[];
  floating: Floating[];
  trouble: string | null;
}

/** The chosen party's items as `video` plays: chat lines since the last jump, reactions
 *  floating for FLOAT_MS. */
export function useReplay(party: ReplayParty | null, media: MediaQuery, video: HTMLVideoElement | null): Replay {
  const [lines, setLines] = useState<ReplayItem[]>([]);
  const [floating, setFloating] = useState<Floating[]>([]);
  const [trouble, setTrouble] = useState<string | null>(null);
  const mediaKey = JSON.stringify(media);
  const timers = useRef(new Set<number>());

  useEffect(() => {
    setLines([]);
    setFloating([]);
    setTrouble(null);
    if (!party || !video) return;
    const feed = new ReplayFeed({
      page: (fromMs, cursor) =>
        ok(
          api.GET("/api/v1/parties/{party_id}/replay", {
            params: {
              path: { party_id: party.party_id },
              query: { ...media, from_ms: fromMs, limit: PAGE, ...(cursor ? { cursor } : {}) },
            },
          }),
        ),
      due: (items) => {
        const chat = items.filter((i) => i.kind === "chat");
        if (chat.length) setLines((have) => [...have, ...chat].slice(-KEEP_LINES));
        const reactions = items
          .filter((i) => i.kind === "reaction" && i.emoji)
          .map((i) => ({ key: `${i.id}@${Date.now()}`, emoji: i.emoji!, username: i.username }));
        if (!reactions.length) return;
        setFloating((have) => [...have, ...reactions].slice(-MAX_FLOATING));
        const gone = new Set(reactions.map((r) => r.key));
        const timer = window.setTimeout(() => {
          timers.current.delete(timer);
          setFloating((have) => have.filter((r) => !gone.has(r.key)));
        }, FLOAT_MS);
        timers.current.add(timer);
      },
      jump: () => {
        setLines([]);
        setFloating([]);
      },
      trouble: (text, gaveUp) =>
        setTrouble(text === null ? null : gaveUp ? `This party's chat is not available: ${text}` : `Catching up with the chat… (${text})`),
    });
    const at = () => video.currentTime * 1000;
    feed.seek(at());
    let frame = 0;
    const loop = () => {
      feed.tick(at());
      frame = video.paused ? 0 : requestAnimationFrame(loop);
    };
    const onPlay = () => {
      if (!frame) frame = requestAnimationFrame(loop);
    };
    const onTime = () => feed.tick(at());
    // A seek goes through tick, which takes a move of more than a few seconds (or any step
    // back) for a jump: the player's own small seeks over gaps in the buffer clear nothing.
    const onSeeking = () => feed.tick(at());
    video.addEventListener("play", onPlay);
    video.addEventListener("timeupdate", onTime);
    video.addEventListener("seeking", onSeeking);
    if (!video.paused) onPlay();
    // Paused, or in a background tab (no animation frames): retries and fetching ahead go on.
    const idle = window.setInterval(() => feed.tick(at()), 1_000);
    return () => {
      feed.close();
      cancelAnimationFrame(frame);
      clearInterval(idle);
      video.removeEventListener("play", onPlay);
      video.removeEventListener("timeupdate", onTime);
      video.removeEventListener("seeking", onSeeking);
      for (const t of timers.current) clearTimeout(t);
      timers.current.clear();
    };
  }, [party?.party_id, mediaKey, video]);

  return { lines, floating, trouble };
}

/** Reactions over the video (inside the player, so they show in full screen too). */
export function ReplayReactions({ floating }: { floating: Floating[] }): JSX.Element {
  return (
    <div class="replay-reactions" aria-hidden="true">
      {floating.map((r) => (
        <span key={r.key} class="replay-reaction" title={r.username}>
          {r.emoji}
        </span>
      ))}
    </div>
  );
}

export function ReplayPanel({
  party,
  replay,
  onLeave,
}: {
  party: ReplayParty;
  replay: Replay;
  onLeave: () => void;
}): JSX.Element {
  const [open, setOpen] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const seen = useRef(replay.lines.length);
  const log = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const added = replay.lines.length - seen.current;
    seen.current = replay.lines.length;
    if (open) {
      const el = log.current;
      if (el) el.scrollTop = el.scrollHeight;
    } else if (added > 0) setUnseen((n) => n + added);
  }, [replay.lines]);

  const toggle = () => {
    setOpen((o) => !o);
    setUnseen(0);
  };
  return (
    <aside class={`replay-panel${open ? "" : " closed"}`} aria-labelledby="replay-h">
      <div class="replay-head">
        <h2 id="replay-h">With {whose(party.friends)} party</h2>
        <button type="button" class="secondary" aria-expanded={open} aria-controls="replay-log" onClick={toggle}>
          {open ? "Hide chat" : `Show chat${unseen ? ` (${unseen} new)` : ""}`}
        </button>
        <button type="button" class="secondary" onClick={onLeave}>
          Stop the replay
        </button>
      </div>
      {replay.trouble && (
        <p class="replay-trouble" role="status">
          {replay.trouble}
        </p>
      )}
      <div id="replay-log" hidden={!open}>
        <div ref={log} class="replay-scroll" role="log" aria-label="The party's chat" tabIndex={0}>
          <ol class="replay-chat">
            {replay.lines.map((l) => (
              <li key={l.id}>
                <span class="at">{fmt(l.position_ms)}</span> <strong>{l.username}</strong> {l.text}
                {l.edited && <span class="edited"> (edited)</span>}
              </li>
            ))}
          </ol>
          {replay.lines.length === 0 && <p class="hint">Their messages appear here at the moments they wrote them.</p>}
        </div>
      </div>
    </aside>
  );
}

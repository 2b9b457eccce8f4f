// The player page: /watch/:titleId (a film) and /watch/:titleId/episodes/:episodeId.
// Asks for playback (which takes one of the account's screens), resumes where I stopped,
// saves the position while playing, remembers my track choices for the title, and says
// plainly why it cannot play: too many screens (with the list and "stop that one"), a
// maturity limit, a screen stopped from another device. When friends watched the title in a
// party, offers to watch "with their party": its chat and reactions at the same moments.
// This page is one of my screens (screens/agent.ts): "Play on..." hands it to another of mine, the remote drives another.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { useServerEvent } from "../api/socket";
import { Player, type Choice, type Playback, type Tracks } from "../player/player";
import { requestPlayback, saveProgress, type Problem } from "../player/playback";
import {
  mediaQuery,
  ReplayOffer,
  ReplayPanel,
  ReplayReactions,
  useReplay,
  useReplays,
  type ReplayParty,
} from "../player/replay";
import { Link, navigate, type PageProps } from "../router";
import { leave, statusNow, useThisScreen } from "../screens/agent";
import { PlayOn, Remote } from "../screens/panel";
import { ErrorNote, Loading, useTitle } from "../ui";
import { RequireSignIn } from "./require";

async function resumeAt(titleId: number, episodeId: number | null): Promise<number> {
  try {
    const page = await ok(api.GET("/api/v1/me/history", { params: { query: { limit: 100 } } }));
    const entry = page.items.find((e) => e.title_id === titleId && (episodeId === null || e.episode_id === episodeId));
    return entry && !entry.completed ? entry.resume_position_ms : 0;
  } catch {
    return 0;
  }
}

export function Screens({ problem, retry }: { problem: Extract<Problem, { kind: "streams" }>; retry: () => void }): JSX.Element {
  const [status, setStatus] = useState<string | null>(null);
  return (
    <section class="narrow too-many-streams">
      <h1>Too many screens</h1>
      <p role="alert">{problem.text}</p>
      <ul class="streams">
        {problem.streams.map((s) => (
          <li key={s.id}>
            <strong>{s.device_name}</strong> is playing {s.title} (since {new Date(s.since).toLocaleTimeString()})
            {!s.current && (
              <button
                type="button"
                onClick={async () => {
                  try {
                    await ok(api.DELETE("/api/v1/me/streams/{stream_id}", { params: { path: { stream_id: s.id } } }));
                    retry();
                  } catch (exc) {
                    setStatus(message(exc));
                  }
                }}
              >
                Stop that one
              </button>
            )}
          </li>
        ))}
      </ul>
      {status && <ErrorNote message={status} />}
    </section>
  );
}

function Watch({ params, query }: PageProps): JSX.Element {
  const titleId = Number(params.titleId);
  const episodeId = params.episodeId ? Number(params.episodeId) : null;
  const format = query.get("format") === "dash" ? "dash" : "hls";
  const [state, setState] = useState<{ play: Playback; startMs: number } | Problem | null>(null);
  const [round, setRound] = useState(0);
  const [video, setVideo] = useState<HTMLVideoElement | null>(null);
  const [party, setParty] = useState<ReplayParty | null>(null);
  const media = mediaQuery(titleId, episodeId);
  const parties = useReplays(media);
  const replay = useReplay(party, media, video);
  useEffect(() => setParty(null), [titleId, episodeId]);
  const [away, setAway] = useState<string | null>(null);
  const tracks = useRef<Tracks | null>(null);
  useTitle("Watch");
  useThisScreen({
    title_id: titleId,
    episode_id: episodeId,
    video,
    chooseAudio: (id) => tracks.current?.chooseAudio(id),
    chooseText: (id) => tracks.current?.chooseText(id),
    tracks: () => (tracks.current ? { audio: tracks.current.audio, text: tracks.current.text } : null),
    handedOff: (to) => setAway(to),
  });
  useEffect(() => () => leave(video), [video]);

  useEffect(() => {
    let live = true;
    setState(null);
    const at = query.get("t");
    Promise.all([requestPlayback(titleId, episodeId), at !== null ? Promise.resolve(Number(at) * 1000) : resumeAt(titleId, episodeId)]).then(
      ([answer, startMs]) => {
        if (!live) return;
        setState("hls" in answer ? { play: answer, startMs } : answer);
      },
      (exc: unknown) => live && setState({ kind: "other", text: message(exc) }),
    );
    return () => {
      live = false;
    };
  }, [titleId, episodeId, round]);

  // Stopped from another device (DELETE /me/streams/{id}): this player stops at once.
  useServerEvent("playback:stopped", () =>
    setState({ kind: "stopped", text: "Playback was stopped from another device." }),
  );

  if (state === null) return <Loading what="Starting playback" />;
  if (!("play" in state)) {
    if (state.kind === "streams") return <Screens problem={state} retry={() => setRound((r) => r + 1)} />;
    return (
      <section class="narrow">
        <h1>{state.kind === "maturity" ? "Not available on this profile" : "Cannot play"}</h1>
        <p role="alert" class={`error playback-${state.kind}`}>
          {state.text}
        </p>
        {state.kind === "stopped" && (
          <button type="button" onClick={() => setRound((r) => r + 1)}>
            Play here again
          </button>
        )}
      </section>
    );
  }

  const onProgress = (positionMs: number, durationMs: number | null) =>
    saveProgress(titleId, episodeId, positionMs, durationMs, (text) => setState({ kind: "stopped", text }));
  const onChoice = (choice: Choice) => {
    const body: Schemas["TitleChoiceIn"] = {};
    if (choice.audio) {
      body.audio_language = choice.audio.language;
      body.audio_kind = choice.audio.kind;
    }
    if (choice.text !== undefined) {
      if (choice.text === null) body.subtitles_off = true;
      else {
        body.subtitle_language = choice.text.language;
        body.subtitle_kind = choice.text.kind;
      }
    }
    void api
      .PUT("/api/v1/me/playback-preferences/titles/{title_id}", { params: { path: { title_id: titleId } }, body })
      .catch(() => undefined);
  };
  const next = state.play.next_episode;
  return (
    <section class={`watch${party ? " with-replay" : ""}`}>
      {away !== null && (
        <div class="handed-off" role="status">
          <span>{away}</span>
          <button
            type="button"
            class="secondary"
            onClick={async () => {
              setAway(null);
              // Handed over, this screen gave its place among my streams to the other one:
              // ask for one again (the account may be full) before playing on here.
              const answer = await requestPlayback(titleId, episodeId);
              if ("hls" in answer) void video?.play().catch(() => undefined);
              else setState(answer);
            }}
          >
            Play here again
          </button>
        </div>
      )}
      <Player
        key={`${round}`}
        onVideo={setVideo}
        overlay={party ? <ReplayReactions floating={replay.floating} /> : null}
        play={state.play}
        startMs={state.startMs}
        format={format}
        onProgress={onProgress}
        onChoice={onChoice}
        onNextEpisode={next ? () => navigate(`/watch/${titleId}/episodes/${next.episode_id}`) : undefined}
        onTracks={(t) => {
          const was = tracks.current;
          tracks.current = t;
          // A track changed (here or by a remote): my remotes show it.
          if (was && (was.audio !== t.audio || was.text !== t.text)) setTimeout(statusNow, 0);
        }}
      />
      {party ? (
        <ReplayPanel party={party} replay={replay} onLeave={() => setParty(null)} />
      ) : (
        <ReplayOffer parties={parties} onChoose={setParty} />
      )}
      <div class="screens-bar">
        <PlayOn />
        <Remote titleId={titleId} episodeId={episodeId} audio={state.play.audio ?? []} text={state.play.text ?? []} />
      </div>
      <p class="hint">
        Keys: space or K play/pause, ← → 10 s, M mute, F full screen.{" "}
        <a href={`?format=${format === "hls" ? "dash" : "hls"}`}>Play with {format === "hls" ? "DASH" : "HLS"}</a> ·{" "}
        <Link href={`/party/new?${episodeId ? `episode=${episodeId}` : `title=${titleId}`}`}>Watch together (start a party)</Link>
      </p>
    </section>
  );
}

export default function WatchPage(props: PageProps): JSX.Element {
  return (
    <RequireSignIn>
      <Watch {...props} />
    </RequireSignIn>
  );
}

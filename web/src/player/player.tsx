// The video player: HLS through hls.js (Safari plays HLS itself), DASH through dash.js when
// asked; adaptive quality with a manual choice, audio and subtitle menus (the tracks the
// playback answer lists, found in the player by their HLS NAME / DASH AdaptationSet id),
// seek-bar thumbnails from the WebVTT thumbnails track, skip intro / recap, next episode at
// the credits, keyboard controls, the position saved by heartbeats (they also keep this
// screen's place among the account's MAX_STREAMS).
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type Hls from "hls.js";
import type { Schemas } from "../api/client";
import "./player.css";
import { parseThumbnails, thumbnailAt, type Thumb } from "./thumbnails";

export type Playback = Schemas["PlaybackOut"];
type AudioTrack = Schemas["AudioTrackOut"];
type TextTrack = Schemas["TextTrackOut"];

export interface Choice {
  audio?: AudioTrack;
  text?: TextTrack | null; // null: subtitles off
}

export interface PlayerProps {
  play: Playback;
  startMs: number;
  format: "hls" | "dash";
  /** Every few seconds while playing, at pause and when leaving: the position to save. */
  onProgress: (positionMs: number, durationMs: number | null) => void;
  onChoice: (choice: Choice) => void;
  onNextEpisode?: () => void;
  /** The element, for whoever drives it (a watch party). */
  onVideo?: (video: HTMLVideoElement | null) => void;
  /** Called just before a track switch (a watch party ignores the stall it causes). */
  beforeSwitch?: () => void;
  controls?: boolean;
  /** Start playing by itself (a watch party leaves that to the party). Default true. */
  autoplay?: boolean;
  /** Play, pause and seek go to whoever drives the video (a watch party) instead. */
  drive?: { play(): void; pause(): void; seek(ms: number): void };
  /** Drawn over the video (and in full screen with it): a party replay's reactions. */
  overlay?: JSX.Element | null;
  /** The track menus and what they show now (audio id, text id or 0 for off), for whoever
   * changes or reports them from outside (a remote on another screen). */
  onTracks?: (tracks: Tracks) => void;
}

export interface Tracks {
  chooseAudio(id: number): void;
  chooseText(id: number): void;
  audio: number | null;
  text: number;
}

interface Level {
  index: number;
  label: string;
}

const PREFS = "cinema.player";
interface LocalPrefs {
  volume?: number;
  muted?: boolean;
  quality?: number; // preferred height, -1 / absent: auto
  rate?: number;
}
function loadPrefs(): LocalPrefs {
  try {
    return JSON.parse(localStorage.getItem(PREFS) ?? "{}") as LocalPrefs;
  } catch {
    return {};
  }
}
function savePrefs(patch: LocalPrefs): void {
  localStorage.setItem(PREFS, JSON.stringify({ ...loadPrefs(), ...patch }));
}

const HEARTBEAT_MS = 10_000;

export function fmt(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

interface Engine {
  levels(): Level[];
  level(): number; // -1 auto
  setLevel(index: number): void;
  setAudio(track: AudioTrack): void;
  setText(track: TextTrack | null): void;
  destroy(): void;
}

async function hlsEngine(video: HTMLVideoElement, play: Playback, onLevels: () => void): Promise<Engine> {
  const { default: HlsClass } = await import("hls.js");
  if (!HlsClass.isSupported() && video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = play.hls; // Safari: native HLS, the browser picks quality and tracks
    return { levels: () => [], level: () => -1, setLevel() {}, setAudio() {}, setText() {}, destroy() {} };
  }
  const hls: Hls = new HlsClass({ capLevelToPlayerSize: true });
  hls.on(HlsClass.Events.MANIFEST_PARSED, onLevels);
  hls.on(HlsClass.Events.LEVEL_SWITCHED, onLevels);
  hls.on(HlsClass.Events.AUDIO_TRACKS_UPDATED, onLevels);
  hls.on(HlsClass.Events.SUBTITLE_TRACKS_UPDATED, onLevels);
  hls.loadSource(play.hls);
  hls.attachMedia(video);
  return {
    levels: () =>
      hls.levels.map((l, index) => ({
        index,
        label: l.height ? `${l.height}p` : `${Math.round(l.bitrate / 1000)} kbit/s`,
      })),
    level: () => (hls.autoLevelEnabled ? -1 : hls.currentLevel),
    setLevel: (index) => {
      hls.currentLevel = index; // -1: back to adaptive
    },
    setAudio: (track) => {
      const i = hls.audioTracks.findIndex((t) => t.name === track.hls_name);
      if (i >= 0) hls.audioTrack = i;
    },
    setText: (track) => {
      const i = track ? hls.subtitleTracks.findIndex((t) => t.name === track.hls_name) : -1;
      hls.subtitleTrack = i;
      hls.subtitleDisplay = i >= 0;
    },
    destroy: () => hls.destroy(),
  };
}

async function dashEngine(video: HTMLVideoElement, play: Playback, onLevels: () => void): Promise<Engine> {
  const dashjs = await import("dashjs");
  const player = dashjs.MediaPlayer().create();
  player.initialize(video, play.dash, false);
  player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, onLevels);
  player.on(dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, onLevels);
  let manual = -1;
  return {
    levels: () =>
      player.getRepresentationsByType("video").map((r, index) => ({
        index,
        label: r.height ? `${r.height}p` : `${Math.round((r.bandwidth ?? 0) / 1000)} kbit/s`,
      })),
    level: () => manual,
    setLevel: (index) => {
      manual = index;
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: index < 0 } } } });
      if (index >= 0) player.setRepresentationForTypeByIndex("video", index, true);
    },
    setAudio: (track) => {
      const t = player.getTracksFor("audio").find((x) => String(x.id) === String(track.dash_adaptation_set));
      if (t) player.setCurrentTrack(t);
    },
    setText: (track) => {
      if (!track) {
        player.enableText(false);
        return;
      }
      const tracks = player.getTracksFor("text");
      const i = tracks.findIndex((x) => String(x.id) === String(track.dash_adaptation_set));
      if (i >= 0) {
        player.enableText(true);
        player.setTextTrack(i);
      }
    },
    destroy: () => player.destroy(),
  };
}

export function Player(props: PlayerProps): JSX.Element {
  const { play } = props;
  const video = useRef<HTMLVideoElement>(null);
  const engine = useRef<Engine | null>(null);
  const [levels, setLevels] = useState<Level[]>([]);
  const [level, setLevelState] = useState(-1);
  const [playing, setPlaying] = useState(false);
  const [pos, setPos] = useState(props.startMs);
  const [dur, setDur] = useState(play.duration_ms ?? 0);
  const [audio, setAudio] = useState<AudioTrack | undefined>(
    play.audio?.find((a) => a.id === play.start?.audio_track_id) ?? play.audio?.find((a) => a.default),
  );
  const [text, setText] = useState<TextTrack | null>(
    play.text?.find((t) => t.id === play.start?.text_track_id) ?? null,
  );
  const [thumbs, setThumbs] = useState<Thumb[]>([]);
  const [hover, setHover] = useState<{ ms: number; x: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lastBeat = useRef(0);
  const propsRef = useRef(props);
  propsRef.current = props;

  const refreshLevels = () => {
    const e = engine.current;
    if (!e) return;
    setLevels(e.levels());
    setLevelState(e.level());
  };

  // The engine, and where we start.
  useEffect(() => {
    const el = video.current!;
    let gone = false;
    const prefs = loadPrefs();
    el.volume = prefs.volume ?? 1;
    el.muted = prefs.muted ?? false;
    const make = props.format === "dash" ? dashEngine : hlsEngine;
    make(el, play, refreshLevels).then(
      (e) => {
        if (gone) return e.destroy();
        engine.current = e;
        props.onVideo?.(el);
        const start = () => {
          if (props.startMs > 0) el.currentTime = props.startMs / 1000;
          if (audio) e.setAudio(audio);
          e.setText(text);
          const wanted = prefs.quality ?? -1;
          if (wanted > 0) {
            const i = e.levels().findIndex((l) => l.label === `${wanted}p`);
            if (i >= 0) e.setLevel(i);
          }
          refreshLevels();
          if (props.autoplay !== false) void el.play().catch(() => undefined);
        };
        if (el.readyState >= 1) start();
        else el.addEventListener("loadedmetadata", start, { once: true });
      },
      (exc: unknown) => setError(`The player could not start: ${String(exc)}`),
    );
    return () => {
      gone = true;
      props.onVideo?.(null);
      const p = propsRef.current;
      if (el.currentTime > 0) p.onProgress(Math.round(el.currentTime * 1000), dur || null);
      engine.current?.destroy();
      engine.current = null;
    };
  }, [play.hls, props.format]);

  // Thumbnails for the seek bar.
  useEffect(() => {
    if (!play.thumbnails) return;
    const url = play.thumbnails.vtt;
    fetch(url)
      .then((r) => (r.ok ? r.text() : ""))
      .then((body) => setThumbs(parseThumbnails(body, url)))
      .catch(() => undefined);
  }, [play.thumbnails?.vtt]);

  const onTime = () => {
    const el = video.current;
    if (!el) return;
    const ms = Math.round(el.currentTime * 1000);
    setPos(ms);
    if (!el.paused && Date.now() - lastBeat.current >= HEARTBEAT_MS) {
      lastBeat.current = Date.now();
      propsRef.current.onProgress(ms, dur || null);
    }
  };

  const chooseLevel = (index: number) => {
    engine.current?.setLevel(index);
    const l = levels[index];
    savePrefs({ quality: index < 0 ? -1 : Number.parseInt(l?.label ?? "-1", 10) });
    setLevelState(index);
  };
  const chooseAudio = (id: number) => {
    const t = play.audio?.find((a) => a.id === id);
    if (!t) return;
    props.beforeSwitch?.();
    engine.current?.setAudio(t);
    setAudio(t);
    props.onChoice({ audio: t });
  };
  const chooseText = (id: number) => {
    const t = play.text?.find((x) => x.id === id) ?? null;
    props.beforeSwitch?.();
    engine.current?.setText(t);
    setText(t);
    props.onChoice({ text: t });
  };
  props.onTracks?.({ chooseAudio, chooseText, audio: audio?.id ?? null, text: text?.id ?? 0 });
  const seekTo = (ms: number) => {
    if (props.drive) return props.drive.seek(Math.max(0, ms));
    const el = video.current!;
    el.currentTime = Math.max(0, ms) / 1000;
  };
  const toggle = () => {
    const el = video.current;
    if (!el) return;
    if (props.drive) return el.paused ? props.drive.play() : props.drive.pause();
    if (el.paused) void el.play();
    else el.pause();
  };

  const onKey = (e: KeyboardEvent) => {
    const el = video.current!;
    if ((e.target as HTMLElement).tagName === "SELECT") return;
    if (e.key === " " || e.key === "k") {
      e.preventDefault();
      toggle();
    } else if (e.key === "ArrowRight" || e.key === "l") {
      e.preventDefault();
      seekTo(el.currentTime * 1000 + 10_000);
    } else if (e.key === "ArrowLeft" || e.key === "j") {
      e.preventDefault();
      seekTo(el.currentTime * 1000 - 10_000);
    } else if (e.key === "m") el.muted = !el.muted;
    else if (e.key === "f") void (document.fullscreenElement ? document.exitFullscreen() : el.parentElement?.requestFullscreen());
  };

  const segment = play.segments?.find((s) => (s.kind === "intro" || s.kind === "recap") && pos >= s.start_ms && pos < s.end_ms - 1000);
  const nextAt = play.watched_at_ms ?? (dur ? dur * 0.9 : null);
  const offerNext = play.next_episode && props.onNextEpisode && nextAt !== null && pos >= nextAt;
  const thumb = hover ? thumbnailAt(thumbs, hover.ms) : null;

  return (
    <div class="player" tabIndex={0} onKeyDown={onKey} aria-label="Video player">
      <video
        ref={video}
        class="video"
        playsInline
        crossOrigin="anonymous"
        onTimeUpdate={onTime}
        onDurationChange={(e) => {
          const d = (e.currentTarget as HTMLVideoElement).duration;
          if (Number.isFinite(d)) setDur(Math.round(d * 1000));
        }}
        onPlay={() => setPlaying(true)}
        onPause={() => {
          setPlaying(false);
          if (props.drive) return;
          const el = video.current;
          if (!el) return;
          propsRef.current.onProgress(Math.round(el.currentTime * 1000), dur || null);
        }}
        onVolumeChange={(e) => {
          const el = e.currentTarget as HTMLVideoElement;
          savePrefs({ volume: el.volume, muted: el.muted });
        }}
        onClick={toggle}
      />
      {props.overlay}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {segment && (
        <button type="button" class="skip-segment" onClick={() => seekTo(segment.end_ms)}>
          Skip {segment.kind}
        </button>
      )}
      {offerNext && (
        <button type="button" class="next-episode" onClick={() => props.onNextEpisode?.()}>
          Next episode: S{play.next_episode!.season_number}E{play.next_episode!.episode_number}{" "}
          {play.next_episode!.title}
        </button>
      )}
      {props.controls !== false && (
        <div class="controls">
          <button
            type="button"
            aria-label={playing ? "Pause" : "Play"}
            onClick={toggle}
          >
            {playing ? "❚❚" : "▶"}
          </button>
          <span class="time" aria-live="off">
            {fmt(pos)} / {fmt(dur)}
          </span>
          <div
            class="seek"
            onMouseMove={(e) => {
              const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
              const x = Math.min(Math.max(0, e.clientX - r.left), r.width);
              setHover({ ms: (x / r.width) * dur, x });
            }}
            onMouseLeave={() => setHover(null)}
          >
            <input
              type="range"
              aria-label="Seek"
              min={0}
              max={dur || 1}
              step={1000}
              value={pos}
              onInput={props.drive ? undefined : (e) => seekTo(Number((e.target as HTMLInputElement).value))}
              onChange={props.drive ? (e) => seekTo(Number((e.target as HTMLInputElement).value)) : undefined}
            />
            {hover && (
              <div class="thumb" style={{ left: `${hover.x}px` }}>
                {thumb && (
                  <div
                    class="sprite"
                    style={{
                      width: `${thumb.w}px`,
                      height: `${thumb.h}px`,
                      backgroundImage: `url("${thumb.url}")`,
                      backgroundPosition: `-${thumb.x}px -${thumb.y}px`,
                    }}
                  />
                )}
                <span>{fmt(hover.ms)}</span>
              </div>
            )}
          </div>
          <label>
            Quality{" "}
            <select value={level} onChange={(e) => chooseLevel(Number((e.target as HTMLSelectElement).value))}>
              <option value={-1}>Auto</option>
              {levels.map((l) => (
                <option key={l.index} value={l.index}>
                  {l.label}
                </option>
              ))}
            </select>
          </label>
          {(play.audio?.length ?? 0) > 1 && (
            <label>
              Audio{" "}
              <select value={audio?.id} onChange={(e) => chooseAudio(Number((e.target as HTMLSelectElement).value))}>
                {play.audio!.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.label}
                    {a.kind !== "main" ? ` (${a.kind})` : ""}
                  </option>
                ))}
              </select>
            </label>
          )}
          {(play.text?.length ?? 0) > 0 && (
            <label>
              Subtitles{" "}
              <select value={text?.id ?? 0} onChange={(e) => chooseText(Number((e.target as HTMLSelectElement).value))}>
                <option value={0}>Off</option>
                {play.text!.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.label}
                    {t.kind !== "subtitles" ? ` (${t.kind})` : ""}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
      )}
    </div>
  );
}

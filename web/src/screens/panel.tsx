// "Play on..." (hand this screen's playback to another of mine, at the same frame), the
// remote (play, pause, +-10 s, volume, audio and subtitles of another of my screens), playing
// in step on all of them (a party they all join), and this screen's name. Each is a disclosure button; Escape closes it and gives focus back.
import type { ComponentChildren, JSX } from "preact";
import { useRef, useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { message } from "../api/client";
import { Status } from "../ui";
import { command, playInStep, playOn, positionNow, reregister, useMyScreens, type Screen, type Status as ScreenStatus } from "./agent";
import { kindLabel } from "./device";
import { ScreenName } from "./name";
import "./screens.css";

type Note = { ok: boolean; text: string } | null;

function fmt(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function doing(s: ScreenStatus | undefined): string {
  if (!s) return "online";
  if (s.title_id === null && s.episode_id === null) return "online, idle";
  return `online, ${s.playing ? "playing" : "paused"} at ${fmt(positionNow(s))}`;
}

function Disclosure(props: { id: string; label: string; children: ComponentChildren }): JSX.Element {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  return (
    <div>
      <button ref={button} type="button" class="secondary" aria-expanded={open} aria-controls={props.id} onClick={() => setOpen(!open)}>
        {props.label}
      </button>
      {open && (
        <div
          id={props.id}
          class="screens-panel"
          role="group"
          aria-label={props.label.replace("…", "")}
          onKeyDown={(e) => {
            if (e.key !== "Escape") return;
            e.stopPropagation();
            setOpen(false);
            button.current?.focus();
          }}
        >
          {props.children}
        </div>
      )}
    </div>
  );
}

export function PlayOn(): JSX.Element {
  const { others, statuses } = useMyScreens();
  const [note, setNote] = useState<Note>(null);
  return (
    <Disclosure id="play-on" label={`Play on… (${others.length})`}>
      {others.length === 0 ? (
        <p>No other screen of yours is on. Open a film on your TV, phone or computer, signed in, and it shows here.</p>
      ) : (
        <ul aria-label="My other screens">
          {others.map((s) => (
            <li key={s.device_id}>
              <button
                type="button"
                class="screen secondary"
                onClick={async () => {
                  setNote({ ok: true, text: `Handing over to ${s.name}…` });
                  try {
                    await playOn(s);
                    setNote(null); // the page says it at the instant of the switch
                  } catch (exc) {
                    setNote({ ok: false, text: message(exc) });
                  }
                }}
              >
                <strong>{s.name}</strong>
                <span class="what online">
                  {kindLabel(s.kind)}, {doing(statuses.get(s.device_id))}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {others.length > 0 && (
        <button
          type="button"
          class="secondary"
          onClick={async () => {
            try {
              await playInStep(others);
            } catch (exc) {
              setNote({ ok: false, text: message(exc) });
            }
          }}
        >
          Play in step on all my screens
        </button>
      )}
      <Status status={note} />
      <ScreenName onRenamed={reregister} />
    </Disclosure>
  );
}

/** Choose a track of the other screen: its current one (from its status) is selected, or
 * "Choose..." while it has not said. */
function TrackSelect(props: {
  label: string;
  current: string | null | undefined;
  options: { id: string; label: string }[];
  onChoose: (id: string) => void;
}): JSX.Element {
  const known = props.options.some((o) => o.id === props.current);
  return (
    <label>
      {props.label}{" "}
      <select value={known ? (props.current ?? "") : ""} onChange={(e) => props.onChoose((e.target as HTMLSelectElement).value)}>
        {!known && (
          <option value="" disabled>
            Choose…
          </option>
        )}
        {props.options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

type AudioTrack = Schemas["AudioTrackOut"];
type TextTrack = Schemas["TextTrackOut"];

/** Remote control of another of my screens; the track menus show when it plays what this
 * page plays (the same title has the same tracks). */
export function Remote(props: { titleId: number; episodeId: number | null; audio: AudioTrack[]; text: TextTrack[] }): JSX.Element {
  const { others, statuses } = useMyScreens();
  const [chosen, setChosen] = useState<string | null>(null);
  const [note, setNote] = useState<Note>(null);
  const target: Screen | undefined = others.find((s) => s.device_id === chosen) ?? others[0];
  const status = target ? statuses.get(target.device_id) : undefined;
  const same =
    status !== undefined &&
    (props.episodeId !== null ? status.episode_id === props.episodeId : status.episode_id === null && status.title_id === props.titleId);
  const send = async (cmd: Omit<Parameters<typeof command>[0], "to_device_id">, text: string) => {
    if (!target) return;
    try {
      await command({ to_device_id: target.device_id, ...cmd });
      setNote({ ok: true, text: `${text}: sent to ${target.name}.` });
    } catch (exc) {
      setNote({ ok: false, text: message(exc) });
    }
  };
  const seekBy = (deltaMs: number) => {
    const at = status ? positionNow(status) : 0;
    void send({ action: "seek", position_ms: Math.max(0, Math.round(at + deltaMs)) }, deltaMs > 0 ? "Forward 10 s" : "Back 10 s");
  };
  return (
    <Disclosure id="remote" label="Remote">
      {!target ? (
        <p>No other screen of yours is on to control.</p>
      ) : (
        <>
          <label>
            Screen{" "}
            <select value={target.device_id} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
              {others.map((s) => (
                <option key={s.device_id} value={s.device_id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <p class="what online" aria-live="polite">
            {target.name}: {doing(status)}
          </p>
          <div class="row" role="group" aria-label={`Control ${target.name}`}>
            <button type="button" onClick={() => void send({ action: "play" }, "Play")}>
              Play
            </button>
            <button type="button" onClick={() => void send({ action: "pause" }, "Pause")}>
              Pause
            </button>
            <button type="button" class="secondary" onClick={() => seekBy(-10_000)}>
              Back 10 s
            </button>
            <button type="button" class="secondary" onClick={() => seekBy(10_000)}>
              Forward 10 s
            </button>
            <button type="button" class="secondary" onClick={() => void send({ action: "stop" }, "Stop")}>
              Stop
            </button>
          </div>
          <label>
            Volume{" "}
            <input
              type="range"
              min={0}
              max={100}
              step={5}
              value={Math.round((status?.volume ?? 1) * 100)}
              onChange={(e) => void send({ action: "volume", volume: Number((e.target as HTMLInputElement).value) / 100 }, "Volume")}
            />
          </label>
          {same && props.audio.length > 1 && (
            <TrackSelect
              label="Audio"
              current={status.audio_track}
              options={props.audio.map((a) => ({ id: String(a.id), label: a.kind !== "main" ? `${a.label} (${a.kind})` : a.label }))}
              onChoose={(track) => void send({ action: "audio_track", track }, "Audio")}
            />
          )}
          {same && props.text.length > 0 && (
            <TrackSelect
              label="Subtitles"
              current={status.subtitle_track}
              options={[
                { id: "0", label: "Off" },
                ...props.text.map((t) => ({ id: String(t.id), label: t.kind !== "subtitles" ? `${t.label} (${t.kind})` : t.label })),
              ]}
              onChoose={(track) => void send({ action: "subtitle_track", track }, "Subtitles")}
            />
          )}
        </>
      )}
      <Status status={note} />
    </Disclosure>
  );
}

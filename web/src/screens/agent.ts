// This page as one of my screens (issue 16): registers it at every connect, says what it
// plays (screen:status, so my remotes see it), obeys my remotes (screen:command), and hands
// playback over at one server instant (screen:handoff): the source stops at the anchor, the
// target shows the frame the source would have shown then. Loaded with the watch page; it
// then keeps listening, so a handoff to this screen opens the film from any page.
import { useEffect, useState } from "preact/hooks";
import type { ClientEvents, ServerEvents } from "../api/events";
import { api, ok } from "../api/client";
import { onConnect, onServerEvent, request } from "../api/socket";
import { navigate } from "../router";
import * as clock from "./clock";
import { thisScreen } from "./device";

export type Screen = ClientEvents["screen:list"]["ack"]["screens"][number];
export type Status = ServerEvents["screen:status"];
export type Handoff = ServerEvents["screen:handoff"];
export type Command = ClientEvents["screen:command"]["payload"];

/** What the watch page plays, and how the agent drives it. */
export interface Here {
  title_id: number;
  episode_id: number | null;
  video: HTMLVideoElement | null;
  chooseAudio(id: number): void;
  chooseText(id: number): void;
  /** The tracks playing now (text 0: subtitles off), once the player shows them. */
  tracks(): { audio: number | null; text: number } | null;
  /** This screen stopped for another of mine: what to tell ("Now playing on ..."). */
  handedOff(note: string): void;
}

const STATUS_EVERY_MS = 5_000;
const LIST_EVERY_MS = 5_000;
const FRAME_TOLERANCE_MS = 40; // a re-seek at the anchor only when further off than this
const NUDGE = 0.05; // the playback rate is nudged by at most 5 % to catch up (as in a party)
const CATCH_UP_DEAD_BAND_MS = 10;
const CATCH_UP_MAX_MS = 1_000; // further off than this: seek instead
const CATCH_UP_AT_MS = [300, 1_500]; // after the anchor

let here: Here | null = null;
let registered: string | null = null; // the name this screen registered with
let pendingHandoff: Handoff | null = null;
let screens: Screen[] = [];
const statuses = new Map<string, Status>();
const listeners = new Set<() => void>();
let lastStatus = 0;

function changed(): void {
  for (const fn of listeners) fn();
}

function setScreens(next: Screen[]): void {
  screens = next;
  const ids = new Set(next.map((s) => s.device_id));
  for (const id of [...statuses.keys()]) if (!ids.has(id)) statuses.delete(id);
  changed();
}

async function register(): Promise<void> {
  if (!here) return;
  const me = thisScreen();
  try {
    await clock.resync();
  } catch {
    // No clock samples: the handoff falls back to this page's clock.
  }
  try {
    const data = await request("screen:register", { ...me, rtt_ms: clock.rttMs() });
    registered = me.name;
    setScreens(data.screens);
    sendStatus(true);
  } catch {
    registered = null; // offline: the next connect registers again
  }
}

async function refreshList(): Promise<void> {
  if (!registered && listeners.size === 0) return; // a page that shows them lists them anyway
  try {
    setScreens((await request("screen:list", {})).screens);
  } catch {
    // Offline: the list stays as it was until the next connect.
  }
}

// One status in flight at a time, read when it leaves: the server handles a socket's events
// concurrently, so two in flight could reach my other screens in either order (an older
// track after the newer one). A status asked for meanwhile is sent once, after it.
let statusSending: Promise<void> = Promise.resolve();
let statusWaiting = false;

function sendStatus(force = false): void {
  if (!here || !registered) return;
  const now = Date.now();
  if (!force && now - lastStatus < 250) return;
  lastStatus = now;
  if (statusWaiting) return;
  statusWaiting = true;
  statusSending = statusSending.then(async () => {
    statusWaiting = false;
    const payload = statusNowPayload();
    if (payload) await request("screen:status", payload).catch(() => undefined);
  });
}

function statusNowPayload(): ClientEvents["screen:status"]["payload"] | null {
  const h = here;
  if (!h || !registered) return null;
  const v = h.video;
  const payload: ClientEvents["screen:status"]["payload"] = {
    title_id: h.title_id,
    episode_id: h.episode_id,
    position_ms: v ? Math.max(0, Math.round(v.currentTime * 1000)) : 0,
    playing: v ? !v.paused : false,
    volume: v ? (v.muted ? 0 : v.volume) : null,
  };
  const t = v ? h.tracks() : null;
  if (t) {
    if (t.audio !== null) payload.audio_track = String(t.audio);
    payload.subtitle_track = String(t.text);
  }
  return payload;
}

/** Where this screen's video is on the server's clock: the handoff's starting point. */
function where(v: HTMLVideoElement): { position_ms: number; at_server_ms: number } {
  return { position_ms: Math.round(v.currentTime * 1000), at_server_ms: Math.round(clock.serverNow()) };
}

function at(serverMs: number, fn: () => void): void {
  const wait = serverMs - clock.serverNow();
  if (wait <= 0) fn();
  else setTimeout(fn, wait);
}

/** Show the handoff's frame: wait paused on it until the anchor, then play on. */
function applyHandoff(v: HTMLVideoElement, h: Handoff): void {
  const frameAt = (serverMs: number) =>
    h.playing && serverMs > h.anchor_server_ms ? h.position_ms + (serverMs - h.anchor_server_ms) * h.rate : h.position_ms;
  v.playbackRate = h.rate;
  const now = clock.serverNow();
  if (now < h.anchor_server_ms) {
    v.pause();
    v.currentTime = h.position_ms / 1000;
  }
  at(h.anchor_server_ms, () => {
    const want = frameAt(clock.serverNow());
    if (Math.abs(v.currentTime * 1000 - want) > FRAME_TOLERANCE_MS) v.currentTime = want / 1000;
    if (h.playing) {
      // Measured once it really plays (the first frames' time is not yet steady), twice.
      for (const after of CATCH_UP_AT_MS) setTimeout(() => catchUp(v, h.rate, frameAt), after);
      void v.play().catch(() => undefined);
    } else v.pause();
    sendStatus(true);
  });
}

/** Starting to play takes a few tens of ms: once it plays, a slightly faster (or slower) rate
 * for a moment wins that back instead of a seek (which would stall again). */
function catchUp(v: HTMLVideoElement, rate: number, frameAt: (serverMs: number) => number): void {
  if (v.paused || v.seeking) return;
  const behind = frameAt(clock.serverNow()) - v.currentTime * 1000;
  if (Math.abs(behind) <= CATCH_UP_DEAD_BAND_MS) return;
  if (Math.abs(behind) > CATCH_UP_MAX_MS) {
    v.currentTime = frameAt(clock.serverNow()) / 1000;
    return;
  }
  v.playbackRate = rate * (1 + Math.sign(behind) * NUDGE);
  setTimeout(
    () => {
      v.playbackRate = rate;
    },
    Math.min(Math.abs(behind) / (rate * NUDGE), CATCH_UP_AT_MS[1] - CATCH_UP_AT_MS[0]),
  );
}

function sameMedia(h: Here, m: { title_id: number | null; episode_id: number | null }): boolean {
  return m.episode_id !== null ? h.episode_id === m.episode_id : h.episode_id === null && h.title_id === m.title_id;
}

function whenReady(v: HTMLVideoElement, fn: () => void): void {
  // After the player's own start (it seeks to where I stopped at loadedmetadata).
  if (v.readyState >= 1) setTimeout(fn, 0);
  else v.addEventListener("loadedmetadata", () => setTimeout(fn, 0), { once: true });
}

function takePending(): void {
  const h = here;
  const p = pendingHandoff;
  if (!h?.video || !p || !sameMedia(h, p)) return;
  pendingHandoff = null;
  const v = h.video;
  whenReady(v, () => applyHandoff(v, p));
}

function onHandoff(p: Handoff): void {
  if (p.role !== "target") return;
  const h = here;
  if (h?.video && sameMedia(h, p)) {
    const v = h.video;
    whenReady(v, () => applyHandoff(v, p));
    return;
  }
  // Another film (or no player open): open this one, which takes the handoff when it loads.
  pendingHandoff = p;
  if (p.episode_id !== null) {
    // The episode's page is under its series: the source's status names it.
    const series = statuses.get(p.from_device_id)?.title_id ?? 0;
    navigate(`/watch/${series}/episodes/${p.episode_id}`);
  } else navigate(`/watch/${p.title_id}`);
}

function onCommand(c: ServerEvents["screen:command"]): void {
  // In step with my other screens: the party's page joins it (party:join still decides).
  if (c.action === "join_party") return c.party_id ? navigate(`/party/${c.party_id}`) : undefined;
  const h = here;
  const v = h?.video;
  if (!h || !v) return;
  switch (c.action) {
    case "play":
      void v.play().catch(() => undefined);
      break;
    case "pause":
      v.pause();
      break;
    case "stop":
      v.pause();
      {
        const by = screens.find((s) => s.device_id === c.from_device_id)?.name;
        h.handedOff(`Stopped from ${by ?? "another of your screens"}.`);
      }
      break;
    case "seek":
      if (c.position_ms != null) v.currentTime = c.position_ms / 1000;
      break;
    case "volume":
      if (c.volume != null) {
        v.volume = c.volume;
        v.muted = c.volume === 0;
      }
      break;
    case "audio_track":
      if (c.track) h.chooseAudio(Number(c.track));
      break;
    case "subtitle_track":
      h.chooseText(c.track ? Number(c.track) : 0);
      break;
  }
  sendStatus(true);
}

function onStatus(s: Status): void {
  statuses.set(s.device_id, s);
  if (!screens.some((x) => x.device_id === s.device_id)) {
    // A new screen: list it, and tell it what this one plays.
    void refreshList();
    sendStatus(true);
  } else changed();
}

function onGone(g: ServerEvents["screen:gone"]): void {
  // Closed, or its process died: off the list now, not at the next refresh.
  if (screens.some((s) => s.device_id === g.device_id)) setScreens(screens.filter((s) => s.device_id !== g.device_id));
}

let started = false;
function start(): void {
  if (started) return;
  started = true;
  onConnect(() => void register());
  onServerEvent("screen:handoff", onHandoff);
  onServerEvent("screen:command", onCommand);
  onServerEvent("screen:status", onStatus);
  onServerEvent("screen:gone", onGone);
  setInterval(() => {
    if (here?.video && !here.video.paused) sendStatus(true);
  }, STATUS_EVERY_MS);
  setInterval(() => void refreshList(), LIST_EVERY_MS);
}

const VIDEO_EVENTS = ["play", "pause", "seeked", "volumechange", "ratechange"] as const;

/** The watch page: this screen plays `here` (its video once the player has one). */
export function useThisScreen(next: Here): void {
  start();
  useEffect(() => {
    here = next;
    const v = next.video;
    const report = () => sendStatus();
    for (const e of VIDEO_EVENTS) v?.addEventListener(e, report);
    if (registered !== thisScreen().name) void register(); // not yet, or renamed since
    else sendStatus(true);
    takePending();
    return () => {
      for (const e of VIDEO_EVENTS) v?.removeEventListener(e, report);
    };
  }, [next.video, next.title_id, next.episode_id]);
  // Keep the callbacks current without re-registering.
  if (here && here.video === next.video) here = next;
}

/** My screens (live: every connect, a new screen's status, a closed one's screen:gone, every
 * few seconds) and what each
 * plays; `others` leaves this one out. */
export function useMyScreens(): { others: Screen[]; me: Screen | undefined; statuses: Map<string, Status> } {
  const [, tick] = useState(0);
  useEffect(() => {
    const fn = () => tick((n) => n + 1);
    listeners.add(fn);
    void refreshList();
    return () => void listeners.delete(fn);
  }, []);
  return { others: screens.filter((s) => !s.this), me: screens.find((s) => s.this), statuses };
}

export { refreshList, register as reregister };

/** Hand this screen's playback to `to`: both switch at the server's anchor; this one stops. */
export async function playOn(to: Screen): Promise<void> {
  const h = here;
  const v = h?.video;
  if (!h || !v) throw new Error("Nothing is playing here.");
  await clock.ready().catch(() => undefined);
  const plan = await request("screen:handoff", {
    to_device_id: to.device_id,
    ...(h.episode_id !== null ? { episode_id: h.episode_id } : { title_id: h.title_id }),
    ...where(v),
    playing: !v.paused,
    rate: v.playbackRate,
  });
  at(plan.anchor_server_ms, () => {
    v.pause();
    h.handedOff(`Now playing on ${to.name}.`);
    sendStatus(true);
  });
}

/** Several of my screens in lockstep: a party for what this page plays, which my other
 * screens join (told by screen:command) and this one opens. */
export async function playInStep(others: Screen[]): Promise<string> {
  const h = here;
  if (!h) throw new Error("Nothing is playing here.");
  const body = h.episode_id !== null ? { episode_id: h.episode_id } : { title_id: h.title_id };
  const created = await ok(api.POST("/api/v1/parties", { body }));
  await Promise.all(others.map((s) => command({ to_device_id: s.device_id, action: "join_party", party_id: created.party_id })));
  navigate(`/party/${created.party_id}`);
  return created.party_id;
}

/** Remote control: send `command` to another of my screens. */
export async function command(cmd: Command): Promise<void> {
  await request("screen:command", cmd);
}

/** Tell my other screens what this one plays now (a track changed). */
export function statusNow(): void {
  sendStatus(true);
}

/** Where a screen is now by its last status (it moves on while playing). */
export function positionNow(s: Status): number {
  return s.playing ? s.position_ms + Math.max(0, clock.serverNow() - s.server_ms) : s.position_ms;
}

/** When the watch page goes: this screen plays nothing (it stays registered while the socket
 * lives, so a handoff to it still opens the film). */
export function leave(video: HTMLVideoElement | null): void {
  if (here && here.video === video) {
    here = { ...here, video: null };
    sendStatus(true);
  }
}

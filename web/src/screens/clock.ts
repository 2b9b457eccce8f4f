// The server's clock as this page sees it, by time:sync samples (the watch party reference
// client's ClockSync: its rules, not a copy); a handoff names its instants on that clock.
import { request } from "../api/socket";

interface Sample {
  offsetMs: number;
  delayMs: number;
}
interface ClockSyncLike {
  add(sample: Sample): void;
  readonly ready: boolean;
  readonly offsetMs: number;
  readonly rttMs: number;
}
interface ClockModule {
  ClockSync: new () => ClockSyncLike;
  clockSample(t0: number, t1: number, t2: number, t3: number): Sample;
}

const CLIENT_URL = "/static/party-client.js";
const BURST = 6;
let sync: ClockSyncLike | null = null;
let pending: Promise<ClockSyncLike> | null = null;

async function take(): Promise<ClockSyncLike> {
  const mod = (await import(/* @vite-ignore */ CLIENT_URL)) as ClockModule;
  const clock = new mod.ClockSync();
  for (let i = 0; i < BURST; i++) {
    const t0 = performance.now();
    const data = (await request("time:sync", { t0 })) as { t1: number; t2: number };
    clock.add(mod.clockSample(t0, data.t1, data.t2, performance.now()));
  }
  sync = clock;
  return clock;
}

/** Sample the clock again (at every connect: another process, another offset). */
export function resync(): Promise<ClockSyncLike> {
  pending = take().finally(() => {
    pending = null;
  });
  return pending;
}

export async function ready(): Promise<ClockSyncLike> {
  if (sync) return sync;
  return pending ?? resync();
}

/** The server's time now (this page's clock until the first samples are in). */
export function serverNow(): number {
  return sync ? performance.now() + sync.offsetMs : Date.now();
}

export function rttMs(): number | null {
  return sync ? sync.rttMs : null;
}

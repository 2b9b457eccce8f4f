// A past party's chat and reactions, played back at the moments of the film they happened:
// pages asked for by cursor from where the viewer is, the next one fetched while there is
// still AHEAD_MS of film left on the one before. Each tick says what came due since the last
// one; a seek says nothing before the new position, so a jump forward skips what was said on
// the way (no flood) and a jump back shows it again at its moments.
import { ApiError, type Schemas } from "../api/client";

export type ReplayItem = Schemas["ReplayItemOut"];
export type ReplayPage = Schemas["ReplayOut"];
/** One page of the party's items from `fromMs` on (the same `fromMs` for every cursor). */
export type FetchPage = (fromMs: number, cursor: string | null) => Promise<ReplayPage>;

export interface FeedHandlers {
  page: FetchPage;
  /** Items whose moment playback just passed, in order. */
  due(items: ReplayItem[]): void;
  /** Playback jumped to `ms`: what was shown belongs to another moment. */
  jump(ms: number): void;
  /** Pages cannot be fetched (`gaveUp`: the server refused, no retry), or again can (null). */
  trouble(text: string | null, gaveUp: boolean): void;
}

const AHEAD_MS = 30_000;
// A page that arrives after its items' moments (a slow network) shows only those this
// recent; older ones are skipped rather than shown in a burst.
const LATE_MS = 5_000;
// A position moving on by more than this between ticks, or back by more than BACK_MS, is a
// jump (a seek), whatever event told us: smaller moves are playback (or the player's own
// small seeks over gaps in its buffer) and only bring due what they pass.
const JUMP_MS = 3_000;
const BACK_MS = 250;
const RETRY_MS = [1_000, 2_000, 5_000, 10_000];

export class ReplayFeed {
  private items: ReplayItem[] = [];
  private seen = new Set<string>();
  private start = 0; // the buffer holds every item at positions >= start ...
  private covered = 0; // ... and < covered (Infinity once the last page came)
  private fresh = true; // no page from `start` yet
  private cursor: string | null = null;
  private loading = false;
  private generation = 0;
  private failures = 0;
  private retryAt = 0;
  private marker = -1; // everything at or before this position was shown or skipped
  private last = -1; // the position at the last tick

  constructor(private readonly on: FeedHandlers) {}

  /** The viewer is at `ms` by a jump (or starts there): nothing before it comes due. */
  seek(ms: number): void {
    const at = Math.max(0, Math.round(ms));
    this.marker = at - 1;
    this.last = at;
    this.on.jump(at);
    if (at < this.start || at >= this.covered) {
      // Outside what we hold: start again from here (the pages before are not needed).
      this.generation += 1;
      this.items = [];
      this.seen.clear();
      this.start = at;
      this.covered = at;
      this.cursor = null;
      this.fresh = true;
      this.loading = false;
      this.failures = 0;
      this.retryAt = 0;
      void this.load();
    }
  }

  /** Playback is at `ms`: hand over what came due since the last tick, fetch ahead. */
  tick(ms: number, wallMs: number = Date.now()): void {
    const now = Math.max(0, Math.round(ms));
    if (this.last >= 0 && (now < this.last - BACK_MS || now > this.last + JUMP_MS)) {
      this.seek(now);
      return;
    }
    this.last = now;
    const upto = Math.min(now, this.covered - 1);
    if (upto > this.marker) {
      const due: ReplayItem[] = [];
      for (let i = this.firstAfter(this.marker); i < this.items.length; i++) {
        const item = this.items[i]!;
        if (item.position_ms > upto) break;
        if (now - item.position_ms <= LATE_MS) due.push(item);
      }
      this.marker = upto;
      if (due.length) this.on.due(due);
    }
    const more = this.fresh || this.cursor !== null;
    if (more && !this.loading && now + AHEAD_MS >= this.covered && wallMs >= this.retryAt) {
      void this.load();
    }
  }

  /** Stop: answers still on their way are dropped. */
  close(): void {
    this.generation += 1;
  }

  private firstAfter(position: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid]!.position_ms <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private async load(): Promise<void> {
    if (this.loading) return;
    const generation = this.generation;
    this.loading = true;
    try {
      const page = await this.on.page(this.start, this.fresh ? null : this.cursor);
      if (generation !== this.generation) return;
      for (const item of page.items) {
        const key = `${item.kind}:${item.id}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        this.items.push(item);
      }
      this.fresh = false;
      this.cursor = page.next_cursor ?? null;
      // Every item before next_from_ms is here; some at it may be on the next page.
      this.covered = this.cursor === null ? Infinity : (page.next_from_ms ?? this.start);
      this.failures = 0;
      this.retryAt = 0;
      this.on.trouble(null, false);
    } catch (exc) {
      if (generation !== this.generation) return;
      const text = exc instanceof Error ? exc.message : String(exc);
      // Refused (the party is gone to me, a friendship ended): asking again will not help.
      if (exc instanceof ApiError && exc.status >= 400 && exc.status < 500 && exc.status !== 429) {
        this.fresh = false;
        this.cursor = null;
        this.on.trouble(text, true);
        return;
      }
      this.retryAt = Date.now() + RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
      this.failures += 1;
      this.on.trouble(text, false);
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }
}

// Watch-party reference client: clock sync, scheduled start, drift correction, HTML5 video.
// No dependencies: it speaks Socket.IO v5 over a plain WebSocket itself. Mobile clients port
// it; the Python mirror of the rules is models/parties/sync.py (keep the two in step).

export const SYNC_BURST = 8; // clock samples taken at once on (re)connect
export const SYNC_SAMPLES = 16; // clock samples kept; the lowest round trip wins
export const RESYNC_EARLY_MS = 2000; // one more sample this often during the first minute...
export const RESYNC_MS = 30000; // ...then this often (the window forgets, so drift is followed)
export const DEAD_BAND_MS = 2; // drift this small is left alone
export const SEEK_THRESHOLD_MS = 300; // above: seek; below: nudge the playback rate
export const MAX_NUDGE = 0.05; // playback-rate nudges stay within +-5 %
export const FULL_NUDGE_AT_MS = 20; // a drift this large gets the full nudge (~0.4 s)
export const PAUSED_TOLERANCE_MS = 1; // a paused member sits on the exact frame
const TICK_MS = 100; // control loop period
// A join that fails with one of these (or with no answer, or a lost connection) is made again;
// any other refusal (kicked, ended, full...) is final.
const JOIN_RETRY_CODES = new Set(["party_busy", "rate_limited", "internal"]);
const JOIN_RETRY_MAX_MS = 5000;
const STALL_MS = 500; // a stall this long while the party plays is reported as buffering

// ---------------------------------------------------------------- pure rules (mirrored) ----

export function clockSample(t0, t1, t2, t3) {
  return { offsetMs: (t1 - t0 + (t2 - t3)) / 2, delayMs: t3 - t0 - (t2 - t1) };
}

export class ClockSync {
  constructor(size = SYNC_SAMPLES) {
    this.size = size;
    this.samples = [];
  }
  add(sample) {
    this.samples.push(sample);
    if (this.samples.length > this.size) this.samples.splice(0, this.samples.length - this.size);
  }
  get ready() {
    return this.samples.length > 0;
  }
  get best() {
    return this.samples.reduce((a, b) => (b.delayMs < a.delayMs ? b : a));
  }
  // Each sample bounds the offset to [offset - delay/2, offset + delay/2]; the intersection
  // combines the fastest outbound and inbound trips (see models/parties/sync.py).
  get offsetMs() {
    let lo = -Infinity;
    let hi = Infinity;
    for (const s of this.samples) {
      lo = Math.max(lo, s.offsetMs - s.delayMs / 2);
      hi = Math.min(hi, s.offsetMs + s.delayMs / 2);
    }
    return lo <= hi ? (lo + hi) / 2 : this.best.offsetMs;
  }
  // The server stamps whole milliseconds: a sub-millisecond round trip can come out negative.
  get rttMs() {
    return Math.max(0, Math.round(this.best.delayMs));
  }
}

export function targetPosition(p, serverNowMs) {
  if (!p.playing || serverNowMs <= p.anchor_server_ms) return p.position_ms;
  return p.position_ms + (serverNowMs - p.anchor_server_ms) * p.rate;
}

// What a catch-up plan was made against: playback changes void it.
function playbackKey(s) {
  return s ? [s.phase, s.position_ms, s.anchor_server_ms, s.rate, s.media.kind, s.media.id].join("|") : "";
}

export function nudgedRate(rate, driftMs) {
  if (Math.abs(driftMs) <= DEAD_BAND_MS) return rate;
  const nudge = Math.max(-MAX_NUDGE, Math.min(MAX_NUDGE, (-driftMs / FULL_NUDGE_AT_MS) * MAX_NUDGE));
  return Math.round(rate * (1 + nudge) * 10000) / 10000;
}

// What a player should do now to follow the party (see models/parties/sync.py: correct).
export function correct(p, serverNowMs, localPositionMs, localPaused, localRate, seekLatencyMs = 0) {
  const target = targetPosition(p, serverNowMs);
  if (!p.playing) {
    if (!localPaused) return { kind: "pause", positionMs: target };
    if (Math.abs(localPositionMs - target) > PAUSED_TOLERANCE_MS) return { kind: "seek", positionMs: target };
    return { kind: "none" };
  }
  if (serverNowMs < p.anchor_server_ms) {
    if (!localPaused || Math.abs(localPositionMs - target) > PAUSED_TOLERANCE_MS) {
      return { kind: "pause", positionMs: target };
    }
    return { kind: "wait", startInMs: p.anchor_server_ms - serverNowMs };
  }
  if (localPaused) return { kind: "play", positionMs: target + seekLatencyMs * p.rate };
  const drift = localPositionMs - target;
  if (Math.abs(drift) > SEEK_THRESHOLD_MS) {
    return { kind: "seek", positionMs: target + seekLatencyMs * p.rate };
  }
  const rate = nudgedRate(p.rate, drift);
  if (rate !== localRate) return { kind: "rate", rate };
  return { kind: "none" };
}

// ------------------------------------------------- a minimal Socket.IO v5 client -----------

export class SocketIOLite {
  // url: "http://host:port" ; auth: object sent in the CONNECT packet (e.g. {token}).
  // connectTimeoutMs: a handshake not done by then is abandoned and tried again.
  constructor(url, { auth = {}, path = "/socket.io/", reconnect = true, connectTimeoutMs = 20000 } = {}) {
    const u = new URL(path, url);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.search = "EIO=4&transport=websocket";
    this.wsUrl = u.toString();
    this.auth = auth;
    this.reconnect = reconnect;
    this.connectTimeoutMs = connectTimeoutMs;
    this.handlers = new Map();
    this.acks = new Map();
    this.nextAck = 1;
    this.connected = false;
    this.closed = false;
    this.attempt = 0;
  }
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
    return this;
  }
  _fire(event, ...args) {
    for (const fn of this.handlers.get(event) || []) fn(...args);
  }
  connect() {
    return new Promise((resolve, reject) => {
      this._pending = { resolve, reject };
      this._open();
    });
  }
  _open() {
    const ws = new WebSocket(this.wsUrl);
    this.ws = ws;
    this._quietMs = 0;
    ws.onmessage = (m) => this._onPacket(String(m.data));
    ws.onclose = () => this._dropped(ws);
    ws.onerror = () => {};
    this._quietFor(this.connectTimeoutMs);
  }
  // A frozen server or a half-open TCP connection (a sleeping laptop, a NAT that forgot us) never
  // closes by itself: like Engine.IO clients, give the connection up when the server stays quiet
  // past its ping interval + timeout (or the handshake past connectTimeoutMs).
  _quietFor(ms) {
    clearTimeout(this._silence);
    const ws = this.ws;
    this._silence = setTimeout(() => this._dropped(ws), ms);
  }
  _dropped(ws) {
    if (ws !== this.ws) return; // an abandoned socket closing late
    clearTimeout(this._silence);
    this.ws = null;
    ws.onmessage = ws.onclose = null;
    ws.close(); // a closing handshake with a frozen server could take a minute: not waited for
    this._onClose();
  }
  _onClose() {
    const was = this.connected;
    this.connected = false;
    for (const [, ack] of this.acks) ack.reject(new Error("disconnected"));
    this.acks.clear();
    if (was) this._fire("disconnect");
    if (this.closed || !this.reconnect) {
      if (this._pending) this._pending.reject(new Error("connection closed"));
      return;
    }
    const delay = Math.min(5000, 250 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    setTimeout(() => this._open(), delay);
  }
  _onPacket(data) {
    const eio = data[0];
    if (this._quietMs) this._quietFor(this._quietMs); // anything from the server: still there
    if (eio === "0") {
      const open = JSON.parse(data.slice(1));
      this._quietMs = open.pingInterval + open.pingTimeout;
      this._quietFor(this._quietMs);
      this.ws.send("40" + JSON.stringify(this.auth)); // engine open -> socket.io CONNECT
    } else if (eio === "2") {
      this.ws.send("3"); // ping -> pong
    } else if (eio === "4") {
      this._onSocketIO(data.slice(1));
    }
  }
  _onSocketIO(s) {
    const type = s[0];
    let rest = s.slice(1);
    if (type === "0") {
      this.connected = true;
      this.attempt = 0;
      this._fire("connect");
      if (this._pending) this._pending.resolve(this), (this._pending = null);
      return;
    }
    if (type === "4") {
      const err = JSON.parse(rest || "{}");
      this._fire("connect_error", err);
      if (this._pending) this._pending.reject(Object.assign(new Error(err.message || "refused"), err));
      this._pending = null;
      this.closed = true;
      this.ws.close();
      return;
    }
    if (type === "1") {
      this.closed = !this.reconnect;
      this.ws.close();
      return;
    }
    if (rest.startsWith("/")) rest = rest.slice(rest.indexOf(",") + 1); // namespace (unused)
    const m = /^(\d*)(.*)$/s.exec(rest);
    const id = m[1] ? Number(m[1]) : null;
    const args = JSON.parse(m[2]);
    if (type === "2") {
      this._fire(args[0], ...args.slice(1));
    } else if (type === "3" && id !== null && this.acks.has(id)) {
      const ack = this.acks.get(id);
      this.acks.delete(id);
      ack.resolve(args[0]);
    }
  }
  emit(event, data) {
    if (this.connected) this.ws.send("42" + JSON.stringify([event, data]));
  }
  // Emit with an acknowledgement; resolves with the ack payload ({ok, data} or {ok, error}).
  request(event, data, timeoutMs = 10000) {
    if (!this.connected) return Promise.reject(new Error("not connected"));
    const id = this.nextAck++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error(`${event}: no answer`));
      }, timeoutMs);
      this.acks.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send("42" + id + JSON.stringify([event, data]));
    });
  }
  close() {
    this.closed = true;
    if (this.ws) this._dropped(this.ws);
  }
}

// ------------------------------------------------------------------- the party client ----

export class PartyError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
    this.details = error.details;
  }
}

export class PartyClient {
  // socket: a SocketIOLite (or anything with on/emit/request); video: an HTMLVideoElement or
  // an object with currentTime (s), paused, playbackRate, readyState, play(), pause(),
  // addEventListener.
  constructor({ socket, video, onState, onChat, onReaction, onLeft, now = () => performance.now() }) {
    this.socket = socket;
    this.video = video;
    this.now = now;
    this.clock = new ClockSync();
    this.state = null;
    this.members = [];
    this.chatCursor = null;
    this.seekLatencyMs = 50; // learned: seeking -> seeked
    this.startLatencyMs = 0; // learned: play() -> playing; scheduled starts begin this early
    this._playCalledAt = null;
    this._stallTimer = null;
    this.onState = onState || (() => {});
    this.onChat = onChat || (() => {});
    this.onReaction = onReaction || (() => {});
    this.onLeft = onLeft || (() => {});
    this._startTimer = null;
    this._seekStarted = null;
    this._ready = null;
    this._quietUntil = 0;
    socket.on("party:state", (s) => this._applyState(s));
    socket.on("party:chat", (m) => this._onChat(m));
    socket.on("party:react", (r) => this.onReaction(r));
    socket.on("party:left", (e) => this._onLeft(e));
    socket.on("connect", () => this._rejoin());
    this._bindVideo();
    this._tick = setInterval(() => this.step(), TICK_MS);
    this._syncedAt = this.now();
    this._resync = setTimeout(() => this._resyncLoop(), RESYNC_EARLY_MS);
  }

  async _call(event, data) {
    const ack = await this.socket.request(event, data);
    if (!ack.ok) throw new PartyError(ack.error);
    return ack.data;
  }

  serverNow() {
    return this.now() + (this.clock.ready ? this.clock.offsetMs : 0);
  }

  async _resyncLoop() {
    await this.syncClock(1).catch(() => {});
    const early = this.now() - this._syncedAt < 60000;
    this._resync = setTimeout(() => this._resyncLoop(), early ? RESYNC_EARLY_MS : RESYNC_MS);
  }

  async syncClock(samples = SYNC_BURST) {
    for (let i = 0; i < samples; i++) {
      const t0 = this.now();
      const data = await this._call("time:sync", { t0 });
      const t3 = this.now();
      this.clock.add(clockSample(t0, data.t1, data.t2, t3));
    }
    return this.clock;
  }

  async create(media) {
    if (!this.clock.ready) await this.syncClock();
    const created = await this._call("party:create", media);
    await this.join({ party_id: created.party_id });
    return created;
  }

  // Join by {invite_code} or {party_id}; resolves with the snapshot. Survives the connection
  // dropping meanwhile: the same join is made again once connected (a join whose answer was
  // lost is harmless to repeat). Rejects only when the server refuses for good.
  join(target) {
    this._target = target;
    if (!this._joining) this._joining = this._joinLoop().finally(() => (this._joining = null));
    return this._joining;
  }

  async _joinLoop() {
    for (let attempt = 0; ; attempt++) {
      const target = this._target;
      if (!target) throw new PartyError({ code: "left", message: "Left the party" });
      try {
        const snap = await this._joinOnce(target);
        if (this._target !== target) continue; // asked to join elsewhere meanwhile
        this._target = { party_id: snap.state.party_id }; // rejoins go by id
        return snap;
      } catch (e) {
        if (this._target !== target) continue;
        if (e instanceof PartyError && !JOIN_RETRY_CODES.has(e.code)) {
          this._target = null;
          throw e;
        }
        // Not connected (the next connect wakes us) or no answer / busy: back off and again.
        const disconnected = this.socket.connected === false;
        await this._pause(disconnected ? 60000 : Math.min(JOIN_RETRY_MAX_MS, 250 * 2 ** attempt));
      }
    }
  }

  _pause(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((this._wake = null), resolve()), ms);
      this._wake = () => (clearTimeout(timer), (this._wake = null), resolve());
    });
  }

  async _joinOnce(target) {
    if (!this.clock.ready) await this.syncClock();
    const payload = { ...target, rtt_ms: this.clock.rttMs };
    if (this.chatCursor !== null && target.party_id === this.partyId) payload.chat_after = this.chatCursor;
    const snap = await this._call("party:join", payload);
    this.partyId = snap.state.party_id;
    this.state = null;
    this._ready = null;
    this._applyState(snap.state);
    for (const msg of snap.chat || []) this._onChat(msg);
    return snap;
  }

  // After a reconnect: fresh clock samples, then the party's state now (whatever changed while
  // we were away wins). Until it answers, the last known state is followed. A join that the
  // drop interrupted (its answer lost) is finished the same way.
  _rejoin() {
    this.clock = new ClockSync();
    this._syncedAt = this.now();
    if (this._wake) this._wake();
    if (!this._target) return;
    this.join(this._target).catch((e) => {
      // Kicked or ended while away (the party:left never reached us): out for good, and the
      // player is no longer driven by a party we are not in.
      if (e instanceof PartyError && e.code !== "left") {
        this._onLeft({ party_id: this.partyId, reason: e.code === "banned" ? "kicked" : e.code });
      }
    });
  }

  leave() {
    const id = this.partyId;
    this.partyId = null;
    this._target = null;
    return this._call("party:leave", { party_id: id });
  }
  play() {
    return this._call("party:play", { party_id: this.partyId });
  }
  pause() {
    return this._call("party:pause", { party_id: this.partyId });
  }
  seek(positionMs) {
    return this._call("party:seek", { party_id: this.partyId, position_ms: Math.round(positionMs) });
  }
  setRate(rate) {
    return this._call("party:rate", { party_id: this.partyId, rate });
  }
  chat(text) {
    return this._call("party:chat", { party_id: this.partyId, text });
  }
  react(emoji) {
    return this._call("party:react", { party_id: this.partyId, emoji });
  }
  transferHost(userId) {
    return this._call("party:transfer_host", { party_id: this.partyId, user_id: userId });
  }
  kick(userId) {
    return this._call("party:kick", { party_id: this.partyId, user_id: userId });
  }
  // Call when the viewer switches audio or subtitle track (their own choice, not the party's):
  // the player refills its buffer, and a stall within `ms` is this member's own business, not
  // a reason to stop everyone. It is not reported as buffering; the member catches up by the
  // usual drift correction.
  switchingTracks(ms = 5000) {
    this._quietUntil = this.now() + ms;
  }
  // Behind the party (stalled, rewound to see something again, joined late) and rather not
  // skip ahead: the server plans a slightly faster rate (at most 1.25x) from its clock and
  // this player follows it until back on the timeline, then reports ready; nobody else waits
  // or moves. `backMs` rewinds first ("what did she say?"). Resolves to the plan; a "seek" or
  // "none" plan is left to the usual rules. A change of the party's playback (pause, seek,
  // the next item) voids the plan.
  async catchUp({ backMs = 0 } = {}) {
    const v = this.video;
    const s = this.state;
    if (!this.partyId || !s) throw new PartyError({ code: "not_member", message: "Join a party first" });
    const base = playbackKey(s);
    this._catchUp = { pending: true, base };
    if (backMs > 0) v.currentTime = Math.max(0, v.currentTime - backMs / 1000);
    let plan;
    try {
      const data = await this._call("party:catch_up", {
        party_id: this.partyId,
        position_ms: Math.max(0, Math.round(v.currentTime * 1000)),
        at_server_ms: Math.round(this.serverNow()),
        rate: v.paused ? 0 : v.playbackRate,
      });
      plan = data.plan;
    } catch (e) {
      this._catchUp = null;
      throw e;
    }
    this._catchUp = plan.mode === "rate" && this._catchUp ? { plan, base } : null;
    this.step();
    return plan;
  }
  get catchingUp() {
    return Boolean(this._catchUp);
  }
  // Opt out of (or back into) being waited for when buffering.
  setWaitForMe(enabled) {
    return this._call("party:wait_for_me", { party_id: this.partyId, enabled });
  }

  _applyState(s) {
    if (this.state && s.version <= this.state.version) return; // stale or duplicate
    const mediaChanged = !this.state || JSON.stringify(s.media) !== JSON.stringify(this.state.media);
    if (s.members) {
      this.members = s.members;
      this.membersVersion = s.members_version;
    } else if (s.members_version <= this.membersVersion) {
      // Nothing newer in the member list than the one we hold (a join's snapshot is ahead).
    } else if (s.members_delta && s.members_base_version <= this.membersVersion) {
      // Big parties send only what changed since the base: it brings any list at least that
      // new up to date (the records changed since, the departures since).
      this.members = this.members.slice();
      for (const c of s.members_delta) {
        const i = this.members.findIndex((m) => m.user_id === c.user_id);
        if (c.op === "remove") {
          if (i >= 0) this.members.splice(i, 1);
        } else if (i >= 0) {
          this.members[i] = c.member;
        } else {
          this.members.push(c.member);
        }
      }
      this.membersVersion = s.members_version;
    } else if (s.members_version !== this.membersVersion) {
      // A membership change arrived out of order and was dropped: fetch the whole snapshot.
      this._call("party:snapshot", { party_id: s.party_id })
        .then((snap) => {
          this.members = snap.state.members;
          this.membersVersion = snap.state.members_version;
        })
        .catch(() => {});
    }
    this.state = s;
    if (this._startTimer !== null) clearTimeout(this._startTimer), (this._startTimer = null);
    if (mediaChanged) this._ready = null;
    this.onState(s, this.members);
    this.step();
  }

  _onChat(m) {
    if (this.chatCursor !== null && m.cursor <= this.chatCursor) return;
    this.chatCursor = m.cursor;
    this.onChat(m);
  }

  _onLeft(e) {
    if (e.party_id !== this.partyId) return;
    this.partyId = null;
    this._target = null;
    this.state = null;
    this.onLeft(e);
  }

  _report(ready) {
    if (!this.partyId || this._ready === ready) return;
    this._ready = ready;
    const event = ready ? "party:ready" : "party:buffering";
    this._call(event, { party_id: this.partyId, rtt_ms: this.clock.ready ? this.clock.rttMs : null }).catch(
      () => (this._ready = null)
    );
  }

  // The page replaced its <video> (a new player for the next item of the queue): follow the
  // party with this one; the old element's listeners are dropped.
  setVideo(video) {
    if (video === this.video) return;
    this.video = video;
    this._ready = null;
    this._seekStarted = null;
    this._playCalledAt = null;
    clearTimeout(this._stallTimer);
    if (this._startTimer !== null) clearTimeout(this._startTimer), (this._startTimer = null);
    this._bindVideo();
    this.step();
  }

  _bindVideo() {
    if (this._unbind) this._unbind.abort();
    const v = this.video;
    if (!v.addEventListener) return;
    this._unbind = typeof AbortController === "function" ? new AbortController() : null;
    const opts = this._unbind ? { signal: this._unbind.signal } : undefined;
    const on = (ev, fn) => v.addEventListener(ev, fn, opts);
    on("seeking", () => (this._seekStarted = this.now()));
    on("seeked", () => {
      if (this._seekStarted !== null) {
        // Smoothed seek latency: where to aim a seek made while playing.
        this.seekLatencyMs = 0.7 * this.seekLatencyMs + 0.3 * (this.now() - this._seekStarted);
        this._seekStarted = null;
      }
    });
    // A stall that outlasts STALL_MS while the party plays is buffering; shorter ones (right
    // after a seek or a start) are not worth stopping everyone for.
    on("waiting", () => {
      clearTimeout(this._stallTimer);
      this._stallTimer = setTimeout(() => {
        const s = this.state;
        if (this.now() < this._quietUntil) return; // a track switch refilling the buffer
        if (s && s.playing && this.serverNow() >= s.anchor_server_ms && v.readyState < 3) this._report(false);
      }, STALL_MS);
    });
    for (const ev of ["playing", "canplay"]) on(ev, () => clearTimeout(this._stallTimer));
    on("playing", () => {
      if (this._playCalledAt !== null) {
        const took = this.now() - this._playCalledAt;
        this.startLatencyMs = this.startLatencyMs === 0 ? took : 0.7 * this.startLatencyMs + 0.3 * took;
        this._playCalledAt = null;
      }
    });
    for (const ev of ["canplay", "canplaythrough", "playing"]) on(ev, () => this._report(true));
  }

  // One control step: compare the video with the party and act (also runs every TICK_MS).
  step() {
    const s = this.state;
    const v = this.video;
    if (!s || !this.clock.ready || s.phase === "ended") return;
    if (this._catchUp && this._followPlan()) return;
    if (v.seeking) return; // judge the position once the last seek has landed
    if (v.readyState >= 3 && this._ready === null) this._report(true);
    const a = correct(s, this.serverNow(), v.currentTime * 1000, v.paused, v.playbackRate, this.seekLatencyMs);
    if (a.kind !== "wait" && this._startTimer !== null) {
      clearTimeout(this._startTimer);
      this._startTimer = null;
    }
    switch (a.kind) {
      case "pause":
        v.pause();
        v.playbackRate = s.rate;
        if (Math.abs(v.currentTime * 1000 - a.positionMs) > PAUSED_TOLERANCE_MS) v.currentTime = a.positionMs / 1000;
        break;
      case "seek":
        v.currentTime = a.positionMs / 1000;
        break;
      case "play":
        v.playbackRate = s.rate;
        v.currentTime = a.positionMs / 1000;
        this._play();
        break;
      case "rate":
        v.playbackRate = a.rate;
        break;
      case "wait":
        if (this._startTimer === null) {
          this._startTimer = setTimeout(() => {
            this._startTimer = null;
            v.playbackRate = this.state.rate;
            this._play();
          }, Math.max(0, a.startInMs - this.startLatencyMs));
        }
        break;
      default:
        break;
    }
  }

  // Following a catch-up plan instead of the drift rules; false once it is over or void.
  _followPlan() {
    const c = this._catchUp;
    const s = this.state;
    const v = this.video;
    if (playbackKey(s) !== c.base) {
      this._catchUp = null; // the party's playback moved: the usual rules take it from here
      return false;
    }
    if (c.pending) return true;
    const p = c.plan;
    const now = this.serverNow();
    if (now >= p.until_server_ms) {
      this._catchUp = null;
      v.playbackRate = s.rate;
      this._ready = null;
      this._report(true); // back on the timeline: wait for me again
      return false;
    }
    if (now < p.start_server_ms) {
      if (!c.timer) {
        const wait = p.start_server_ms - now - (v.paused ? this.startLatencyMs : 0);
        c.timer = setTimeout(() => ((c.timer = null), this.step()), Math.max(0, wait));
      }
      return true;
    }
    if (v.playbackRate !== p.rate) v.playbackRate = p.rate;
    if (v.paused) this._play();
    if (!c.endTimer) c.endTimer = setTimeout(() => ((c.endTimer = null), this.step()), Math.max(0, p.until_server_ms - now));
    return true;
  }

  _play() {
    if (this.video.paused) this._playCalledAt = this.now();
    const p = this.video.play();
    if (p && p.catch) p.catch(() => {}); // autoplay refusals surface as a paused video
  }

  close() {
    clearInterval(this._tick);
    clearTimeout(this._resync);
    if (this._startTimer !== null) clearTimeout(this._startTimer);
  }
}

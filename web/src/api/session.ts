// The signed-in session: tokens in localStorage (every tab shares them), the access token
// refreshed shortly before it expires (one refresh at a time), and a tiny store the UI
// subscribes to. The refresh token rotates on every use (README, Accounts and sessions).
import type { components } from "./schema";

type User = components["schemas"]["UserOut"];
type TokenOut = components["schemas"]["TokenOut"];
interface Tokens {
  access: string;
  refresh: string;
  expiresAt: number; // ms since epoch
  earlyMs?: number; // refresh this long before expiresAt
}

const KEY = "cinema.tokens";
// Set while this browser gets push notifications (web/src/push.ts keeps the subscription there).
export const PUSH_MARK = "cinema.push";
// Refresh a minute before the access token expires, or a quarter of its life before when it
// lives less than four minutes (a deployment's ACCESS_TOKEN_TTL_S).
const EARLY_MS = 60_000;

let tokens: Tokens | null = read();
let user: User | null = null;
// The server ended this session (signed out elsewhere, revoked, the account suspended): the
// app says so until the next sign-in.
let ended = false;
const listeners = new Set<() => void>();

function read(): Tokens | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

function changed(): void {
  for (const fn of listeners) fn();
}

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// Another tab signed in, refreshed or signed out.
window.addEventListener("storage", (e) => {
  if (e.key !== KEY) return;
  const next = read();
  if (!next) user = null;
  tokens = next;
  changed();
});

export function signedIn(): boolean {
  return tokens !== null;
}

export function currentUser(): User | null {
  return user;
}

export function setUser(next: User | null): void {
  user = next;
  changed();
}

export function storeTokens(answer: TokenOut): void {
  ended = false;
  tokens = {
    access: answer.access_token,
    refresh: answer.refresh_token,
    expiresAt: Date.now() + answer.expires_in * 1000,
    earlyMs: Math.min(EARLY_MS, (answer.expires_in * 1000) / 4),
  };
  localStorage.setItem(KEY, JSON.stringify(tokens));
  changed();
}

export function forget(): void {
  tokens = null;
  user = null;
  localStorage.removeItem(KEY);
  if (localStorage.getItem(PUSH_MARK)) {
    // Signed out with push on and no token left to tell the server: drop the browser's
    // subscription, so its push service answers 410 and the server prunes it.
    void import("../push").then((m) => m.dropInBrowser()).catch(() => undefined);
  }
  changed();
}

/** A request with our token was refused (401): the session is over here too. */
export function sessionEnded(): void {
  if (!tokens) return;
  ended = true;
  forget();
}

/** Whether the server ended the session this app held (rather than a sign-out here). */
export function endedByServer(): boolean {
  return ended && tokens === null;
}

let refreshing: Promise<string | null> | null = null;

async function refresh(current: Tokens): Promise<string | null> {
  let r: Response;
  try {
    r = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh }),
    });
  } catch {
    return current.access; // unreachable (offline, the server restarting): try with what we have
  }
  if (r.status === 401) {
    // The session ended (signed out elsewhere, revoked, expired): sign out here too.
    sessionEnded();
    return null;
  }
  if (!r.ok) return current.access; // a passing failure: try with what we have
  storeTokens((await r.json()) as TokenOut);
  return tokens?.access ?? null;
}

/** A valid access token (refreshed first if it is about to expire), or null. `refused`: a
 * token the server answered `token_expired` to (our clock and the server's disagree):
 * refreshed now unless a newer one replaced it meanwhile. */
export async function accessToken(refused?: string): Promise<string | null> {
  const current = tokens;
  if (!current) return null;
  const stale = refused !== undefined && refused === current.access;
  if (!stale && current.expiresAt - Date.now() > (current.earlyMs ?? EARLY_MS)) return current.access;
  refreshing ??= refresh(current).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

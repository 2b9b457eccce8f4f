// The shell: a skip link, the header with navigation and the account menu, the page.
import type { ComponentType, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { loadMe, signOut } from "./api/auth";
import { moveAmongCards } from "./components/titles";
import { endedByServer } from "./api/session";
import { useSession } from "./hooks";
import { Link, navigate, useLocation } from "./router";
import { Router } from "./routes";

// The live parts (bell, offline banner) come with the socket module, loaded once signed in.
type Live = typeof import("./live");
let live: Live | null = null;
function useLive(signedIn: boolean): Live | null {
  const [, setLoaded] = useState(0);
  useEffect(() => {
    if (signedIn && !live) void import("./live").then((m) => ((live = m), setLoaded((n) => n + 1)));
  }, [signedIn]);
  return signedIn ? live : null;
}

function Maybe({ of }: { of: ComponentType | undefined }): JSX.Element | null {
  const C = of;
  return C ? <C /> : null;
}

function Nav(): JSX.Element {
  const { path } = useLocation();
  const { signedIn, user } = useSession();
  const liveParts = useLive(signedIn);
  const here = (href: string) => (path === href || (href !== "/" && path.startsWith(href)) ? "page" : undefined);
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Link href="/" class="brand" aria-label="Cinema home">
        ▶ Cinema
      </Link>
      <nav aria-label="Main">
        <Link href="/" aria-current={here("/")}>
          Home
        </Link>
        <Link href="/browse" aria-current={here("/browse")}>
          Browse
        </Link>
        {signedIn && (
          <>
            <Link href="/playlists" aria-current={here("/playlists")}>
              Playlists
            </Link>
            <Link href="/friends" aria-current={here("/friends")}>
              Friends
            </Link>
            <Link href="/messages" aria-current={here("/messages")}>
              Messages
            </Link>
            <Link href="/security" aria-current={here("/security")}>
              Security
            </Link>
            {(user?.role === "editor" || user?.role === "admin") && (
              <Link href="/admin" aria-current={here("/admin")}>
                Back office
              </Link>
            )}
          </>
        )}
      </nav>
      {!path.startsWith("/browse") && (
        <form
          role="search"
          class="quick-search"
          onSubmit={(e) => {
            e.preventDefault();
            const q = new FormData(e.currentTarget).get("q")?.toString().trim();
            navigate(q ? `/browse?q=${encodeURIComponent(q)}` : "/browse");
          }}
        >
          <label>
            <span class="visually-hidden">Search the catalog</span>
            <input type="search" name="q" placeholder="Search…" autoComplete="off" />
          </label>
        </form>
      )}
      <div class="account">
        {signedIn ? (
          <>
            <Maybe of={liveParts?.Bell} />
            <Link href="/profile" aria-current={here("/profile")}>
              {user ? user.display_name || user.username : "Profile"}
            </Link>
            <button
              type="button"
              class="secondary"
              onClick={async () => {
                await signOut();
                navigate("/signin");
              }}
            >
              Sign out
            </button>
          </>
        ) : (
          <>
            <Link href="/signin">Sign in</Link>
            <Link href="/signup" class="button">
              Sign up
            </Link>
          </>
        )}
      </div>
      <Maybe of={liveParts?.OfflineBanner} />
      {!signedIn && endedByServer() && (
        <p class="session-ended" role="alert">
          You have been signed out: your session was ended (signed out elsewhere, or the account was suspended).
        </p>
      )}
    </header>
  );
}

export function App(): JSX.Element {
  useEffect(() => {
    void loadMe().catch(() => undefined);
    document.addEventListener("keydown", moveAmongCards);
    return () => document.removeEventListener("keydown", moveAmongCards);
  }, []);
  return (
    <>
      <Nav />
      <main id="main" tabIndex={-1}>
        <Router />
      </main>
      <footer class="site muted">
        For developers: <a href="/docs">the HTTP API</a> · <Link href="/docs/events">the Socket.IO events</Link>
      </footer>
    </>
  );
}

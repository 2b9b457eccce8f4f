// The shell: a skip link, the header with navigation and the account menu, the page.
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { loadMe, signOut } from "./api/auth";
import { useSession } from "./hooks";
import { Link, navigate, useLocation } from "./router";
import { Router } from "./routes";

function Nav(): JSX.Element {
  const { path } = useLocation();
  const { signedIn, user } = useSession();
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
      </nav>
      <div class="account">
        {signedIn ? (
          <>
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
    </header>
  );
}

export function App(): JSX.Element {
  useEffect(() => {
    void loadMe().catch(() => undefined);
  }, []);
  return (
    <>
      <Nav />
      <main id="main" tabIndex={-1}>
        <Router />
      </main>
    </>
  );
}

import type { ComponentChildren, JSX } from "preact";
import { useSession } from "../hooks";
import { Link } from "../router";

/** Children for a signed-in person; a link to sign in (and come back) for anyone else. */
export function RequireSignIn({ children }: { children: ComponentChildren }): JSX.Element {
  const { signedIn } = useSession();
  if (signedIn) return <>{children}</>;
  const next = encodeURIComponent(location.pathname + location.search);
  return (
    <section class="narrow">
      <h1>Sign in to continue</h1>
      <p>
        <Link href={`/signin?next=${next}`}>Sign in</Link> or <Link href="/signup">create an account</Link>.
      </p>
    </section>
  );
}

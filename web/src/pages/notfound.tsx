import type { JSX } from "preact";
import { Link } from "../router";
import { useTitle } from "../ui";

export default function NotFound(): JSX.Element {
  useTitle("Not found");
  return (
    <section class="narrow">
      <h1>Nothing here</h1>
      <p>
        No page at <code>{location.pathname}</code>. <Link href="/">Go home</Link>.
      </p>
    </section>
  );
}

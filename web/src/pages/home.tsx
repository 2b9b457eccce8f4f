import type { JSX } from "preact";
import { useTitle } from "../ui";

export default function Home(): JSX.Element {
  useTitle("");
  return (
    <section>
      <h1>Cinema</h1>
    </section>
  );
}

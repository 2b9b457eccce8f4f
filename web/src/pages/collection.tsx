// An editors' collection: its description and every title in it, in the editors' order.
import type { JSX } from "preact";
import { api, ok } from "../api/client";
import { Grid, toCard } from "../components/titles";
import { useLoad } from "../hooks";
import type { PageProps } from "../router";
import { Loaded, useTitle } from "../ui";

export default function Collection({ params }: PageProps): JSX.Element {
  const [c] = useLoad(() => ok(api.GET("/api/v1/collections/{ref}", { params: { path: { ref: params.slug } } })), [params.slug]);
  useTitle(c.state === "ready" ? c.data.name : "Collection");
  return (
    <Loaded load={c}>
      {(col) => (
        <section>
          <h1>{col.name}</h1>
          {col.description && <p class="description">{col.description}</p>}
          <Grid titles={col.items.map((e) => toCard(e.title))} />
        </section>
      )}
    </Loaded>
  );
}

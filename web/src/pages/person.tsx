// A person: their bio and filmography, each title a link; "browse with them" filters the catalog.
import type { JSX } from "preact";
import { api, ok } from "../api/client";
import { Grid, toCard } from "../components/titles";
import { useLoad } from "../hooks";
import { Link, type PageProps } from "../router";
import { Loaded, useTitle } from "../ui";

/** "Ada Lovelace" -> "AL": a person without a photo gets their initials in its place. */
function initials(name: string): string {
  const words = name.split(/\s+/).filter(Boolean);
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return picked.map((w) => [...w][0]?.toUpperCase() ?? "").join("");
}

export default function Person({ params }: PageProps): JSX.Element {
  const id = Number(params.id);
  const [person] = useLoad(() => ok(api.GET("/api/v1/people/{person_id}", { params: { path: { person_id: id } } })), [id]);
  useTitle(person.state === "ready" ? person.data.name : "Person");
  return (
    <Loaded load={person}>
      {(p) => {
        const roles = new Map<number, string[]>();
        for (const f of p.filmography) roles.set(f.title.id, [...(roles.get(f.title.id) ?? []), f.character ? `${f.role} (${f.character})` : f.role]);
        const titles = [...new Map(p.filmography.map((f) => [f.title.id, f.title])).values()];
        return (
          <article>
            <h1>{p.name}</h1>
            {p.photo_url ? (
              <img src={p.photo_url} alt={`Photo of ${p.name}`} class="person-photo" width={300} height={450} decoding="async" />
            ) : (
              <div class="person-photo initials" style={{ background: `hsl(${(p.id * 47) % 360} 35% 28%)` }} aria-hidden="true">
                {initials(p.name)}
              </div>
            )}
            {p.birth_date && <p class="muted">Born {p.birth_date}</p>}
            {p.bio && <p class="description">{p.bio}</p>}
            <p>
              <Link href={`/browse?person=${p.id}`}>Browse titles with {p.name}</Link>
            </p>
            <h2>Filmography</h2>
            <Grid titles={titles.map(toCard)} />
          </article>
        );
      }}
    </Loaded>
  );
}

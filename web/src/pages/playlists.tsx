// Playlists: mine and those shared with me; one playlist with its titles in order (move up and
// down, remove), its name and visibility, and who it is shared with.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { Poster } from "../components/titles";
import { useLoad, useSession } from "../hooks";
import { Link, navigate, type PageProps } from "../router";
import { Loaded, Status, formValues, useTitle } from "../ui";
import { who } from "./friends";
import { RequireSignIn } from "./require";

type St = { ok: boolean; text: string } | null;
const VISIBILITY: [Schemas["Visibility"], string][] = [
  ["private", "Only me"],
  ["friends", "My friends"],
  ["public", "Everyone"],
];

export default function Playlists(): JSX.Element {
  useTitle("Playlists");
  return (
    <RequireSignIn>
      <Lists />
    </RequireSignIn>
  );
}

function Lists(): JSX.Element {
  const [mine] = useLoad(() => ok(api.GET("/api/v1/playlists", { params: { query: { limit: 100 } } })));
  const [shared] = useLoad(() => ok(api.GET("/api/v1/playlists/shared-with-me", { params: { query: { limit: 100 } } })));
  const [status, setStatus] = useState<St>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    try {
      const list = await ok(api.POST("/api/v1/playlists", { body: { name: v.name, visibility: v.visibility as Schemas["Visibility"] } }));
      navigate(`/playlists/${list.id}`);
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  const table = (items: Schemas["PlaylistOut"][], empty: string) =>
    items.length === 0 ? (
      <p class="muted">{empty}</p>
    ) : (
      <ul class="people">
        {items.map((p) => (
          <li key={p.id}>
            <Link href={`/playlists/${p.id}`}>{p.name}</Link>
            <span class="muted">
              {p.item_count} title{p.item_count === 1 ? "" : "s"} · {p.visibility}
              {p.owner ? ` · by ${who(p.owner)}` : ""}
            </span>
          </li>
        ))}
      </ul>
    );
  return (
    <section>
      <h1>Playlists</h1>
      <form class="inline-form" onSubmit={create}>
        <label>
          New playlist
          <input name="name" required maxLength={200} />
        </label>
        <label>
          Who sees it
          <select name="visibility">
            {VISIBILITY.map(([v, l]) => (
              <option value={v} key={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create</button>
      </form>
      <Status status={status} />
      <h2>Mine</h2>
      <Loaded load={mine}>{(p) => table(p.items, "No playlists yet: add titles from their pages.")}</Loaded>
      <h2>Shared with me</h2>
      <Loaded load={shared}>{(p) => table(p.items, "Nothing shared with you yet.")}</Loaded>
    </section>
  );
}

export function PlaylistPage({ params }: PageProps): JSX.Element {
  const id = Number(params.id);
  const { user } = useSession();
  const [list, reload, setList] = useLoad(() => ok(api.GET("/api/v1/playlists/{playlist_id}", { params: { path: { playlist_id: id } } })), [id]);
  const [status, setStatus] = useState<St>(null);
  useTitle(list.state === "ready" ? list.data.name : "Playlist");
  const act = async (what: () => Promise<Schemas["PlaylistDetail"] | undefined>, said: string) => {
    try {
      const next = await what();
      if (next) setList(next);
      else reload();
      setStatus({ ok: true, text: said });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  const path = { params: { path: { playlist_id: id } } };
  return (
    <Loaded load={list}>
      {(p) => {
        const owner = user?.id === p.owner.id;
        const canEdit = owner || p.access === "edit";
        const move = (item: Schemas["ItemOut"], position: number) =>
          act(
            () => ok(api.POST("/api/v1/playlists/{playlist_id}/items/{item_id}/move", { params: { path: { playlist_id: id, item_id: item.id } }, body: { position } })),
            `Moved ${item.title.title ?? "the title"} to place ${position + 1}.`,
          );
        return (
          <section>
            <h1>{p.name}</h1>
            <p class="muted">
              By {who(p.owner)} · {p.item_count} title{p.item_count === 1 ? "" : "s"} · {VISIBILITY.find(([v]) => v === p.visibility)?.[1]}
            </p>
            {p.description && <p>{p.description}</p>}
            {owner && (
              <form
                class="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  const v = formValues(e.currentTarget as HTMLFormElement);
                  void act(() => ok(api.PATCH("/api/v1/playlists/{playlist_id}", { ...path, body: { name: v.name, visibility: v.visibility as Schemas["Visibility"] } })), "Saved.");
                }}
              >
                <label>
                  Name
                  <input name="name" value={p.name} required maxLength={200} />
                </label>
                <label>
                  Who sees it
                  <select name="visibility" value={p.visibility}>
                    {VISIBILITY.map(([v, l]) => (
                      <option value={v} key={v}>
                        {l}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="submit">Save</button>
                <button
                  type="button"
                  class="secondary"
                  onClick={() =>
                    confirm(`Delete the playlist ${p.name}?`) &&
                    ok(api.DELETE("/api/v1/playlists/{playlist_id}", path)).then(
                      () => navigate("/playlists"),
                      (exc: unknown) => setStatus({ ok: false, text: message(exc) }),
                    )
                  }
                >
                  Delete playlist
                </button>
              </form>
            )}
            <Status status={status} id="playlist-status" />
            <ol class="playlist">
              {p.items.map((item, i) => (
                <li key={item.id}>
                  <Link href={`/titles/${item.title.id}`} class="playlist-title">
                    <Poster title={{ id: item.title.id, title: item.title.title ?? "", poster_url: item.title.poster_url }} />
                    <span>
                      {item.title.title} {item.title.year ? <span class="muted">({item.title.year})</span> : null}
                    </span>
                  </Link>
                  {canEdit && (
                    <span class="buttons">
                      <button type="button" class="secondary" disabled={i === 0} onClick={() => move(item, i - 1)} aria-label={`Move ${item.title.title} up`}>
                        ↑
                      </button>
                      <button type="button" class="secondary" disabled={i === p.items.length - 1} onClick={() => move(item, i + 1)} aria-label={`Move ${item.title.title} down`}>
                        ↓
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        onClick={() => act(() => ok(api.DELETE("/api/v1/playlists/{playlist_id}/items/{item_id}", { params: { path: { playlist_id: id, item_id: item.id } } })), "Removed.")}
                      >
                        Remove
                      </button>
                    </span>
                  )}
                </li>
              ))}
            </ol>
            {p.items.length === 0 && <p class="muted">Empty: add titles from their pages.</p>}
          </section>
        );
      }}
    </Loaded>
  );
}

// A title: details, cast and crew (person pages), seasons and episodes, the rating widget
// and average, like, favorite, add to a playlist, similar titles, and the comments.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";
import { Comments } from "../components/comments";
import { ShareTitle } from "../components/shared";
import { Poster, Row, toCard } from "../components/titles";
import { useLoad, useSession } from "../hooks";
import { Link, type PageProps } from "../router";
import { ErrorNote, Loaded, Status, useTitle } from "../ui";

export default function TitlePage({ params }: PageProps): JSX.Element {
  const id = Number(params.id);
  const [detail] = useLoad(() => ok(api.GET("/api/v1/titles/{title_id}", { params: { path: { title_id: id } } })), [id]);
  useTitle(detail.state === "ready" ? detail.data.title : "Title");
  if (!Number.isInteger(id) || id < 1) return <ErrorNote message="Not a title address." />;
  return <Loaded load={detail}>{(t) => <Body title={t} />}</Loaded>;
}

type SocialOut = Schemas["TitleSocialOut"];

function Body({ title: t }: { title: Schemas["TitleDetail"] }): JSX.Element {
  const { signedIn } = useSession();
  const [social, , setSocial] = useLoad(() => ok(api.GET("/api/v1/titles/{title_id}/social", { params: { path: { title_id: t.id } } })), [t.id, signedIn]);
  const [similar] = useLoad(
    () =>
      ok(api.GET("/api/v1/titles/{title_id}/similar", { params: { path: { title_id: t.id }, query: { limit: 20 } } })).then((p) =>
        p.items.map((s) => ({ title: toCard(s) })),
      ),
    [t.id],
  );
  const cast = t.credits.filter((c) => c.role === "actor");
  const crew = t.credits.filter((c) => c.role !== "actor");
  const facts = [t.year, t.kind === "series" ? "Series" : "Film", t.runtime_minutes ? `${t.runtime_minutes} min` : null, t.age_rating].filter(Boolean);
  return (
    <article class="title-page">
      {t.backdrop_url && <img class="backdrop" src={t.backdrop_url} alt="" width={1600} height={900} decoding="async" />}
      <div class="title-head">
        <Poster title={t} size="large" />
        <div>
          <h1>{t.title}</h1>
          {t.original_title && t.original_title !== t.title && <p class="muted">{t.original_title}</p>}
          <p class="facts">{facts.join(" · ")}</p>
          <p class="terms">
            {t.genres.map((g) => (
              <Link key={g.slug} href={`/browse?genre=${g.slug}`} class="tag">
                {g.name}
              </Link>
            ))}
            {t.tags.map((g) => (
              <Link key={g.slug} href={`/browse?tag=${g.slug}`} class="tag subtle">
                #{g.name}
              </Link>
            ))}
          </p>
          {t.kind !== "series" && (
            <p class="play-actions">
              <Link href={`/watch/${t.id}`} class="button">
                ▶ Play
              </Link>{" "}
              <Link href={`/party/new?title=${t.id}`} class="button secondary">
                Watch together
              </Link>
            </p>
          )}
          {signedIn && <ShareTitle titleId={t.id} />}
          {t.description && <p class="description">{t.description}</p>}
          {t.countries.length > 0 && <p class="muted">{t.countries.map((c) => c.name).join(", ")}</p>}
          <Loaded load={social}>{(s) => <Social social={s} />}</Loaded>
          {signedIn ? (
            <MyActions titleId={t.id} social={social.state === "ready" ? social.data : null} setSocial={setSocial} />
          ) : (
            <p>
              <Link href={`/signin?next=/titles/${t.id}`}>Sign in</Link> to rate, like, save and comment.
            </p>
          )}
        </div>
      </div>
      {t.seasons.length > 0 && <Seasons seasons={t.seasons} titleId={t.id} />}
      {(cast.length > 0 || crew.length > 0) && (
        <section aria-labelledby="credits-h">
          <h2 id="credits-h">Cast and crew</h2>
          <ul class="credits">
            {[...crew, ...cast].map((c) => (
              <li key={`${c.person.id}-${c.role}`}>
                <Link href={`/people/${c.person.id}`}>{c.person.name}</Link>
                <span class="muted"> {c.role === "actor" ? (c.character ? `as ${c.character}` : "") : c.role}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      <Row heading="More like this" load={similar} />
      <Comments titleId={t.id} />
    </article>
  );
}

function Seasons({ seasons, titleId }: { seasons: Schemas["SeasonOut"][]; titleId: number }): JSX.Element {
  const [open, setOpen] = useState(seasons[0]?.id);
  const season = seasons.find((s) => s.id === open) ?? seasons[0];
  return (
    <section aria-labelledby="seasons-h">
      <h2 id="seasons-h">Seasons and episodes</h2>
      <div role="tablist" aria-label="Seasons" class="tabs">
        {seasons.map((s) => (
          <button key={s.id} role="tab" type="button" aria-selected={s.id === season.id} class="facet" onClick={() => setOpen(s.id)}>
            {s.name || `Season ${s.number}`}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={season.name || `Season ${season.number}`}>
        <ol class="episodes">
        {season.episodes.map((e) => (
          <li key={e.id} value={e.number}>
            <strong>{e.title}</strong>
            <span class="muted">
              {" "}
              {[e.runtime_minutes ? `${e.runtime_minutes} min` : null, e.release_date].filter(Boolean).join(" · ")}
            </span>{" "}
            <Link href={`/watch/${titleId}/episodes/${e.id}`} aria-label={`Play ${e.title}`}>
              ▶ Play
            </Link>
          </li>
        ))}
        </ol>
      </div>
    </section>
  );
}

function Social({ social: s }: { social: SocialOut }): JSX.Element {
  return (
    <p class="social" id="social">
      <span>
        ★ <strong>{s.average != null ? s.average.toFixed(1) : "–"}</strong>/10 · {s.count} rating{s.count === 1 ? "" : "s"}
      </span>{" "}
      · <span>♥ {s.likes}</span>
    </p>
  );
}

function MyActions({ titleId, social: s, setSocial }: { titleId: number; social: SocialOut | null; setSocial: (s: SocialOut) => void }): JSX.Element {
  const path = { params: { path: { title_id: titleId } } };
  const [favorite, , setFavorite] = useLoad(async () => {
    // No per-title lookup: is it among my favorites (the first pages are enough for a person)?
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await ok(api.GET("/api/v1/favorites", { params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } } }));
      if (page.items.some((f) => f.title.id === titleId)) return true;
      if (!page.next_cursor) return false;
      cursor = page.next_cursor;
    }
    return false;
  }, [titleId]);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const act = async (what: () => Promise<unknown>, said: string) => {
    try {
      await what();
      setStatus({ ok: true, text: said });
    } catch (exc) {
      setStatus({ ok: false, text: message(exc) });
    }
  };
  const rate = (score: number | null) =>
    act(async () => {
      const r = score === null ? await ok(api.DELETE("/api/v1/titles/{title_id}/rating", path)) : await ok(api.PUT("/api/v1/titles/{title_id}/rating", { ...path, body: { score } }));
      if (s) setSocial({ ...s, my_score: r.score, average: r.summary.average, count: r.summary.count });
    }, score === null ? "Rating removed." : `Rated ${score}/10.`);
  return (
    <div class="actions">
      <fieldset class="rating">
        <legend>Your rating{s?.my_score ? `: ${s.my_score}/10` : ""}</legend>
        {Array.from({ length: 10 }, (_, i) => i + 1).map((n) => (
          <button type="button" key={n} class="star" disabled={!s} aria-pressed={s?.my_score != null && n <= s.my_score} aria-label={`Rate ${n} out of 10`} onClick={() => rate(n)}>
            {n}
          </button>
        ))}
        {s?.my_score != null && (
          <button type="button" class="link" onClick={() => rate(null)}>
            Remove
          </button>
        )}
      </fieldset>
      <div class="buttons">
        <button
          type="button"
          class="secondary"
          disabled={!s}
          aria-pressed={s?.liked_by_me ?? false}
          onClick={() =>
            act(async () => {
              const next = s?.liked_by_me ? await ok(api.DELETE("/api/v1/titles/{title_id}/like", path)) : await ok(api.PUT("/api/v1/titles/{title_id}/like", path));
              setSocial(next);
            }, s?.liked_by_me ? "Like removed." : "Liked.")
          }
        >
          ♥ {s?.liked_by_me ? "Liked" : "Like"}
        </button>
        <button
          type="button"
          class="secondary"
          disabled={favorite.state !== "ready"}
          aria-pressed={favorite.state === "ready" && favorite.data}
          onClick={() =>
            act(async () => {
              const on = favorite.state === "ready" && favorite.data;
              if (on) await ok(api.DELETE("/api/v1/favorites/{title_id}", path));
              else await ok(api.PUT("/api/v1/favorites/{title_id}", path));
              setFavorite(!on);
            }, favorite.state === "ready" && favorite.data ? "Removed from favorites." : "Added to favorites.")
          }
        >
          {favorite.state === "ready" && favorite.data ? "★ In favorites" : "☆ Add to favorites"}
        </button>
        <AddToPlaylist titleId={titleId} onDone={(text, good) => setStatus({ ok: good, text })} />
      </div>
      <Status status={status} id="title-status" />
    </div>
  );
}

function AddToPlaylist({ titleId, onDone }: { titleId: number; onDone: (text: string, ok: boolean) => void }): JSX.Element {
  const [open, setOpen] = useState(false);
  const [lists, reload] = useLoad(() => (open ? ok(api.GET("/api/v1/playlists", { params: { query: { limit: 100 } } })) : Promise.resolve(null)), [open]);
  const add = async (playlistId: number, name: string) => {
    try {
      await ok(api.POST("/api/v1/playlists/{playlist_id}/items", { params: { path: { playlist_id: playlistId } }, body: { title_id: titleId } }));
      onDone(`Added to ${name}.`, true);
      setOpen(false);
    } catch (exc) {
      onDone(message(exc), false);
    }
  };
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const name = (new FormData(form).get("name") as string).trim();
    if (!name) return;
    try {
      const list = await ok(api.POST("/api/v1/playlists", { body: { name, visibility: "private" } }));
      await add(list.id, list.name);
      reload();
    } catch (exc) {
      onDone(message(exc), false);
    }
  };
  return (
    <div class="playlist-add">
      <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
        + Playlist
      </button>
      {open && (
        <div class="popover" role="group" aria-label="Add to a playlist">
          <Loaded load={lists}>
            {(page) =>
              page && (
                <ul>
                  {page.items.map((p) => (
                    <li key={p.id}>
                      <button type="button" class="link" onClick={() => add(p.id, p.name)}>
                        {p.name}
                      </button>{" "}
                      <span class="muted">({p.item_count})</span>
                    </li>
                  ))}
                </ul>
              )
            }
          </Loaded>
          <form onSubmit={create}>
            <label>
              New playlist
              <input name="name" maxLength={100} required />
            </label>
            <button type="submit">Create and add</button>
          </form>
        </div>
      )}
    </div>
  );
}

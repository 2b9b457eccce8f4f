// Home: the rows a cinema shows. Signed in: continue watching, recommendations, favorites;
// for everyone: trending, new releases, top rated and the editors' collections.
import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { api, ok } from "../api/client";
import { type CardTitle, Row, toCard } from "../components/titles";
import { useLoad, useSession } from "../hooks";
import { Link } from "../router";
import { Loaded, useTitle } from "../ui";

function minutes(ms: number): string {
  return `${Math.max(1, Math.round(ms / 60000))} min`;
}

function sorted(sort: "popular" | "newest" | "rating") {
  return () =>
    ok(api.GET("/api/v1/titles", { params: { query: { sort, limit: 20 } } })).then((p) => p.items.map((t) => ({ title: toCard(t) })));
}

export default function Home(): JSX.Element {
  useTitle("");
  const { signedIn } = useSession();
  const me = signedIn;
  const [trending] = useLoad(sorted("popular"));
  const [fresh] = useLoad(sorted("newest"));
  const [top] = useLoad(sorted("rating"));
  const [collections] = useLoad(() => ok(api.GET("/api/v1/collections", { params: { query: { limit: 6 } } })));
  const [resume] = useLoad(
    async () =>
      me
        ? (await ok(api.GET("/api/v1/me/continue-watching"))).items.map((c) => ({
            title: { id: c.title_id, title: c.title },
            note:
              c.episode_number != null
                ? `S${c.season_number} E${c.episode_number} · ${minutes(c.position_ms)} in`
                : `${minutes(c.position_ms)} in`,
          }))
        : [],
    [me],
  );
  const [picks] = useLoad(
    async () =>
      me
        ? (await ok(api.GET("/api/v1/me/recommendations", { params: { query: { limit: 20 } } }))).items.map((r) => ({
            title: toCard(r.title),
            note: r.reason.because ? `Because you liked ${r.reason.because.title}` : r.reason.genre ? `Popular in ${r.reason.genre.name}` : undefined,
          }))
        : [],
    [me],
  );
  const [favorites] = useLoad(
    async () =>
      me ? (await ok(api.GET("/api/v1/favorites", { params: { query: { limit: 30 } } }))).items.map((f) => ({ title: toCard(f.title) })) : [],
    [me],
  );
  return (
    <>
      <h1 class="visually-hidden">Cinema</h1>
      {!signedIn && (
        <section class="hero">
          {trending.state === "ready" && <Showcase titles={trending.data.map((c) => c.title).filter((t) => t.poster_url).slice(0, 3)} />}
          <p class="hero-line">Films and series, and friends to watch them with.</p>
          <p>
            <Link href="/signup" class="button">
              Create an account
            </Link>{" "}
            <Link href="/browse" class="button secondary">
              Browse the catalog
            </Link>
          </p>
        </section>
      )}
      {signedIn && <FriendsWatching />}
      {signedIn && <Row heading="Continue watching" load={resume} />}
      {signedIn && <Row heading="Recommended for you" load={picks} />}
      <Row heading="Trending" load={trending} more="/browse?sort=popular" />
      <Row heading="New releases" load={fresh} more="/browse?sort=newest" />
      <Row heading="Top rated" load={top} more="/browse?sort=rating" />
      <Loaded load={collections}>{(page) => <>{page.items.map((c) => <Collection key={c.id} slug={c.slug} name={c.name} />)}</>}</Loaded>
      {signedIn && <Row heading="My favorites" load={favorites} empty="Titles you mark as favorite show here." />}
    </>
  );
}

/** The hero's fan of the three most popular posters (the same images as the row below, so
 * nothing more to load); decoration only, the row names them. */
function Showcase({ titles }: { titles: CardTitle[] }): JSX.Element | null {
  if (titles.length < 3) return null;
  return (
    <div class="showcase" aria-hidden="true">
      {titles.map((t) => (
        <img key={t.id} src={t.poster_url ?? ""} alt="" width={200} height={300} decoding="async" />
      ))}
    </div>
  );
}

function Collection({ slug, name }: { slug: string; name: string }): JSX.Element | null {
  const [items] = useLoad(() =>
    ok(api.GET("/api/v1/collections/{ref}", { params: { path: { ref: slug } } })).then((c) =>
      c.items.map((e) => ({ title: toCard(e.title), note: e.note ?? undefined })),
    ),
  );
  return <Row heading={name} load={items} more={`/collections/${slug}`} />;
}

/** Parties friends host and let their friends see ("Ann is watching Alien — join?"); hidden
 * when there are none. Read again every 30 s (the home page keeps no socket of its own). */
function FriendsWatching(): JSX.Element | null {
  const [parties, reload] = useLoad(() => ok(api.GET("/api/v1/parties/friends")));
  useEffect(() => {
    const t = setInterval(reload, 30_000);
    return () => clearInterval(t);
  }, []);
  if (parties.state !== "ready" || parties.data.items.length === 0) return null;
  return (
    <section class="row friends-watching" aria-labelledby="friends-watching">
      <h2 id="friends-watching">Friends watching now</h2>
      <ul class="friends-parties">
        {parties.data.items.map((p) => (
          <li key={p.party_id}>
            <span>
              <strong>{p.host_username}</strong> is watching <strong>{p.media_name}</strong>
              <span class="muted">
                {" "}
                · {p.members} of {p.capacity} watching
                {p.admission === "knock" ? " · knock to join" : ""}
              </span>
            </span>
            {p.full ? (
              <span class="muted">Full</span>
            ) : (
              <Link href={`/party/${p.party_id}`} class="button">
                Join?<span class="visually-hidden"> {p.host_username}'s party</span>
              </Link>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

// Back office, titles: the list (search, kind, genre, sort, pages), a new title, and one
// title's editor (every field POST/PATCH /titles take: kind, names, description, year, dates,
// age rating, pictures, popularity, genres, tags, categories, countries, credits), its seasons
// and episodes for a series, and delete. Every write is the public API's; its refusals show
// beside the form, each field's under the field.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { Link, navigate, type PageProps } from "../../router";
import { ErrorNote, Loaded, Status, useTitle } from "../../ui";
import { DeleteButton, Field, FormError, type Refusal, numOrNull, orNull, refusal } from "./forms";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";

type Detail = Schemas["TitleDetail"];
type Term = Schemas["Term"];
type Country = Schemas["CountryOut"];
type Role = Schemas["CreditRole"];
type Note = { ok: boolean; text: string } | null;

const SORTS: [string, string][] = [
  ["", "Best match / recently added"],
  ["added", "Recently added"],
  ["title", "Title A–Z"],
  ["newest", "Newest release"],
  ["popular", "Popular"],
  ["rating", "Top rated"],
];
const ROLES: Role[] = ["actor", "director", "writer"];
const RATINGS = ["G", "PG", "PG-13", "R", "NC-17", "TV-Y", "TV-PG", "TV-14", "TV-MA", "0+", "6+", "12+", "16+", "18+"];

// ---- the list ------------------------------------------------------------------------------

export default function TitleList({ query }: PageProps): JSX.Element {
  useTitle("Titles · Back office");
  const [q, setQ] = useState(query.get("q") ?? "");
  const [kind, setKind] = useState(query.get("kind") ?? "");
  const [genre, setGenre] = useState(query.get("genre") ?? "");
  const [sort, setSort] = useState(query.get("sort") ?? "");
  const [genres] = useLoad(() => ok(api.GET("/api/v1/genres")).then((p) => p.items), []);
  const list = useAdminList(
    (cursor) =>
      ok(
        api.GET("/api/v1/titles", {
          params: {
            query: {
              q: q.trim() || undefined,
              kind: (kind || undefined) as Schemas["TitleKind"] | undefined,
              genre: genre ? [genre] : undefined,
              // The server's own order for a search (relevance, typos forgiven), else newest first.
              sort: (sort || (q.trim() ? undefined : "added")) as Schemas["TitleQuery"]["sort"],
              limit: 20,
              cursor,
            },
          },
        }),
      ),
    [q, kind, genre, sort],
  );
  // The filters live in the address too, so a filtered list can be bookmarked or shared.
  useEffect(() => {
    const url = new URLSearchParams();
    if (q.trim()) url.set("q", q.trim());
    if (kind) url.set("kind", kind);
    if (genre) url.set("genre", genre);
    if (sort) url.set("sort", sort);
    const next = `/admin/titles${url.size ? `?${url}` : ""}`;
    if (next !== location.pathname + location.search) history.replaceState(null, "", next);
  }, [q, kind, genre, sort]);
  return (
    <AdminLayout title="Titles">
      <p>
        <Link href="/admin/titles/new" class="button">
          New title
        </Link>
      </p>
      <form class="admin-filters" role="search" aria-label="Titles" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="Title, person, genre" />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="film">Film</option>
            <option value="series">Series</option>
          </select>
        </label>
        <label>
          Genre
          <select value={genre} onChange={(e) => setGenre(e.currentTarget.value)}>
            <option value="">Any</option>
            {genres.state === "ready" &&
              genres.data.map((g) => (
                <option key={g.slug} value={g.slug}>
                  {g.name}
                </option>
              ))}
          </select>
        </label>
        <label>
          Sort
          <select value={sort} onChange={(e) => setSort(e.currentTarget.value)}>
            {SORTS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <AdminList list={list} empty={<p>No title matches.</p>}>
        {(items) => (
          <div class="table-wrap">
            <table class="admin-table">
              <caption class="visually-hidden">Titles</caption>
              <thead>
                <tr>
                  <th scope="col">Title</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Year</th>
                  <th scope="col">Age rating</th>
                  <th scope="col">Genres</th>
                </tr>
              </thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.id}>
                    <th scope="row">
                      <Link href={`/admin/titles/${t.id}`}>{t.title}</Link>
                    </th>
                    <td>{t.kind === "series" ? "Series" : "Film"}</td>
                    <td>{t.year ?? "—"}</td>
                    <td>{t.age_rating ?? "—"}</td>
                    <td>{t.genres.map((g) => g.name).join(", ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </AdminList>
    </AdminLayout>
  );
}

// ---- one title -----------------------------------------------------------------------------

type Credit = { person: { id: number; name: string }; role: Role; character: string };
type Draft = {
  kind: Schemas["TitleKind"];
  title: string;
  original_title: string;
  description: string;
  year: string;
  release_date: string;
  runtime_minutes: string;
  age_rating: string;
  poster_url: string;
  backdrop_url: string;
  popularity: string;
  genres: string[];
  tags: string[];
  categories: string[];
  countries: string[];
  credits: Credit[];
};

function draftOf(t: Detail | null): Draft {
  const s = (v: string | number | null | undefined) => (v == null ? "" : String(v));
  return {
    kind: t?.kind ?? "film",
    title: s(t?.title),
    original_title: s(t?.original_title),
    description: s(t?.description),
    year: s(t?.year),
    release_date: s(t?.release_date),
    runtime_minutes: s(t?.runtime_minutes),
    age_rating: s(t?.age_rating),
    poster_url: s(t?.poster_url),
    backdrop_url: s(t?.backdrop_url),
    popularity: s(t?.popularity ?? 0),
    genres: t?.genres.map((g) => g.slug) ?? [],
    tags: t?.tags.map((g) => g.slug) ?? [],
    categories: t?.categories.map((g) => g.slug) ?? [],
    countries: t?.countries.map((c) => c.code) ?? [],
    credits: t?.credits.map((c) => ({ person: c.person, role: c.role, character: c.character ?? "" })) ?? [],
  };
}

function bodyOf(d: Draft): Schemas["TitleIn"] {
  return {
    kind: d.kind,
    title: d.title,
    original_title: orNull(d.original_title),
    description: orNull(d.description),
    year: numOrNull(d.year),
    release_date: orNull(d.release_date),
    runtime_minutes: numOrNull(d.runtime_minutes),
    age_rating: orNull(d.age_rating),
    poster_url: orNull(d.poster_url),
    backdrop_url: orNull(d.backdrop_url),
    popularity: numOrNull(d.popularity) ?? 0,
    genres: d.genres,
    tags: d.tags,
    categories: d.categories,
    countries: d.countries,
    credits: d.credits.map((c) => ({ person_id: c.person.id, role: c.role, character: orNull(c.character) })),
  };
}

type Vocab = { genres: Term[]; tags: Term[]; categories: Term[]; countries: Country[] };

async function vocabulary(): Promise<Vocab> {
  const [genres, tags, categories, countries] = await Promise.all([
    ok(api.GET("/api/v1/genres")),
    ok(api.GET("/api/v1/tags")),
    ok(api.GET("/api/v1/categories")),
    ok(api.GET("/api/v1/countries")),
  ]);
  return { genres: genres.items, tags: tags.items, categories: categories.items, countries: countries.items };
}

export function TitleEditor({ params }: PageProps): JSX.Element {
  const isNew = params.id === undefined;
  const id = Number(params.id);
  const [vocab] = useLoad(vocabulary, []);
  const [detail, , setDetail] = useLoad<Detail | null>(
    () => (isNew ? Promise.resolve(null) : ok(api.GET("/api/v1/titles/{title_id}", { params: { path: { title_id: id } } }))),
    [params.id],
  );
  const heading = isNew ? "New title" : detail.state === "ready" && detail.data ? `Edit “${detail.data.title}”` : "Edit title";
  useTitle(`${heading} · Back office`);
  if (!isNew && (!Number.isInteger(id) || id < 1)) {
    return (
      <AdminLayout title="Edit title">
        <ErrorNote message="Not a title address." />
      </AdminLayout>
    );
  }
  return (
    <AdminLayout title={heading}>
      <p>
        <Link href="/admin/titles">← All titles</Link>
      </p>
      <Loaded load={vocab}>
        {(v) => (
          <Loaded load={detail}>
            {(t) => (
              <>
                <TitleForm key={t?.id ?? "new"} title={t} vocab={v} onSaved={setDetail} />
                {t && t.kind === "series" && <Seasons title={t} onChange={setDetail} />}
                {t && (
                  <section aria-labelledby="danger-h" class="admin-block">
                    <h2 id="danger-h">Delete</h2>
                    <p class="muted">Deletes the title with its seasons, episodes, credits and media.</p>
                    <DeleteTitle title={t} />
                  </section>
                )}
              </>
            )}
          </Loaded>
        )}
      </Loaded>
    </AdminLayout>
  );
}

function DeleteTitle({ title }: { title: Detail }): JSX.Element {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <DeleteButton
        what="this title"
        onConfirm={() =>
          void ok(api.DELETE("/api/v1/titles/{title_id}", { params: { path: { title_id: title.id } } })).then(
            () => navigate("/admin/titles"),
            (exc: unknown) => setError(message(exc)),
          )
        }
      />
      {error && <ErrorNote message={error} />}
    </>
  );
}

function TitleForm({ title, vocab, onSaved }: { title: Detail | null; vocab: Vocab; onSaved: (t: Detail) => void }): JSX.Element {
  const [d, setD] = useState<Draft>(() => draftOf(title));
  const [refused, setRefused] = useState<Refusal>(null);
  const [note, setNote] = useState<Note>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setD((old) => ({ ...old, [k]: v }));
  const text = (k: keyof Draft) => ({
    value: d[k] as string,
    onInput: (e: JSX.TargetedEvent<HTMLInputElement | HTMLTextAreaElement>) => set(k, e.currentTarget.value as never),
  });

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setNote(null);
    try {
      const body = bodyOf(d);
      const saved = title
        ? await ok(api.PATCH("/api/v1/titles/{title_id}", { params: { path: { title_id: title.id } }, body }))
        : await ok(api.POST("/api/v1/titles", { body }));
      setRefused(null);
      if (title) {
        onSaved(saved);
        setD(draftOf(saved));
        setNote({ ok: true, text: "Saved." });
      } else {
        navigate(`/admin/titles/${saved.id}?created=1`);
      }
    } catch (exc) {
      setRefused(refusal(exc));
    } finally {
      setBusy(false);
    }
  };
  const created = new URLSearchParams(location.search).has("created");

  return (
    <form class="admin-form" onSubmit={save} aria-labelledby="admin-title">
      <FormError refused={refused} />
      {title && (
        <p class="buttons">
          <Link href={`/titles/${title.id}`}>Public page</Link>
          {title.kind === "film" && <Link href={`/admin/media/titles/${title.id}`}>Media (upload and transcode)</Link>}
          {title.kind === "film" && <Link href={`/watch/${title.id}`}>Play</Link>}
        </p>
      )}
      <fieldset>
        <legend>Kind</legend>
        {(["film", "series"] as const).map((k) => (
          <label class="inline" key={k}>
            <input type="radio" name="kind" value={k} checked={d.kind === k} onChange={() => set("kind", k)} />
            {k === "film" ? "Film" : "Series"}
          </label>
        ))}
      </fieldset>
      <Field name="title" label="Title" refused={refused}>
        {(a) => <input {...a} {...text("title")} autocomplete="off" />}
      </Field>
      <Field name="original_title" label="Original title" refused={refused}>
        {(a) => <input {...a} {...text("original_title")} autocomplete="off" />}
      </Field>
      <Field name="description" label="Description" refused={refused}>
        {(a) => <textarea {...a} {...text("description")} rows={5} />}
      </Field>
      <div class="field-row">
        <Field name="year" label="Year" refused={refused}>
          {(a) => <input {...a} {...text("year")} inputMode="numeric" />}
        </Field>
        <Field name="release_date" label="Release date" refused={refused}>
          {(a) => <input {...a} {...text("release_date")} type="date" />}
        </Field>
        <Field name="runtime_minutes" label="Runtime (minutes)" refused={refused}>
          {(a) => <input {...a} {...text("runtime_minutes")} inputMode="numeric" />}
        </Field>
      </div>
      <div class="field-row">
        <Field name="age_rating" label="Age rating" refused={refused} hint="As written: PG-13, 12+, FSK 16…">
          {(a) => <input {...a} {...text("age_rating")} list="age-ratings" autocomplete="off" />}
        </Field>
        <datalist id="age-ratings">
          {RATINGS.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
        <Field name="popularity" label="Popularity" refused={refused}>
          {(a) => <input {...a} {...text("popularity")} inputMode="decimal" />}
        </Field>
      </div>
      <Field name="poster_url" label="Poster URL" refused={refused}>
        {(a) => <input {...a} {...text("poster_url")} type="url" autocomplete="off" />}
      </Field>
      <Field name="backdrop_url" label="Backdrop URL" refused={refused}>
        {(a) => <input {...a} {...text("backdrop_url")} type="url" autocomplete="off" />}
      </Field>
      <Terms legend="Genres" name="genres" all={vocab.genres} chosen={d.genres} onChange={(v) => set("genres", v)} refused={refused} />
      <Terms legend="Tags" name="tags" all={vocab.tags} chosen={d.tags} onChange={(v) => set("tags", v)} refused={refused} />
      <Terms legend="Categories" name="categories" all={vocab.categories} chosen={d.categories} onChange={(v) => set("categories", v)} refused={refused} />
      <Field name="countries" label="Countries" refused={refused} hint={vocab.countries.length ? "Ctrl/⌘ or Shift to choose several" : "No countries in the catalog yet."}>
        {(a) => (
          <select
            {...a}
            multiple
            size={6}
            onChange={(e) => set("countries", Array.from(e.currentTarget.selectedOptions, (o) => o.value))}
          >
            {vocab.countries.map((c) => (
              <option key={c.code} value={c.code} selected={d.countries.includes(c.code)}>
                {c.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Credits credits={d.credits} onChange={(v) => set("credits", v)} refused={refused} />
      <p class="buttons">
        <button type="submit" disabled={busy}>
          {title ? "Save changes" : "Create title"}
        </button>
      </p>
      <Status status={note ?? (created && !refused ? { ok: true, text: "Title created." } : null)} />
    </form>
  );
}

function Terms(props: { legend: string; name: string; all: Term[]; chosen: string[]; onChange: (v: string[]) => void; refused: Refusal }): JSX.Element {
  const error = props.refused?.fields[props.name];
  const toggle = (slug: string, on: boolean) => props.onChange(on ? [...props.chosen, slug] : props.chosen.filter((s) => s !== slug));
  return (
    <fieldset class={error ? "terms-pick invalid" : "terms-pick"} aria-describedby={error ? `f-${props.name}-error` : undefined}>
      <legend>{props.legend}</legend>
      {props.all.length === 0 && <p class="muted">None yet.</p>}
      {props.all.map((t) => (
        <label class="inline" key={t.slug}>
          <input type="checkbox" checked={props.chosen.includes(t.slug)} onChange={(e) => toggle(t.slug, e.currentTarget.checked)} />
          {t.name}
        </label>
      ))}
      {error && (
        <small id={`f-${props.name}-error`} class="field-error">
          {error}
        </small>
      )}
    </fieldset>
  );
}

function Credits({ credits, onChange, refused }: { credits: Credit[]; onChange: (v: Credit[]) => void; refused: Refusal }): JSX.Element {
  const [q, setQ] = useState("");
  const [role, setRole] = useState<Role>("actor");
  const [found, setFound] = useState<Schemas["PersonOut"][] | null>(null);
  useEffect(() => {
    const term = q.trim();
    if (!term) return setFound(null);
    const timer = setTimeout(() => {
      void ok(api.GET("/api/v1/people", { params: { query: { q: term, limit: 8 } } })).then(
        (p) => setFound(p.items),
        () => setFound([]),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [q]);
  const error = refused?.fields.credits;
  const move = (i: number, by: number) => {
    const next = [...credits];
    const [c] = next.splice(i, 1);
    next.splice(i + by, 0, c);
    onChange(next);
  };
  return (
    <fieldset class={error ? "credits-edit invalid" : "credits-edit"}>
      <legend>Cast and crew</legend>
      {credits.length === 0 && <p class="muted">No credits yet.</p>}
      <ol class="admin-list">
        {credits.map((c, i) => (
          <li key={`${c.person.id}-${c.role}-${i}`}>
            <span class="grow">
              <strong>{c.person.name}</strong>
            </span>
            <label class="inline">
              <span class="visually-hidden">Role of {c.person.name}</span>
              <select value={c.role} onChange={(e) => onChange(credits.map((x, j) => (j === i ? { ...x, role: e.currentTarget.value as Role } : x)))}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </label>
            <label class="inline">
              <span class="visually-hidden">Character of {c.person.name}</span>
              <input
                value={c.character}
                placeholder="Character"
                onInput={(e) => onChange(credits.map((x, j) => (j === i ? { ...x, character: e.currentTarget.value } : x)))}
              />
            </label>
            <button type="button" class="secondary" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move ${c.person.name} up`}>
              ↑
            </button>
            <button type="button" class="secondary" disabled={i === credits.length - 1} onClick={() => move(i, 1)} aria-label={`Move ${c.person.name} down`}>
              ↓
            </button>
            <button type="button" class="secondary" onClick={() => onChange(credits.filter((_, j) => j !== i))} aria-label={`Remove ${c.person.name}`}>
              Remove
            </button>
          </li>
        ))}
      </ol>
      <div class="field-row">
        <label>
          Find a person to credit
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} autocomplete="off" />
        </label>
        <div class="field">
          <label for="credit-role">Credit as</label>
          <select id="credit-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
      </div>
      {found && found.length === 0 && (
        <p class="muted">
          Nobody by that name. <Link href="/admin/people/new">Add a person</Link>
        </p>
      )}
      {found && found.length > 0 && (
        <ul class="chips" aria-label="People found">
          {found.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class="chip"
                onClick={() => {
                  onChange([...credits, { person: { id: p.id, name: p.name }, role, character: "" }]);
                  setQ("");
                }}
              >
                Add {p.name} as {role}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && <small class="field-error">{error}</small>}
    </fieldset>
  );
}

// ---- seasons and episodes of a series -------------------------------------------------------

function Seasons({ title, onChange }: { title: Detail; onChange: (t: Detail) => void }): JSX.Element {
  const [refused, setRefused] = useState<Refusal>(null);
  const [note, setNote] = useState<Note>(null);
  const run = async (fn: () => Promise<Detail | undefined>, done: string) => {
    try {
      const t = await fn();
      if (t) onChange(t);
      else onChange(await ok(api.GET("/api/v1/titles/{title_id}", { params: { path: { title_id: title.id } } })));
      setRefused(null);
      setNote({ ok: true, text: done });
    } catch (exc) {
      setRefused(refusal(exc));
      setNote(null);
    }
  };
  const nextSeason = Math.max(0, ...title.seasons.map((s) => s.number)) + 1;
  return (
    <section class="admin-block" aria-labelledby="seasons-h">
      <h2 id="seasons-h">Seasons and episodes</h2>
      <FormError refused={refused} />
      <Status status={note} />
      {title.seasons.map((s) => (
        <details key={s.id} class="season-edit" open={title.seasons.length <= 2}>
          <summary>
            Season {s.number}
            {s.name ? `: ${s.name}` : ""} · {s.episodes.length} episode{s.episodes.length === 1 ? "" : "s"}
          </summary>
          <SmallForm
            label={`Season ${s.number}`}
            fields={[
              ["number", "Number", String(s.number)],
              ["name", "Name", s.name ?? ""],
            ]}
            submit="Save season"
            onSubmit={(v) =>
              run(
                () => ok(api.PATCH("/api/v1/seasons/{season_id}", { params: { path: { season_id: s.id } }, body: { number: numOrNull(v.number) ?? s.number, name: orNull(v.name) } })),
                "Season saved.",
              )
            }
          />
          <ol class="admin-list">
            {s.episodes.map((ep) => (
              <li key={ep.id} class="episode-edit">
                <SmallForm
                  label={`Episode ${ep.number}`}
                  fields={[
                    ["number", "Number", String(ep.number)],
                    ["title", "Title", ep.title],
                    ["runtime_minutes", "Minutes", ep.runtime_minutes == null ? "" : String(ep.runtime_minutes)],
                    ["release_date", "Released", ep.release_date ?? "", "date"],
                  ]}
                  submit="Save"
                  onSubmit={(v) =>
                    run(
                      () =>
                        ok(
                          api.PATCH("/api/v1/episodes/{episode_id}", {
                            params: { path: { episode_id: ep.id } },
                            body: { number: numOrNull(v.number) ?? ep.number, title: v.title ?? ep.title, runtime_minutes: numOrNull(v.runtime_minutes), release_date: orNull(v.release_date) },
                          }),
                        ),
                      "Episode saved.",
                    )
                  }
                />
                <p class="buttons">
                  <Link href={`/admin/media/episodes/${ep.id}?title=${title.id}`}>Media</Link>
                  <Link href={`/watch/${title.id}/episodes/${ep.id}`}>Play</Link>
                  <DeleteButton
                    what={`episode ${ep.number}`}
                    onConfirm={() =>
                      void run(
                        () => ok(api.DELETE("/api/v1/episodes/{episode_id}", { params: { path: { episode_id: ep.id } } })).then(() => undefined),
                        "Episode deleted.",
                      )
                    }
                  />
                </p>
              </li>
            ))}
          </ol>
          <SmallForm
            label={`New episode of season ${s.number}`}
            fields={[
              ["number", "Number", String(Math.max(0, ...s.episodes.map((e) => e.number)) + 1)],
              ["title", "Title", ""],
              ["runtime_minutes", "Minutes", ""],
              ["release_date", "Released", "", "date"],
            ]}
            submit="Add episode"
            reset
            onSubmit={(v) =>
              run(
                () =>
                  ok(
                    api.POST("/api/v1/seasons/{season_id}/episodes", {
                      params: { path: { season_id: s.id } },
                      body: { number: numOrNull(v.number) ?? 0, title: v.title ?? "", runtime_minutes: numOrNull(v.runtime_minutes), release_date: orNull(v.release_date) },
                    }),
                  ),
                "Episode added.",
              )
            }
          />
          <DeleteButton
            what={`season ${s.number}`}
            onConfirm={() =>
              void run(() => ok(api.DELETE("/api/v1/seasons/{season_id}", { params: { path: { season_id: s.id } } })).then(() => undefined), "Season deleted.")
            }
          />
        </details>
      ))}
      <SmallForm
        label="New season"
        fields={[
          ["number", "Number", String(nextSeason)],
          ["name", "Name", ""],
        ]}
        submit="Add season"
        reset
        onSubmit={(v) =>
          run(
            () => ok(api.POST("/api/v1/titles/{title_id}/seasons", { params: { path: { title_id: title.id } }, body: { number: numOrNull(v.number) ?? 0, name: orNull(v.name) } })),
            "Season added.",
          )
        }
      />
    </section>
  );
}

/** A one-line form of a few text fields (a season, an episode), labelled as a group. */
function SmallForm(props: {
  label: string;
  fields: [name: string, label: string, value: string, type?: string][];
  submit: string;
  reset?: boolean;
  onSubmit: (values: Record<string, string>) => Promise<void>;
}): JSX.Element {
  const [busy, setBusy] = useState(false);
  const labelId = `sf-${props.label.replace(/\W+/g, "-").toLowerCase()}`;
  return (
    <form
      class="inline-form small-form"
      aria-labelledby={labelId}
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const values: Record<string, string> = {};
        new FormData(form).forEach((v, k) => typeof v === "string" && (values[k] = v));
        setBusy(true);
        void props.onSubmit(values).finally(() => {
          setBusy(false);
          if (props.reset) form.reset();
        });
      }}
    >
      <span class="small-form-label" id={labelId}>
        {props.label}
      </span>
      {props.fields.map(([name, label, value, type]) => (
        <label key={name}>
          {label} <input name={name} defaultValue={value} type={type ?? "text"} autocomplete="off" />
        </label>
      ))}
      <button type="submit" class="secondary" disabled={busy}>
        {props.submit}
      </button>
    </form>
  );
}

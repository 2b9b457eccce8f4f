// Browse and search: every filter and sort of GET /titles, kept in the URL (shareable, back
// button), facet counts under the same filters, infinite scroll through the cursors, and
// search as you type with the server's "did you mean" when nothing matched.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, message, ok, type paths, type Schemas } from "../api/client";
import { Grid, toCard } from "../components/titles";
import { useLoad } from "../hooks";
import { Link, navigate, type PageProps } from "../router";
import { ErrorNote, Loading, useTitle } from "../ui";

type Query = NonNullable<paths["/api/v1/titles"]["get"]["parameters"]["query"]>;
const LISTS = ["genre", "tag", "category", "country", "age_rating"] as const;
const NUMBERS = ["person", "year_from", "year_to", "rating_from", "rating_to"] as const;
const SORTS: [string, string][] = [
  ["", "Best match / popular"],
  ["popular", "Popular"],
  ["rating", "Top rated"],
  ["newest", "Newest"],
  ["added", "Recently added"],
  ["title", "Title A–Z"],
  ["relevance", "Relevance (search)"],
];

function toQuery(url: URLSearchParams): Query {
  const q: Record<string, unknown> = {};
  if (url.get("q")) q.q = url.get("q");
  if (url.get("kind")) q.kind = url.get("kind");
  if (url.get("sort")) q.sort = url.get("sort");
  for (const name of LISTS) if (url.getAll(name).length) q[name] = url.getAll(name);
  for (const name of NUMBERS) if (url.get(name)) q[name] = Number(url.get(name));
  return q as Query;
}

function withParam(url: URLSearchParams, name: string, value: string | string[] | null): string {
  const next = new URLSearchParams(url);
  next.delete(name);
  for (const v of Array.isArray(value) ? value : value ? [value] : []) next.append(name, v);
  const s = next.toString();
  return `/browse${s ? `?${s}` : ""}`;
}

export default function Browse({ query }: PageProps): JSX.Element {
  const filters = toQuery(query);
  const key = JSON.stringify(filters);
  useTitle(filters.q ? `Search: ${filters.q}` : "Browse");
  const [items, setItems] = useState<Schemas["TitleItem"][]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [didYouMean, setDidYouMean] = useState<string[]>([]);
  const [state, setState] = useState<{ loading: boolean; error: string | null }>({ loading: true, error: null });
  const generation = useRef(0);

  const fetchPage = async (after: string | null) => {
    const mine = generation.current;
    setState({ loading: true, error: null });
    try {
      const page = await ok(api.GET("/api/v1/titles", { params: { query: { ...filters, limit: 30, ...(after ? { cursor: after } : {}) } } }));
      if (mine !== generation.current) return; // the filters changed meanwhile
      setItems((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
      setDidYouMean(page.did_you_mean ?? []);
      setState({ loading: false, error: null });
    } catch (exc) {
      if (mine === generation.current) setState({ loading: false, error: message(exc) });
    }
  };

  useEffect(() => {
    generation.current += 1;
    setItems([]);
    setCursor(null);
    void fetchPage(null);
  }, [key]);

  // Infinite scroll: the next page when the end of the list comes into view.
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor) return;
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !state.loading) void fetchPage(cursor);
    }, { rootMargin: "600px" });
    seen.observe(el);
    return () => seen.disconnect();
  }, [cursor, state.loading]);

  return (
    <div class="browse">
      <h1>{filters.q ? `Results for “${filters.q}”` : "Browse"}</h1>
      <SearchBox value={filters.q ?? ""} url={query} />
      <div class="browse-body">
        <Filters url={query} filters={filters} />
        <section aria-label="Titles" aria-busy={state.loading}>
          {didYouMean.length > 0 && items.length === 0 && (
            <p class="did-you-mean">
              Nothing found. Did you mean{" "}
              {didYouMean.map((s, i) => (
                <>
                  {i > 0 && " or "}
                  <Link href={withParam(query, "q", s)}>{s}</Link>
                </>
              ))}
              ?
            </p>
          )}
          {!state.loading && !state.error && items.length === 0 && didYouMean.length === 0 && <p class="muted">No titles match.</p>}
          <Grid titles={items.map(toCard)} />
          {state.error && <ErrorNote message={state.error} />}
          {state.loading && <Loading what={items.length ? "Loading more" : "Loading"} />}
          {cursor && !state.loading && (
            <button type="button" class="secondary load-more" onClick={() => fetchPage(cursor)}>
              Show more
            </button>
          )}
          <div ref={sentinel} aria-hidden="true" />
        </section>
      </div>
    </div>
  );
}

function SearchBox({ value, url }: { value: string; url: URLSearchParams }): JSX.Element {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const t = setTimeout(() => navigate(withParam(url, "q", text.trim() || null), { replace: true }), 250);
    return () => clearTimeout(t);
  }, [text]);
  return (
    <form role="search" class="search" onSubmit={(e) => (e.preventDefault(), navigate(withParam(url, "q", text.trim() || null), { replace: true }))}>
      <label>
        <span class="visually-hidden">Search titles, genres and people</span>
        <input type="search" name="q" value={text} placeholder="Search titles, genres, people…" onInput={(e) => setText(e.currentTarget.value)} autoComplete="off" />
      </label>
    </form>
  );
}

function Filters({ url, filters }: { url: URLSearchParams; filters: Query }): JSX.Element {
  const facetQuery = { ...filters } as Record<string, unknown>;
  delete facetQuery.sort;
  const [facets] = useLoad(() => ok(api.GET("/api/v1/titles/facets", { params: { query: facetQuery } })), [JSON.stringify(facetQuery)]);
  const [genres] = useLoad(() => ok(api.GET("/api/v1/genres")));
  const [tags] = useLoad(() => ok(api.GET("/api/v1/tags")));
  const [categories] = useLoad(() => ok(api.GET("/api/v1/categories")));
  const [countries] = useLoad(() => ok(api.GET("/api/v1/countries")));
  const set = (name: string, value: string | string[] | null) => navigate(withParam(url, name, value), { replace: true });
  const toggle = (name: string, value: string) => {
    const now = url.getAll(name);
    set(name, now.includes(value) ? now.filter((v) => v !== value) : [...now, value]);
  };
  const terms = (name: "tag" | "category", label: string, load: typeof tags) =>
    load.state === "ready" && load.data.items.length > 0 ? (
      <label>
        {label}
        <select name={name} value="" onChange={(e) => e.currentTarget.value && toggle(name, e.currentTarget.value)}>
          <option value="">Add a {label.toLowerCase()}…</option>
          {load.data.items.map((t) => (
            <option value={t.slug} key={t.slug}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
    ) : null;
  const chosen = [...LISTS].flatMap((name) => url.getAll(name).map((v) => [name, v] as const));
  return (
    <aside class="filters" aria-label="Filters">
      <label>
        Sort
        <select name="sort" value={url.get("sort") ?? ""} onChange={(e) => set("sort", e.currentTarget.value || null)}>
          {SORTS.map(([v, l]) => (
            <option value={v} key={v}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Kind</legend>
        {[
          ["", "All"],
          ["film", "Films"],
          ["series", "Series"],
        ].map(([v, l]) => (
          <label class="inline" key={v}>
            <input type="radio" name="kind" value={v} checked={(url.get("kind") ?? "") === v} onChange={() => set("kind", v || null)} /> {l}
          </label>
        ))}
      </fieldset>
      {chosen.length > 0 && (
        <ul class="chips" aria-label="Chosen filters">
          {chosen.map(([name, v]) => (
            <li key={name + v}>
              <button type="button" class="chip" onClick={() => toggle(name, v)} aria-label={`Remove ${name.replace("_", " ")} ${v}`}>
                {v} ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <fieldset>
        <legend>Genres</legend>
        {facets.state === "ready" ? (
          <ul class="facets">
            {facets.data.genres.map((g) => {
              const on = url.getAll("genre").includes(g.key);
              return (
                <li key={g.key}>
                  <button type="button" class="facet" aria-pressed={on} onClick={() => toggle("genre", g.key)}>
                    {g.name} <span class="count">{g.count}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        ) : facets.state === "error" ? (
          <ErrorNote message={facets.message} />
        ) : (
          <Loading />
        )}
        {genres.state === "ready" && url.getAll("genre").some((g) => !genres.data.items.some((t) => t.slug === g)) && (
          <p class="error">Unknown genre in the address.</p>
        )}
      </fieldset>
      <fieldset>
        <legend>Decades</legend>
        {facets.state === "ready" && (
          <ul class="facets">
            {facets.data.decades.map((d) => {
              const from = Number(d.key);
              const on = filters.year_from === from && filters.year_to === from + 9;
              return (
                <li key={d.key}>
                  <button
                    type="button"
                    class="facet"
                    aria-pressed={on}
                    onClick={() => {
                      const next = new URLSearchParams(url);
                      next.delete("year_from");
                      next.delete("year_to");
                      if (!on && Number.isFinite(from)) {
                        next.set("year_from", String(from));
                        next.set("year_to", String(from + 9));
                      }
                      navigate(`/browse?${next}`, { replace: true });
                    }}
                  >
                    {d.name} <span class="count">{d.count}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </fieldset>
      <fieldset class="pair">
        <legend>Years</legend>
        <NumberField name="year_from" label="From" url={url} min={1800} max={2200} />
        <NumberField name="year_to" label="To" url={url} min={1800} max={2200} />
      </fieldset>
      <fieldset class="pair">
        <legend>Rating</legend>
        <NumberField name="rating_from" label="At least" url={url} min={0} max={10} step={0.5} />
        <NumberField name="rating_to" label="At most" url={url} min={0} max={10} step={0.5} />
      </fieldset>
      {terms("tag", "Tag", tags)}
      {terms("category", "Category", categories)}
      {countries.state === "ready" && (
        <label>
          Country
          <select name="country" value="" onChange={(e) => e.currentTarget.value && toggle("country", e.currentTarget.value)}>
            <option value="">Add a country…</option>
            {countries.data.items.map((c) => (
              <option value={c.code} key={c.code}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Age rating
        <input
          name="age_rating"
          placeholder="e.g. PG-13, then Enter"
          maxLength={16}
          onKeyDown={(e) => {
            if (e.key === "Enter" && e.currentTarget.value.trim()) {
              e.preventDefault();
              toggle("age_rating", e.currentTarget.value.trim());
              e.currentTarget.value = "";
            }
          }}
        />
      </label>
      {url.get("person") && (
        <p>
          With one person only.{" "}
          <button type="button" class="link" onClick={() => set("person", null)}>
            Clear
          </button>
        </p>
      )}
      <p>
        <Link href="/browse">Clear all filters</Link>
      </p>
    </aside>
  );
}

function NumberField(props: { name: string; label: string; url: URLSearchParams; min: number; max: number; step?: number }): JSX.Element {
  return (
    <label>
      {props.label}
      <input
        type="number"
        name={props.name}
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        value={props.url.get(props.name) ?? ""}
        onChange={(e) => navigate(withParam(props.url, props.name, e.currentTarget.value || null), { replace: true })}
      />
    </label>
  );
}

// Title cards and rows of them, shared by home, browse, person and title pages.
import type { ComponentChildren, JSX } from "preact";
import type { Schemas } from "../api/client";
import type { Load } from "../hooks";
import { Link } from "../router";
import { ErrorNote, Loading } from "../ui";

export interface CardTitle {
  id: number;
  title: string;
  year?: number | null;
  kind?: string;
  poster_url?: string | null;
  rating_avg?: number;
  rating_count?: number;
}

export function toCard(t: Schemas["TitleItem"] | Schemas["TitleBrief"]): CardTitle {
  return t;
}

/** A poster, or (none in the catalog) a tile in a colour of its own with the name on it.
 * Width and height give the box its 2:3 shape before the image arrives (no layout shift);
 * CSS sizes it. The title page's poster is in view at once: it loads eagerly, first. */
export function Poster({ title, size = "card" }: { title: CardTitle; size?: "card" | "large" }): JSX.Element {
  if (title.poster_url) {
    const large = size === "large";
    return (
      <img
        class={`poster poster-${size}`}
        src={title.poster_url}
        alt=""
        width={large ? 400 : 200}
        height={large ? 600 : 300}
        loading={large ? "eager" : "lazy"}
        decoding="async"
        fetchpriority={large ? "high" : "auto"}
      />
    );
  }
  const hue = (title.id * 47) % 360;
  return (
    <div class={`poster poster-${size} blank`} style={{ background: `linear-gradient(160deg, hsl(${hue} 45% 32%), hsl(${(hue + 40) % 360} 50% 14%))` }} aria-hidden="true">
      <span>{title.title}</span>
    </div>
  );
}

export function TitleCard({ title, note }: { title: CardTitle; note?: ComponentChildren }): JSX.Element {
  return (
    <li class="card">
      <Link href={`/titles/${title.id}`} class="card-link">
        <Poster title={title} />
        <span class="card-title">{title.title}</span>
      </Link>
      <span class="card-meta">
        {[title.year, title.kind === "series" ? "Series" : null].filter(Boolean).join(" · ")}
        {title.rating_count ? ` · ★ ${title.rating_avg?.toFixed(1)}` : ""}
      </span>
      {note && <span class="card-note">{note}</span>}
    </li>
  );
}

/** A row's cards before they come: the same boxes, empty, so nothing below moves when they
 * arrive (Lighthouse counted the home page's rows as layout shift). */
function Placeholder(): JSX.Element {
  return (
    <>
      <Loading />
      <ul class="ghosts" aria-hidden="true">
        {[0, 1, 2, 3, 4, 5, 6, 7].map((i) => (
          <li key={i} class="ghost">
            <div class="poster" />
            <span class="card-title">&nbsp;</span>
            <span class="card-meta">&nbsp;</span>
          </li>
        ))}
      </ul>
    </>
  );
}

/** A titled horizontal row; hidden when it came back empty (nothing to show is no row). */
export function Row(props: {
  heading: string;
  load: Load<{ title: CardTitle; note?: ComponentChildren }[]>;
  more?: string;
  empty?: string;
}): JSX.Element | null {
  const { load } = props;
  if (load.state === "ready" && load.data.length === 0 && !props.empty) return null;
  const id = `row-${props.heading.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <section class="row" aria-labelledby={id}>
      <h2 id={id}>
        {props.heading}
        {props.more && (
          <Link href={props.more} class="more">
            See all<span class="visually-hidden"> {props.heading}</span>
          </Link>
        )}
      </h2>
      {load.state === "loading" && <Placeholder />}
      {load.state === "error" && <ErrorNote message={load.message} />}
      {load.state === "ready" &&
        (load.data.length === 0 ? (
          <p class="muted">{props.empty}</p>
        ) : (
          <ul class="cards">
            {load.data.map((c) => (
              <TitleCard key={c.title.id} title={c.title} note={c.note} />
            ))}
          </ul>
        ))}
    </section>
  );
}

export function Grid({ titles }: { titles: CardTitle[] }): JSX.Element {
  return (
    <ul class="grid">
      {titles.map((t) => (
        <TitleCard key={t.id} title={t} />
      ))}
    </ul>
  );
}

/** Arrow keys move focus between cards (the 10-foot way: a remote has arrows and OK):
 * left and right along a row or grid line, up and down to the nearest card of the row above
 * or below. Only when a card has focus; anything else keeps its keys. */
export function moveAmongCards(e: KeyboardEvent): void {
  if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  const here = document.activeElement;
  if (!(here instanceof HTMLElement) || !here.classList.contains("card-link")) return;
  const card = here.closest(".card");
  let target: HTMLElement | null | undefined;
  if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
    const next = e.key === "ArrowRight" ? card?.nextElementSibling : card?.previousElementSibling;
    target = next?.querySelector<HTMLElement>(".card-link");
  } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    const from = here.getBoundingClientRect();
    const down = e.key === "ArrowDown";
    let best = Infinity;
    for (const other of document.querySelectorAll<HTMLElement>(".card-link")) {
      const r = other.getBoundingClientRect();
      const dy = down ? r.top - from.bottom : from.top - r.bottom;
      if (dy < -1 || r.width === 0) continue;
      const score = dy * 4 + Math.abs(r.left - from.left);
      if (score < best) [best, target] = [score, other];
    }
  } else return;
  if (!target) return;
  e.preventDefault();
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: "nearest", inline: "nearest", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
}

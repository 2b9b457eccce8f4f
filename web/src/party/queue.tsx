// The party's queue: what is up next (and when), the items in order with who proposed them;
// whoever controls playback accepts, orders (drag and drop, or Alt+↑/↓ and the move buttons
// from the keyboard) and removes; others propose and may withdraw their own. Finding a film
// to add uses the catalog's search.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { request } from "../api/socket";
import { useMediaName } from "./names";
import type { Act } from "./room";

type State = Schemas["PartyStateOut"];
type Item = Schemas["QueueItemOut"];

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function MediaLabel({ media }: { media: Schemas["MediaOut"] }): JSX.Element {
  const name = useMediaName(media);
  return <span class="media-name">{name || "…"}</span>;
}

export function UpNext({ state, serverNow }: { state: State; serverNow: () => number }): JSX.Element | null {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  const name = useMediaName(state.up_next);
  if (!state.up_next) return null;
  const left = state.ends_at_ms != null && state.playing ? state.ends_at_ms - serverNow() : null;
  return (
    <p class="up-next" aria-live="polite">
      Up next: <strong>{name || "…"}</strong>
      {left != null && left > 0 && <span class="muted"> in {clock(left)}</span>}
    </p>
  );
}

export function Queue({
  state,
  me,
  controls,
  names,
  act,
}: {
  state: State;
  me: string | undefined;
  controls: boolean;
  names: Record<string, string>;
  act: Act;
}): JSX.Element {
  const queue = state.queue ?? [];
  const party_id = state.party_id;
  const [dragging, setDragging] = useState<number | null>(null);
  const move = (item: Item, index: number) => {
    if (index < 0 || index >= queue.length || queue[index]?.id === item.id) return;
    act(request("party:queue_move", { party_id, item_id: item.id, index }));
  };
  const focusItem = (id: number) => requestAnimationFrame(() => document.getElementById(`queue-item-${id}`)?.focus());
  return (
    <section aria-labelledby="queue-heading">
      <h2 id="queue-heading">Queue</h2>
      {queue.length === 0 && <p class="muted">Nothing queued{state.media.kind === "episode" && state.autoplay ? " (the next episode follows)" : ""}.</p>}
      <ol class="party-queue">
        {queue.map((q, i) => {
          const mine = q.added_by === me;
          return (
            <li
              key={q.id}
              id={`queue-item-${q.id}`}
              tabIndex={controls ? 0 : undefined}
              draggable={controls}
              class={dragging === q.id ? "dragging" : undefined}
              aria-label={controls ? `Queue item ${i + 1}; Alt+Up or Alt+Down moves it` : undefined}
              onDragStart={(e) => {
                setDragging(q.id);
                e.dataTransfer?.setData("text/plain", String(q.id));
              }}
              onDragEnd={() => setDragging(null)}
              onDragOver={(e) => controls && e.preventDefault()}
              onDrop={(e) => {
                e.preventDefault();
                const id = Number(e.dataTransfer?.getData("text/plain"));
                const item = queue.find((x) => x.id === id);
                setDragging(null);
                if (item) move(item, i);
              }}
              onKeyDown={(e) => {
                if (!controls || !e.altKey || e.target !== e.currentTarget) return;
                if (e.key === "ArrowUp" || e.key === "ArrowDown") {
                  e.preventDefault();
                  move(q, e.key === "ArrowUp" ? i - 1 : i + 1);
                  focusItem(q.id);
                }
              }}
            >
              <MediaLabel media={q.media} />
              {!q.accepted && <span class="muted"> · proposed by {names[q.added_by] ?? "a member"}</span>}
              <span class="queue-actions">
                {controls && !q.accepted && (
                  <button type="button" class="secondary" onClick={() => act(request("party:queue_accept", { party_id, item_id: q.id }))}>
                    Accept
                  </button>
                )}
                {controls && i > 0 && (
                  <button type="button" class="secondary" aria-label="Move up" onClick={() => move(q, i - 1)}>
                    ↑
                  </button>
                )}
                {controls && i < queue.length - 1 && (
                  <button type="button" class="secondary" aria-label="Move down" onClick={() => move(q, i + 1)}>
                    ↓
                  </button>
                )}
                {(controls || (mine && !q.accepted)) && (
                  <button type="button" class="secondary" onClick={() => act(request("party:queue_remove", { party_id, item_id: q.id }))}>
                    Remove
                  </button>
                )}
              </span>
            </li>
          );
        })}
      </ol>
      {controls && state.media.kind === "episode" && (
        <label class="check">
          <input
            type="checkbox"
            checked={state.autoplay ?? true}
            onChange={(e) => act(request("party:autoplay", { party_id, enabled: (e.target as HTMLInputElement).checked }))}
          />{" "}
          Go on with the next episode when the queue is empty
        </label>
      )}
      {controls && (state.up_next || queue.length > 0) && (
        <button type="button" class="secondary" onClick={() => act(request("party:next", { party_id }))}>
          Play next now
        </button>
      )}
      <FindFilm controls={controls} onPick={(id) => act(request("party:queue_add", { party_id, items: [{ title_id: id }] }), controls ? "Added to the queue." : "Proposed.")} />
      <AddPlaylist
        controls={controls}
        onPick={(id) => act(request("party:queue_add", { party_id, playlist_id: id }), controls ? "The playlist is in the queue." : "The playlist is proposed.")}
      />
    </section>
  );
}

function FindFilm({ controls, onPick }: { controls: boolean; onPick: (titleId: number) => void }): JSX.Element {
  const [q, setQ] = useState("");
  const [found, setFound] = useState<{ id: number; title: string; year?: number | null }[]>([]);
  useEffect(() => {
    const text = q.trim();
    if (text.length < 2) return setFound([]);
    let live = true;
    const t = setTimeout(() => {
      void ok(api.GET("/api/v1/titles", { params: { query: { q: text, limit: 5 } } })).then(
        (page) => live && setFound(page.items.map((t) => ({ id: t.id, title: t.title, year: t.year }))),
        () => live && setFound([]),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [q]);
  const verb = controls ? "Add" : "Propose";
  return (
    <div class="find-film">
      <label>
        {controls ? "Add a film" : "Propose a film"}{" "}
        <input type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} placeholder="Search the catalog" />
      </label>
      <ul class="found">
        {found.map((t) => (
          <li key={t.id}>
            {t.title}
            {t.year ? ` (${t.year})` : ""}{" "}
            <button
              type="button"
              class="secondary"
              aria-label={`${verb} ${t.title}`}
              onClick={() => {
                onPick(t.id);
                setQ("");
              }}
            >
              {verb}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** One of my playlists (or one shared with me), appended at once in its order. */
function AddPlaylist({ controls, onPick }: { controls: boolean; onPick: (playlistId: number) => void }): JSX.Element | null {
  const [lists, setLists] = useState<{ id: number; name: string; item_count: number }[]>([]);
  useEffect(() => {
    let live = true;
    void Promise.all([
      ok(api.GET("/api/v1/playlists", { params: { query: { limit: 100 } } })),
      ok(api.GET("/api/v1/playlists/shared-with-me", { params: { query: { limit: 100 } } })),
    ]).then(
      ([mine, shared]) => live && setLists([...mine.items, ...shared.items].filter((p) => p.item_count > 0)),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  if (lists.length === 0) return null;
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        const id = Number(new FormData(e.currentTarget).get("playlist"));
        if (id > 0) onPick(id);
      }}
    >
      <label class="grow">
        {controls ? "Add a playlist" : "Propose a playlist"}{" "}
        <select name="playlist">
          {lists.map((p) => (
            <option key={p.id} value={String(p.id)}>
              {p.name} ({p.item_count})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" class="secondary">
        {controls ? "Add all" : "Propose all"}
      </button>
    </form>
  );
}

// One back-office list over a cursor API (titles, people, collections, media, users, the
// audit log, the moderation queue): what the filters find, page by page (Previous / Next, the
// cursors kept here) or growing under a "More …" button; loading, the server's error and the
// empty answer shown the same way everywhere. A change of filters starts again from the top,
// and an answer overtaken by a newer request or a local change is dropped.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { message } from "../../api/client";
import { ErrorNote, Loading } from "../../ui";

export type Page<T> = { items: T[]; next_cursor?: string | null };
/** "pages": one page at a time with a pager; "more": older pages appended under a button. */
export type ListMode = "pages" | "more";

export type AdminListState<T> = {
  mode: ListMode;
  items: T[];
  next: string | null;
  page: number;
  loading: boolean;
  error: string | null;
  /** Items from the latest answer are there to show (false before the first, after an error). */
  shown: boolean;
  nextPage: () => void;
  prevPage: () => void;
  more: () => void;
  /** Ask again for what is shown (the current page; in "more" mode, from the top). */
  reload: () => void;
  /** A local change (a live event): answers in flight are dropped, not applied over it. */
  setItems: (items: T[]) => void;
};

type Data<T> = { items: T[]; next: string | null; loading: boolean; error: string | null; shown: boolean };

/** Changes each time one of `deps` does (compared as hooks compare them). */
function useEpoch(deps: unknown[]): number {
  const seen = useRef<{ deps: unknown[]; epoch: number }>({ deps, epoch: 0 });
  const prev = seen.current.deps;
  if (deps.length !== prev.length || deps.some((d, i) => !Object.is(d, prev[i]))) {
    seen.current = { deps, epoch: seen.current.epoch + 1 };
  }
  return seen.current.epoch;
}

export function useAdminList<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>, deps: unknown[], mode: ListMode = "pages"): AdminListState<T> {
  const epoch = useEpoch(deps);
  // The cursors of the pages before the one shown ("pages" mode), for the filters they were
  // found with.
  const [trail, setTrail] = useState<{ epoch: number; cursors: string[] }>({ epoch, cursors: [] });
  const cursors = trail.epoch === epoch ? trail.cursors : [];
  const cursor = cursors.length ? cursors[cursors.length - 1] : undefined;
  const [round, setRound] = useState(0);
  const [data, setData] = useState<Data<T>>({ items: [], next: null, loading: true, error: null, shown: false });
  const generation = useRef(0);
  const run = (after: string | undefined, append: boolean): (() => void) => {
    const mine = ++generation.current;
    setData((d) => ({ ...d, loading: true, error: null }));
    fetchPage(after).then(
      (page) =>
        mine === generation.current &&
        setData((d) => ({ items: append ? [...d.items, ...page.items] : page.items, next: page.next_cursor ?? null, loading: false, error: null, shown: true })),
      (exc: unknown) => mine === generation.current && setData((d) => ({ ...d, loading: false, error: message(exc), shown: false })),
    );
    return () => {
      if (generation.current === mine) generation.current++;
    };
  };
  useEffect(() => run(mode === "pages" ? cursor : undefined, false), [epoch, cursor, round]);
  return {
    mode,
    ...data,
    page: cursors.length + 1,
    nextPage: () => data.next && setTrail({ epoch, cursors: [...cursors, data.next] }),
    prevPage: () => setTrail({ epoch, cursors: cursors.slice(0, -1) }),
    more: () => void (data.next && run(data.next, true)),
    reload: () => setRound((r) => r + 1),
    setItems: (items) => {
      generation.current++;
      setData((d) => ({ ...d, items, loading: false }));
    },
  };
}

export function Pager(props: { page: number; nextCursor: string | null | undefined; onNext: () => void; onPrev: () => void }): JSX.Element {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled={props.page === 1} onClick={props.onPrev}>
        Previous page
      </button>
      <span aria-live="polite">Page {props.page}</span>
      <button type="button" class="secondary" disabled={!props.nextCursor} onClick={props.onNext}>
        Next page
      </button>
    </nav>
  );
}

/**
 * The list `children` draws from the items, with what goes around it: in "pages" mode the
 * loading note until the first answer, the error in its place, and the pager; in "more" mode
 * the error above, the items found so far, the loading note under them and the `more` button.
 * `empty` is what an answer with nothing says.
 */
export function AdminList<T>(props: {
  list: AdminListState<T>;
  empty: ComponentChildren;
  loading?: string;
  more?: string;
  children: (items: T[]) => ComponentChildren;
}): JSX.Element {
  const { list } = props;
  if (list.mode === "pages") {
    if (list.error !== null) return <ErrorNote message={list.error} />;
    if (!list.shown) return <Loading what={props.loading} />;
    return (
      <>
        {list.items.length === 0 ? props.empty : props.children(list.items)}
        <Pager page={list.page} nextCursor={list.next} onNext={list.nextPage} onPrev={list.prevPage} />
      </>
    );
  }
  return (
    <>
      {list.error !== null && <ErrorNote message={list.error} />}
      {props.children(list.items)}
      {list.loading && <Loading what={props.loading} />}
      {!list.loading && list.error === null && list.items.length === 0 && props.empty}
      {list.next && !list.loading && (
        <button type="button" class="secondary" onClick={list.more}>
          {props.more ?? "More"}
        </button>
      )}
    </>
  );
}

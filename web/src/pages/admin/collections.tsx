// Back office, the editors' collections: the list, a new one, and one collection's editor
// (name, slug, description, and its titles in order: add from a search, move, note, remove;
// saving sends the whole ordered list, as PATCH /collections/{ref} takes it), and delete.
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { Link, navigate, type PageProps } from "../../router";
import { ErrorNote, Loaded, Status, useTitle } from "../../ui";
import { DeleteButton, Field, FormError, type Refusal, orNull, refusal } from "./forms";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";

type Detail = Schemas["CollectionDetail"];
type Item = { title: { id: number; title: string; year: number | null }; note: string };

export default function CollectionList(): JSX.Element {
  useTitle("Collections · Back office");
  const list = useAdminList((cursor) => ok(api.GET("/api/v1/collections", { params: { query: { limit: 30, cursor } } })), []);
  return (
    <AdminLayout title="Collections">
      <p>
        <Link href="/admin/collections/new" class="button">
          New collection
        </Link>
      </p>
      <AdminList list={list} empty={<p>No collections yet.</p>}>
        {(items) => (
          <ul class="admin-list">
            {items.map((c) => (
              <li key={c.id}>
                <Link href={`/admin/collections/${c.id}`}>{c.name}</Link>
                <span class="muted">/{c.slug}</span>
              </li>
            ))}
          </ul>
        )}
      </AdminList>
    </AdminLayout>
  );
}

export function CollectionEditor({ params }: PageProps): JSX.Element {
  const isNew = params.ref === undefined;
  const [detail, , setDetail] = useLoad<Detail | null>(
    () => (isNew ? Promise.resolve(null) : ok(api.GET("/api/v1/collections/{ref}", { params: { path: { ref: params.ref } } }))),
    [params.ref],
  );
  const heading = isNew ? "New collection" : detail.state === "ready" && detail.data ? `Edit “${detail.data.name}”` : "Edit collection";
  useTitle(`${heading} · Back office`);
  return (
    <AdminLayout title={heading}>
      <p>
        <Link href="/admin/collections">← All collections</Link>
      </p>
      <Loaded load={detail}>{(c) => <CollectionForm key={c?.id ?? "new"} collection={c} onSaved={setDetail} />}</Loaded>
    </AdminLayout>
  );
}

function CollectionForm({ collection: c, onSaved }: { collection: Detail | null; onSaved: (c: Detail) => void }): JSX.Element {
  const [name, setName] = useState(c?.name ?? "");
  const [slug, setSlug] = useState(c?.slug ?? "");
  const [description, setDescription] = useState(c?.description ?? "");
  const [items, setItems] = useState<Item[]>(() => c?.items.map((i) => ({ title: i.title, note: i.note ?? "" })) ?? []);
  const [refused, setRefused] = useState<Refusal>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    const body = {
      name,
      slug: orNull(slug),
      description: orNull(description),
      items: items.map((i) => ({ title_id: i.title.id, note: orNull(i.note) })),
    };
    try {
      const saved = c
        ? await ok(api.PATCH("/api/v1/collections/{ref}", { params: { path: { ref: String(c.id) } }, body: { ...body, slug: body.slug ?? c.slug } }))
        : await ok(api.POST("/api/v1/collections", { body }));
      setRefused(null);
      if (c) {
        onSaved(saved);
        setNote({ ok: true, text: "Saved." });
      } else {
        navigate(`/admin/collections/${saved.id}`);
      }
    } catch (exc) {
      setRefused(refusal(exc));
      setNote(null);
    }
  };
  const move = (i: number, by: number) => {
    const next = [...items];
    const [x] = next.splice(i, 1);
    next.splice(i + by, 0, x);
    setItems(next);
  };
  return (
    <>
      <form class="admin-form" onSubmit={save} aria-labelledby="admin-title">
        <FormError refused={refused} />
        {c && (
          <p>
            <Link href={`/collections/${c.slug}`}>Public page</Link>
          </p>
        )}
        <Field name="name" label="Name" refused={refused}>
          {(a) => <input {...a} value={name} onInput={(e) => setName(e.currentTarget.value)} autocomplete="off" />}
        </Field>
        <Field name="slug" label="Slug" refused={refused} hint="The public address /collections/<slug>; made from the name when empty">
          {(a) => <input {...a} value={slug} onInput={(e) => setSlug(e.currentTarget.value)} autocomplete="off" />}
        </Field>
        <Field name="description" label="Description" refused={refused}>
          {(a) => <textarea {...a} value={description} onInput={(e) => setDescription(e.currentTarget.value)} rows={3} />}
        </Field>
        <fieldset class={refused?.fields.items ? "invalid" : undefined}>
          <legend>Titles, in order</legend>
          {items.length === 0 && <p class="muted">No titles yet: find one below.</p>}
          <ol class="admin-list">
            {items.map((it, i) => (
              <li key={it.title.id}>
                <span class="grow">
                  {i + 1}. <strong>{it.title.title}</strong> {it.title.year ? <span class="muted">({it.title.year})</span> : null}
                </span>
                <label class="inline">
                  <span class="visually-hidden">Note on {it.title.title}</span>
                  <input value={it.note} placeholder="Note" onInput={(e) => setItems(items.map((x, j) => (j === i ? { ...x, note: e.currentTarget.value } : x)))} />
                </label>
                <button type="button" class="secondary" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move ${it.title.title} up`}>
                  ↑
                </button>
                <button type="button" class="secondary" disabled={i === items.length - 1} onClick={() => move(i, 1)} aria-label={`Move ${it.title.title} down`}>
                  ↓
                </button>
                <button type="button" class="secondary" onClick={() => setItems(items.filter((_, j) => j !== i))} aria-label={`Remove ${it.title.title}`}>
                  Remove
                </button>
              </li>
            ))}
          </ol>
          {refused?.fields.items && <small class="field-error">{refused.fields.items}</small>}
          <TitlePicker chosen={items.map((i) => i.title.id)} onPick={(t) => setItems([...items, { title: t, note: "" }])} />
        </fieldset>
        <button type="submit">{c ? "Save changes" : "Create collection"}</button>
        <Status status={note} />
      </form>
      {c && (
        <section class="admin-block" aria-labelledby="danger-h">
          <h2 id="danger-h">Delete</h2>
          <p class="muted">Its titles stay in the catalog.</p>
          <DeleteButton
            what="this collection"
            onConfirm={() =>
              void ok(api.DELETE("/api/v1/collections/{ref}", { params: { path: { ref: String(c.id) } } })).then(
                () => navigate("/admin/collections"),
                (exc: unknown) => setDeleteError(message(exc)),
              )
            }
          />
          {deleteError && <ErrorNote message={deleteError} />}
        </section>
      )}
    </>
  );
}

/** Find a title by search and add it (titles already in the list are not offered). */
export function TitlePicker({ chosen, onPick, label = "Find a title to add" }: { chosen: number[]; onPick: (t: Item["title"]) => void; label?: string }): JSX.Element {
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Schemas["TitleItem"][] | null>(null);
  useEffect(() => {
    const term = q.trim();
    if (!term) return setFound(null);
    const timer = setTimeout(() => {
      void ok(api.GET("/api/v1/titles", { params: { query: { q: term, limit: 8 } } })).then(
        (p) => setFound(p.items),
        () => setFound([]),
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [q]);
  const offered = found?.filter((t) => !chosen.includes(t.id)) ?? null;
  return (
    <div class="picker">
      <label>
        {label}
        <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} autocomplete="off" />
      </label>
      {offered && offered.length === 0 && <p class="muted">No title found.</p>}
      {offered && offered.length > 0 && (
        <ul class="chips" aria-label="Titles found">
          {offered.map((t) => (
            <li key={t.id}>
              <button
                type="button"
                class="chip"
                onClick={() => {
                  onPick({ id: t.id, title: t.title, year: t.year });
                  setQ("");
                }}
              >
                Add {t.title}
                {t.year ? ` (${t.year})` : ""}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

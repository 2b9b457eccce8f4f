// Back office, genres (and the catalog's other vocabularies, tags and categories, which the
// same API shape serves): list, add, rename or change the slug, delete (titles lose it).
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { Link, type PageProps } from "../../router";
import { Loaded, Status, useTitle } from "../../ui";
import { DeleteButton, Field, FormError, type Refusal, orNull, refusal } from "./forms";
import { AdminLayout } from "./layout";

type Term = Schemas["Term"];
type Kind = "genres" | "tags" | "categories";
const KINDS: [Kind, string, string][] = [
  ["genres", "Genres", "genre"],
  ["tags", "Tags", "tag"],
  ["categories", "Categories", "category"],
];

// One typed call per vocabulary: the paths differ only by their first part.
const calls = {
  list: (k: Kind) => ok(api.GET(`/api/v1/${k}` as "/api/v1/genres")),
  create: (k: Kind, body: Schemas["TermIn"]) => ok(api.POST(`/api/v1/${k}` as "/api/v1/genres", { body })),
  update: (k: Kind, id: number, body: Schemas["TermPatch"]) =>
    ok(api.PATCH(`/api/v1/${k}/{term_id}` as "/api/v1/genres/{term_id}", { params: { path: { term_id: id } }, body })),
  remove: (k: Kind, id: number) => ok(api.DELETE(`/api/v1/${k}/{term_id}` as "/api/v1/genres/{term_id}", { params: { path: { term_id: id } } })),
};

export default function Terms({ query }: PageProps): JSX.Element {
  const kind = (KINDS.find(([k]) => k === query.get("kind"))?.[0] ?? "genres") as Kind;
  const [, plural, one] = KINDS.find(([k]) => k === kind)!;
  useTitle(`${plural} · Back office`);
  const [list, reload] = useLoad(() => calls.list(kind).then((p) => p.items), [kind]);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [refused, setRefused] = useState<Refusal>(null);
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const add = async (e: Event) => {
    e.preventDefault();
    try {
      const t = await calls.create(kind, { name, slug: orNull(slug) });
      setRefused(null);
      setName("");
      setSlug("");
      setNote({ ok: true, text: `Added ${t.name}.` });
      reload();
    } catch (exc) {
      setRefused(refusal(exc));
    }
  };
  return (
    <AdminLayout title={plural}>
      <nav class="tabs" aria-label="Vocabularies">
        {KINDS.map(([k, label]) => (
          <Link key={k} href={k === "genres" ? "/admin/genres" : `/admin/genres?kind=${k}`} class="tag" aria-current={k === kind ? "page" : undefined}>
            {label}
          </Link>
        ))}
      </nav>
      <Status status={note} />
      <form class="admin-form" onSubmit={add} aria-label={`New ${one}`}>
        <h2>New {one}</h2>
        <FormError refused={refused} />
        <div class="field-row">
          <Field name="name" label="Name" refused={refused}>
            {(a) => <input {...a} value={name} onInput={(e) => setName(e.currentTarget.value)} autocomplete="off" />}
          </Field>
          <Field name="slug" label="Slug" refused={refused} hint="Made from the name when empty">
            {(a) => <input {...a} value={slug} onInput={(e) => setSlug(e.currentTarget.value)} autocomplete="off" />}
          </Field>
        </div>
        <button type="submit">Add {one}</button>
      </form>
      <h2>
        All {plural.toLowerCase()}
        {list.state === "ready" ? ` (${list.data.length})` : ""}
      </h2>
      <Loaded load={list}>
        {(items) => (
          <ul class="admin-list">
            {items.length === 0 && <li>None yet.</li>}
            {items.map((t) => (
              <TermRow key={t.id} kind={kind} one={one} term={t} onChange={(text) => (setNote({ ok: true, text }), reload())} />
            ))}
          </ul>
        )}
      </Loaded>
    </AdminLayout>
  );
}

function TermRow({ kind, one, term, onChange }: { kind: Kind; one: string; term: Term; onChange: (text: string) => void }): JSX.Element {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(term.name);
  const [slug, setSlug] = useState(term.slug);
  const [refused, setRefused] = useState<Refusal>(null);
  const run = async (fn: () => Promise<unknown>, done: string) => {
    try {
      await fn();
      setRefused(null);
      setEditing(false);
      onChange(done);
    } catch (exc) {
      setRefused(refusal(exc));
    }
  };
  if (!editing) {
    return (
      <li>
        <span class="grow">
          <strong>{term.name}</strong> <span class="muted">{term.slug}</span>
        </span>
        <button type="button" class="secondary" onClick={() => setEditing(true)} aria-label={`Edit ${term.name}`}>
          Edit
        </button>
        <DeleteButton what={term.name} onConfirm={() => void run(() => calls.remove(kind, term.id), `Deleted ${term.name}.`)} />
        {refused && <small class="field-error">{refused.text}</small>}
      </li>
    );
  }
  return (
    <li>
      <form
        class="inline-form"
        aria-label={`Edit ${one} ${term.name}`}
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => calls.update(kind, term.id, { name, slug }), `Saved ${name}.`);
        }}
      >
        <FormError refused={refused} />
        <Field name="name" label="Name" refused={refused} id={`f-name-${term.id}`}>
          {(a) => <input {...a} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field name="slug" label="Slug" refused={refused} id={`f-slug-${term.id}`}>
          {(a) => <input {...a} value={slug} onInput={(e) => setSlug(e.currentTarget.value)} />}
        </Field>
        <button type="submit">Save</button>
        <button type="button" class="secondary" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </form>
    </li>
  );
}

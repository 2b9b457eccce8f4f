// Back office, people: the list (closest names to a search, pages), a new person, one
// person's editor (name, bio, birth date, photo) with their filmography, and delete (their
// credits go with them).
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { Link, navigate, type PageProps } from "../../router";
import { ErrorNote, Loaded, Status, useTitle } from "../../ui";
import { DeleteButton, Field, FormError, type Refusal, orNull, refusal } from "./forms";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";

type Person = Schemas["PersonDetail"];

export default function PeopleList(): JSX.Element {
  useTitle("People · Back office");
  const [q, setQ] = useState("");
  const list = useAdminList((cursor) => ok(api.GET("/api/v1/people", { params: { query: { q: q.trim() || undefined, limit: 30, cursor } } })), [q]);
  return (
    <AdminLayout title="People">
      <p>
        <Link href="/admin/people/new" class="button">
          New person
        </Link>
      </p>
      <form class="admin-filters" role="search" aria-label="People" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search by name
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
      </form>
      <AdminList list={list} empty={<p>Nobody matches.</p>}>
        {(items) => (
          <ul class="admin-list">
            {items.map((p) => (
              <li key={p.id}>
                <Link href={`/admin/people/${p.id}`}>{p.name}</Link>
                <span class="muted">{p.birth_date ? `born ${p.birth_date}` : ""}</span>
              </li>
            ))}
          </ul>
        )}
      </AdminList>
    </AdminLayout>
  );
}

export function PersonEditor({ params }: PageProps): JSX.Element {
  const isNew = params.id === undefined;
  const id = Number(params.id);
  const [detail, , setDetail] = useLoad<Person | null>(
    () => (isNew ? Promise.resolve(null) : ok(api.GET("/api/v1/people/{person_id}", { params: { path: { person_id: id } } }))),
    [params.id],
  );
  const heading = isNew ? "New person" : detail.state === "ready" && detail.data ? `Edit ${detail.data.name}` : "Edit person";
  useTitle(`${heading} · Back office`);
  return (
    <AdminLayout title={heading}>
      <p>
        <Link href="/admin/people">← All people</Link>
      </p>
      <Loaded load={detail}>{(p) => <PersonForm key={p?.id ?? "new"} person={p} onSaved={setDetail} />}</Loaded>
    </AdminLayout>
  );
}

function PersonForm({ person, onSaved }: { person: Person | null; onSaved: (p: Person) => void }): JSX.Element {
  const [d, setD] = useState({
    name: person?.name ?? "",
    bio: person?.bio ?? "",
    birth_date: person?.birth_date ?? "",
    photo_url: person?.photo_url ?? "",
  });
  const [refused, setRefused] = useState<Refusal>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const text = (k: keyof typeof d) => ({
    value: d[k],
    onInput: (e: JSX.TargetedEvent<HTMLInputElement | HTMLTextAreaElement>) => setD({ ...d, [k]: e.currentTarget.value }),
  });
  const save = async (e: Event) => {
    e.preventDefault();
    const body = { name: d.name, bio: orNull(d.bio), birth_date: orNull(d.birth_date), photo_url: orNull(d.photo_url) };
    try {
      const saved = person
        ? await ok(api.PATCH("/api/v1/people/{person_id}", { params: { path: { person_id: person.id } }, body }))
        : await ok(api.POST("/api/v1/people", { body }));
      setRefused(null);
      if (person) {
        onSaved(saved);
        setNote({ ok: true, text: "Saved." });
      } else {
        navigate(`/admin/people/${saved.id}`);
      }
    } catch (exc) {
      setRefused(refusal(exc));
      setNote(null);
    }
  };
  return (
    <>
      <form class="admin-form" onSubmit={save} aria-labelledby="admin-title">
        <FormError refused={refused} />
        {person && (
          <p>
            <Link href={`/people/${person.id}`}>Public page</Link>
          </p>
        )}
        <Field name="name" label="Name" refused={refused}>
          {(a) => <input {...a} {...text("name")} autocomplete="off" />}
        </Field>
        <Field name="birth_date" label="Born" refused={refused}>
          {(a) => <input {...a} {...text("birth_date")} type="date" />}
        </Field>
        <Field name="photo_url" label="Photo URL" refused={refused}>
          {(a) => <input {...a} {...text("photo_url")} type="url" autocomplete="off" />}
        </Field>
        <Field name="bio" label="Biography" refused={refused}>
          {(a) => <textarea {...a} {...text("bio")} rows={6} />}
        </Field>
        <button type="submit">{person ? "Save changes" : "Create person"}</button>
        <Status status={note} />
      </form>
      {person && (
        <>
          <section class="admin-block" aria-labelledby="films-h">
            <h2 id="films-h">Filmography</h2>
            {person.filmography.length === 0 && <p class="muted">No credits. Credit people from a title’s editor.</p>}
            <ul class="admin-list">
              {person.filmography.map((f, i) => (
                <li key={`${f.title.id}-${f.role}-${i}`}>
                  <Link href={`/admin/titles/${f.title.id}`}>{f.title.title}</Link>
                  <span class="muted">
                    {f.role}
                    {f.character ? ` (${f.character})` : ""}
                  </span>
                </li>
              ))}
            </ul>
          </section>
          <section class="admin-block" aria-labelledby="danger-h">
            <h2 id="danger-h">Delete</h2>
            <DeleteButton
              what={person.name}
              onConfirm={() =>
                void ok(api.DELETE("/api/v1/people/{person_id}", { params: { path: { person_id: person.id } } })).then(
                  () => navigate("/admin/people"),
                  (exc: unknown) => setDeleteError(message(exc)),
                )
              }
            />
            {deleteError && <ErrorNote message={deleteError} />}
          </section>
        </>
      )}
    </>
  );
}

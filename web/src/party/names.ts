// Names for ids the party's state carries (members, the media, queue items), each asked of the
// public API once per page load and shared by every view that shows it.
import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";

type Media = Schemas["MediaOut"];
const users = new Map<string, Promise<string>>();
const titles = new Map<number, Promise<string>>();

export function userName(id: string): Promise<string> {
  let known = users.get(id);
  if (!known) {
    known = ok(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })).then(
      (u) => u.display_name || u.username,
      () => "someone",
    );
    users.set(id, known);
  }
  return known;
}

export function mediaName(m: Media): Promise<string> {
  if (m.kind === "episode") return Promise.resolve(`Episode #${m.id}`);
  let known = titles.get(m.id);
  if (!known) {
    known = ok(api.GET("/api/v1/titles/{title_id}", { params: { path: { title_id: m.id } } })).then(
      (t) => t.title,
      () => `Film #${m.id}`,
    );
    titles.set(m.id, known);
  }
  return known;
}

/** Names of users by id, filled in as they arrive (`…` until then). */
export function useNames(ids: string[]): Record<string, string> {
  const [names, setNames] = useState<Record<string, string>>({});
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    let live = true;
    for (const id of new Set(ids)) {
      if (names[id]) continue;
      void userName(id).then((n) => live && setNames((have) => ({ ...have, [id]: n })));
    }
    return () => {
      live = false;
    };
  }, [key]);
  return names;
}

/** The name of a title (episodes by number), once known. */
export function useMediaName(m: Media | null | undefined): string {
  const [name, setName] = useState("");
  const key = m ? `${m.kind}:${m.id}` : "";
  useEffect(() => {
    if (!m) return setName("");
    let live = true;
    setName("");
    void mediaName(m).then((n) => live && setName(n));
    return () => {
      live = false;
    };
  }, [key]);
  return name;
}

// Back office, media: every film's and episode's media with its transcode state (filter by
// state, pages), and one item's media: upload a source from the browser (PUT …/media/source,
// the file as the body, with the upload's own progress), and "Play" once it is ready. Both
// follow transcodes as they happen from the `media:ingest` socket event (sent to every
// editor's and admin's sockets, whoever uploaded; read again over HTTP after a reconnect).
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, message, ok, type Schemas } from "../../api/client";
import { accessToken } from "../../api/session";
import { useOnConnect, useServerEvent } from "../../api/socket";
import { useLoad } from "../../hooks";
import { Link, navigate, type PageProps } from "../../router";
import { ErrorNote, Loading, Status, useTitle } from "../../ui";
import { AdminLayout } from "./layout";
import { AdminList, useAdminList } from "./list";
import { TitlePicker } from "./collections";

type Asset = Schemas["MediaAssetOut"];
type State = Schemas["MediaStatus"];
type Ingest = { asset_id: number; title_id: number | null; episode_id: number | null; status: State; progress: number; error?: string | null };

const STATES: [State | "", string][] = [
  ["", "Any"],
  ["queued", "Queued"],
  ["processing", "Transcoding"],
  ["ready", "Ready"],
  ["failed", "Failed"],
];

function percent(p: number): string {
  return `${Math.round(p * 100)} %`;
}

function size(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

function duration(ms: number | null): string {
  if (ms == null) return "—";
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The transcode's state in words and a bar. */
function Progress({ status, progress, error }: { status: State; progress: number; error?: string | null }): JSX.Element {
  const words = { queued: "Queued", processing: `Transcoding ${percent(progress)}`, ready: "Ready", failed: "Failed" }[status];
  return (
    <span class={`media-state ${status}`}>
      <progress max={1} value={status === "ready" ? 1 : progress} aria-label="Transcode progress" />{" "}
      <span class="media-state-text">{words}</span>
      {status === "failed" && error && <small class="field-error">{error}</small>}
    </span>
  );
}

// ---- every item's media --------------------------------------------------------------------

export default function MediaList({ query }: PageProps): JSX.Element {
  useTitle("Media · Back office");
  const [status, setStatus] = useState<State | "">((query.get("status") as State | null) ?? "");
  const list = useAdminList(
    (cursor) => ok(api.GET("/api/v1/media/assets", { params: { query: { status: status || undefined, limit: 50, cursor } } })),
    [status],
  );
  const names = useNames(list.shown ? list.items : []);
  // Every transcode's events reach staff sockets: a row on this page moves in place; a new
  // one (a first upload) or a finished one (its length and picture) is read again.
  useServerEvent(
    "media:ingest",
    (e) => {
      if (!list.shown) return;
      const known = list.items.some((a) => a.id === e.asset_id);
      if (!known || e.status === "ready" || e.status === "failed") return list.reload();
      list.setItems(list.items.map((a) => (a.id === e.asset_id ? { ...a, status: e.status, progress: e.progress, error: e.error ?? null } : a)));
    },
    [list.items, list.shown],
  );
  useOnConnect(list.reload); // events missed while away
  return (
    <AdminLayout title="Media">
      <section class="admin-block" aria-labelledby="upload-h">
        <h2 id="upload-h">Upload a film’s source</h2>
        <p class="muted">
          Find the film, then upload on its media page. Episodes: open the series in <Link href="/admin/titles">Titles</Link> and choose an episode’s Media.
        </p>
        <TitlePicker chosen={[]} label="Find a film" onPick={(t) => navigate(`/admin/media/titles/${t.id}`)} />
      </section>
      <h2>All media</h2>
      <form class="admin-filters" aria-label="Media" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value as State | "")}
          >
            {STATES.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <AdminList list={list} empty={<p>No media here.</p>}>
        {(items) => (
          <div class="table-wrap">
            <table class="admin-table">
              <caption class="visually-hidden">Media assets</caption>
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col">State</th>
                  <th scope="col">Source</th>
                  <th scope="col">Length</th>
                  <th scope="col">Picture</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id}>
                    <th scope="row">
                      <Link href={a.episode_id ? `/admin/media/episodes/${a.episode_id}` : `/admin/media/titles/${a.title_id}`}>
                        {a.episode_id ? `Episode #${a.episode_id}` : (names[a.title_id ?? 0] ?? `Title #${a.title_id}`)}
                      </Link>
                    </th>
                    <td>
                      <Progress status={a.status} progress={a.progress} error={a.error} />
                    </td>
                    <td>
                      {a.source_name} <span class="muted">({size(a.source_size)})</span>
                    </td>
                    <td>{duration(a.duration_ms)}</td>
                    <td>{a.height ? `${a.width}×${a.height}` : "—"}</td>
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

/** The films' names of a page of assets (the catalog's cached title reads). */
function useNames(items: Asset[]): Record<number, string> {
  const [names, setNames] = useState<Record<number, string>>({});
  const ids = [...new Set(items.map((a) => a.title_id).filter((id): id is number => id != null))];
  const key = ids.join(",");
  useEffect(() => {
    for (const id of ids) {
      if (names[id]) continue;
      void ok(api.GET("/api/v1/titles/{title_id}", { params: { path: { title_id: id } } })).then(
        (t) => setNames((n) => ({ ...n, [id]: t.title })),
        () => undefined,
      );
    }
  }, [key]);
  return names;
}

// ---- one film's or episode's media ---------------------------------------------------------

export function ItemMedia({ params, query }: PageProps): JSX.Element {
  const episode = params.episodeId !== undefined;
  const id = Number(episode ? params.episodeId : params.titleId);
  const seriesId = query.get("title");
  const [title] = useLoad(
    () => (episode ? Promise.resolve(null) : ok(api.GET("/api/v1/titles/{title_id}", { params: { path: { title_id: id } } }))),
    [id, episode],
  );
  const name = episode ? `Episode #${id}` : title.state === "ready" && title.data ? title.data.title : "Film";
  useTitle(`Media of ${name} · Back office`);
  const playHref = episode ? (seriesId ? `/watch/${seriesId}/episodes/${id}` : null) : `/watch/${id}`;
  return (
    <AdminLayout title={`Media: ${name}`}>
      <p class="buttons">
        <Link href="/admin/media">← All media</Link>
        {!episode && <Link href={`/admin/titles/${id}`}>Edit the film</Link>}
        {episode && seriesId && <Link href={`/admin/titles/${seriesId}`}>Edit the series</Link>}
      </p>
      {title.state === "error" ? <ErrorNote message={title.message} /> : <MediaPanel episode={episode} id={id} playHref={playHref} />}
    </AdminLayout>
  );
}

type Upload = { sent: number; total: number } | null;

function MediaPanel({ episode, id, playHref }: { episode: boolean; id: number; playHref: string | null }): JSX.Element {
  const [asset, setAsset] = useState<Asset | null | undefined>(undefined); // undefined: loading, null: none yet
  const [live, setLive] = useState<Ingest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [upload, setUpload] = useState<Upload>(null);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const file = useRef<HTMLInputElement>(null);

  const load = () => {
    const pending = episode
      ? api.GET("/api/v1/episodes/{episode_id}/media", { params: { path: { episode_id: id } } })
      : api.GET("/api/v1/titles/{title_id}/media", { params: { path: { title_id: id } } });
    ok(pending).then(
      (a) => {
        setAsset(a);
        setLive(null);
      },
      (exc: unknown) => {
        if (exc instanceof ApiError && exc.status === 404) setAsset(null); // nothing uploaded yet
        else setError(message(exc));
      },
    );
  };
  useEffect(load, [id, episode]);
  useOnConnect(load); // events missed while away: read the state again
  useServerEvent(
    "media:ingest",
    (e) => {
      if ((episode ? e.episode_id : e.title_id) !== id || (episode ? false : e.episode_id != null)) return;
      setLive(e);
      if (e.status === "ready" || e.status === "failed") load();
    },
    [id, episode],
  );

  const send = async (e: Event) => {
    e.preventDefault();
    const f = file.current?.files?.[0];
    if (!f) return setNote({ ok: false, text: "Choose a video file first." });
    setNote(null);
    setLive(null);
    setUpload({ sent: 0, total: f.size });
    try {
      const token = await accessToken();
      const path = episode ? `/api/v1/episodes/${id}/media/source` : `/api/v1/titles/${id}/media/source`;
      const answer = await put(`${path}?filename=${encodeURIComponent(f.name)}`, f, token, (sent) => setUpload({ sent, total: f.size }));
      setAsset(answer);
      setNote({ ok: true, text: "Uploaded: the transcode is queued." });
    } catch (exc) {
      setNote({ ok: false, text: message(exc) });
    } finally {
      setUpload(null);
    }
  };
  const again = async () => {
    try {
      const a = await ok(
        episode
          ? api.POST("/api/v1/episodes/{episode_id}/media/transcode", { params: { path: { episode_id: id } } })
          : api.POST("/api/v1/titles/{title_id}/media/transcode", { params: { path: { title_id: id } } }),
      );
      setLive(null);
      setAsset(a);
      setNote({ ok: true, text: "Transcode queued again." });
    } catch (exc) {
      setNote({ ok: false, text: message(exc) });
    }
  };

  if (error) return <ErrorNote message={error} />;
  if (asset === undefined) return <Loading />;
  const status = live?.status ?? asset?.status;
  const progress = live?.progress ?? asset?.progress ?? 0;
  const moving = status === "queued" || status === "processing";
  return (
    <>
      <section class="admin-block" aria-labelledby="state-h">
        <h2 id="state-h">Transcode</h2>
        {!asset && !live && <p>No media yet: upload a source below.</p>}
        {status && (
          <div class="media-now" role="status" aria-live="polite">
            <Progress status={status} progress={progress} error={live?.error ?? asset?.error} />
          </div>
        )}
        {asset && (
          <dl class="media-facts">
            <dt>Source</dt>
            <dd>
              {asset.source_name} ({size(asset.source_size)})
            </dd>
            <dt>Length</dt>
            <dd>{duration(asset.duration_ms)}</dd>
            <dt>Renditions</dt>
            <dd>{asset.renditions.length ? asset.renditions.map((r) => r.name).join(", ") : "—"}</dd>
            <dt>Tracks</dt>
            <dd>{asset.tracks?.length ? asset.tracks.map((t) => `${t.type} ${t.language ?? ""} ${t.label ?? ""}`.trim()).join(", ") : "—"}</dd>
            {asset.notes && asset.notes.length > 0 && (
              <>
                <dt>Notes</dt>
                <dd>{asset.notes.join(" ")}</dd>
              </>
            )}
          </dl>
        )}
        <p class="buttons">
          {asset?.playable && !moving && playHref && (
            <Link href={playHref} class="button">
              ▶ Play
            </Link>
          )}
          {asset && !moving && (
            <button type="button" class="secondary" onClick={() => void again()}>
              Transcode again
            </button>
          )}
        </p>
      </section>
      <section class="admin-block" aria-labelledby="upload-h">
        <h2 id="upload-h">{asset ? "Replace the source" : "Upload a source"}</h2>
        <form class="admin-form" onSubmit={(e) => void send(e)}>
          <label>
            Source video
            <input type="file" ref={file} accept="video/*,.mkv,.mov,.mp4,.m4v,.webm,.avi,.ts" />
          </label>
          <button type="submit" disabled={upload !== null}>
            Upload
          </button>
          {upload && (
            <p role="status">
              <progress max={upload.total || 1} value={upload.sent} aria-label="Upload progress" /> Uploading {percent(upload.total ? upload.sent / upload.total : 0)}
            </p>
          )}
          <Status status={note} />
        </form>
      </section>
    </>
  );
}

/** PUT a file as the request body with the upload's progress (fetch cannot report it). */
function put(url: string, body: Blob, token: string | null, onSent: (bytes: number) => void): Promise<Asset> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onSent(e.loaded);
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload did not reach the server. Check your connection and try again."));
    xhr.onload = () => {
      let data: unknown = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: the status says enough
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(data as Asset);
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      reject(new ApiError(xhr.status, err?.code ?? "http_error", err?.message ?? `${xhr.status} ${xhr.statusText}`));
    };
    xhr.send(body);
  });
}

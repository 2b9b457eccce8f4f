// What a message can carry besides text: a title card (made by the server for this reader: a
// child's card of a title above their limit says only that it is not available), an image
// (signed URLs, a thumbnail in the conversation), and the upload of one with its progress.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, ApiError, message, ok, type Schemas } from "../api/client";
import { accessToken } from "../api/session";
import { useLoad } from "../hooks";
import { Link } from "../router";
import { ErrorNote } from "../ui";
import "./shared.css";

type Card = Schemas["TitleCardOut"];
type Attachment = Schemas["AttachmentOut"];
export type Uploaded = Schemas["UploadedOut"];

export const IMAGE_TYPES = "image/jpeg,image/png,image/webp";

export function SharedTitle({ card }: { card: Card }): JSX.Element {
  if (!card.available) {
    return (
      <div class="shared-title unavailable" role="note">
        {card.reason === "removed" ? "This title is no longer in the catalog." : "This title is not available on your profile."}
      </div>
    );
  }
  const hue = (card.title_id * 47) % 360;
  return (
    <div class="shared-title" aria-label={`Shared title: ${card.name ?? ""}`}>
      <Link href={`/titles/${card.title_id}`} class="shared-poster" aria-label={`${card.name ?? "Title"} poster`}>
        {card.poster_url ? (
          <img src={card.poster_url} alt="" loading="lazy" decoding="async" />
        ) : (
          <span class="blank" style={{ background: `linear-gradient(160deg, hsl(${hue} 45% 32%), hsl(${(hue + 40) % 360} 50% 14%))` }} />
        )}
      </Link>
      <div>
        <Link href={`/titles/${card.title_id}`} class="shared-name">
          {card.name}
        </Link>
        <span class="muted">{[card.year, card.kind === "series" ? "Series" : "Film"].filter(Boolean).join(" · ")}</span>
        {card.playable ? (
          <span class="shared-actions">
            {card.kind === "series" ? (
              <Link href={`/titles/${card.title_id}`} class="button">
                ▶ Episodes
              </Link>
            ) : (
              <>
                <Link href={`/watch/${card.title_id}`} class="button">
                  ▶ Play
                </Link>
                <Link href={`/party/new?title=${card.title_id}`} class="button secondary">
                  Start a party
                </Link>
              </>
            )}
          </span>
        ) : (
          <span class="muted">Not available to play yet</span>
        )}
      </div>
    </div>
  );
}

export function SharedImage({ image, from }: { image: Attachment; from: string }): JSX.Element {
  return (
    <a href={image.url} target="_blank" rel="noopener" class="shared-image">
      <img src={image.thumb_url} width={image.thumb_width} height={image.thumb_height} alt={`Image from ${from}`} loading="lazy" decoding="async" />
    </a>
  );
}

/** Upload an image for a message; XMLHttpRequest, since fetch reports no upload progress. */
export async function uploadImage(file: File, onProgress: (fraction: number) => void): Promise<Uploaded> {
  const token = await accessToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/message-attachments");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: { error?: { code?: string; message?: string } } & Partial<Uploaded> = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        /* not JSON: the status says it */
      }
      if (xhr.status === 201) resolve(body as Uploaded);
      else reject(new ApiError(xhr.status, body.error?.code ?? "http_error", body.error?.message ?? `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "The server could not be reached. Check your connection and try again."));
    xhr.send(file);
  });
}

/** "Share with a friend" on a title page: sends the title as a card in a private message. */
export function ShareTitle({ titleId }: { titleId: number }): JSX.Element {
  const [open, setOpen] = useState(false);
  return (
    <div class="share-title">
      <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
        Share with a friend
      </button>
      {open && <SharePanel titleId={titleId} />}
    </div>
  );
}

function SharePanel({ titleId }: { titleId: number }): JSX.Element {
  const [friends] = useLoad(() => ok(api.GET("/api/v1/friends", { params: { query: { limit: 200 } } })).then((p) => p.items), []);
  const [sent, setSent] = useState<{ id: string; name: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (friends.state === "loading") return <p class="muted">Loading friends…</p>;
  if (friends.state === "error") return <ErrorNote message={friends.message} />;
  if (friends.data.length === 0) return <p class="muted">Add friends to share titles with them.</p>;
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const to = String(data.get("friend") ?? "");
    const text = String(data.get("note") ?? "").trim();
    const friend = friends.data.find((f) => f.user.id === to);
    if (!friend) return;
    setBusy(true);
    try {
      await ok(api.POST("/api/v1/messages", { body: { to_user_id: to, client_msg_id: crypto.randomUUID(), title_id: titleId, text } }));
      setSent({ id: to, name: friend.user.display_name || friend.user.username });
      setError(null);
    } catch (exc) {
      setError(message(exc));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="share-panel" onSubmit={submit}>
      <label>
        Friend{" "}
        <select name="friend" required>
          {friends.data.map((f) => (
            <option key={f.user.id} value={f.user.id}>
              {f.user.display_name || f.user.username}
            </option>
          ))}
        </select>
      </label>
      <label>
        Note (optional) <input name="note" maxLength={4000} autocomplete="off" />
      </label>
      <button type="submit" disabled={busy}>
        Send
      </button>
      {sent && (
        <p role="status">
          Sent to <Link href={`/messages/${sent.id}`}>{sent.name}</Link>.
        </p>
      )}
      {error && <ErrorNote message={error} />}
    </form>
  );
}

// Asking for playback and saving progress: shared by the player page and the watch party.
import { api, type Schemas } from "../api/client";
import type { Playback } from "./player";

type Stream = Schemas["StreamOut"];
export type Problem =
  | { kind: "streams"; text: string; streams: Stream[] }
  | { kind: "maturity"; text: string }
  | { kind: "stopped"; text: string }
  | { kind: "other"; text: string };

interface ErrorBody {
  error?: { code?: string; message?: string; details?: { streams?: Stream[] } };
}

export async function requestPlayback(titleId: number, episodeId: number | null): Promise<Playback | Problem> {
  const answer = episodeId
    ? await api.GET("/api/v1/episodes/{episode_id}/playback", { params: { path: { episode_id: episodeId } } })
    : await api.GET("/api/v1/titles/{title_id}/playback", { params: { path: { title_id: titleId } } });
  if (answer.data) return answer.data;
  const body = answer.error as ErrorBody | undefined;
  const text = body?.error?.message ?? `${answer.response.status} ${answer.response.statusText}`;
  const code = body?.error?.code;
  if (code === "too_many_streams") return { kind: "streams", text, streams: body?.error?.details?.streams ?? [] };
  if (code === "maturity_restricted") return { kind: "maturity", text };
  return { kind: "other", text };
}


/** A heartbeat: saves the position and keeps this screen's place; `stopped` when refused.
 * (`stream_handed_over`, after "Play on...", is not: the page already says where it plays.) */
export function saveProgress(
  titleId: number | null,
  episodeId: number | null,
  positionMs: number,
  durationMs: number | null,
  stopped: (text: string) => void,
): void {
  void api
    .POST("/api/v1/me/history/progress", {
      body: { title_id: episodeId ? null : titleId, episode_id: episodeId, position_ms: positionMs, duration_ms: durationMs },
    })
    .then(({ error }) => {
      const body = error as ErrorBody | undefined;
      const code = body?.error?.code;
      if (code === "stream_stopped" || code === "too_many_streams") {
        stopped(body?.error?.message ?? "Playback was stopped.");
      }
    })
    .catch(() => undefined);
}

// The one HTTP client: typed from the server's OpenAPI document (schema.d.ts, generated), the
// access token attached and refreshed before it expires, errors as ApiError with the
// server's {"error": {"code", "message"}}.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { accessToken, sessionEnded } from "./session";

export type Schemas = components["schemas"];
export type { paths };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    // What a 422 `invalid_input` says about each field: [{loc, message, type}].
    readonly details: unknown = undefined,
  ) {
    super(message);
  }
}

// Each request we attached our token to, as it was before sending: sent again once with a
// fresh token if the server says the token expired.
const replays = new WeakMap<Request, { token: string; copy: Request }>();

const auth: Middleware = {
  async onRequest({ request }) {
    if (request.headers.has("Authorization") || new URL(request.url).pathname.startsWith("/api/v1/auth/refresh")) {
      return request;
    }
    const token = await accessToken();
    if (token) {
      request.headers.set("Authorization", `Bearer ${token}`);
      replays.set(request, { token, copy: request.clone() });
    }
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || !request.headers.has("Authorization")) return response;
    const replay = replays.get(request);
    const code = await response
      .clone()
      .json()
      .then((b: { error?: { code?: string } }) => b?.error?.code)
      .catch(() => undefined);
    if (replay && code === "token_expired") {
      // Expired sooner than our clock said (a clock off, a laptop asleep): refresh, once.
      const token = await accessToken(replay.token);
      if (token && token !== replay.token) {
        replay.copy.headers.set("Authorization", `Bearer ${token}`);
        return fetch(replay.copy);
      }
    }
    // Our token was refused: the session ended (signed out elsewhere, revoked, expired).
    sessionEnded();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(auth);

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data of an answer, or an ApiError carrying the server's code and message. */
export async function ok<T>(pending: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await pending;
  } catch (exc) {
    throw new ApiError(0, "network", "The server could not be reached. Check your connection and try again.");
  }
  if (answer.response.ok) return answer.data as T;
  const body = answer.error as { error?: { code?: string; message?: string; details?: unknown } } | undefined;
  throw new ApiError(
    answer.response.status,
    body?.error?.code ?? "http_error",
    body?.error?.message ?? `${answer.response.status} ${answer.response.statusText}`,
    body?.error?.details,
  );
}

export function message(exc: unknown): string {
  return exc instanceof Error ? exc.message : String(exc);
}

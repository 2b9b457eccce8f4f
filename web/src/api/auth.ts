// Signing in and out, through the public API.
import { api, ok } from "./client";
import { PUSH_MARK, forget, setUser, signedIn, storeTokens } from "./session";

export async function signIn(login: string, password: string): Promise<void> {
  const tokens = await ok(
    api.POST("/api/v1/auth/token", {
      body: { username: login, password, grant_type: "password" },
      bodySerializer: (b) => new URLSearchParams(b as Record<string, string>),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }),
  );
  storeTokens(tokens);
  await loadMe();
}

export async function loadMe(): Promise<void> {
  if (!signedIn()) return;
  try {
    setUser(await ok(api.GET("/api/v1/me")));
  } catch (exc) {
    if ((exc as { status?: number }).status === 401) forget();
    else throw exc;
  }
}

export async function signOut(): Promise<void> {
  if (localStorage.getItem(PUSH_MARK)) {
    // This browser gets my push notifications: stop them while the token still works.
    try {
      await (await import("../push")).disablePush();
    } catch {
      // Offline or refused: forget() below still drops the browser's subscription.
    }
  }
  try {
    await ok(api.POST("/api/v1/auth/logout"));
  } catch {
    // Ended already, or offline: we forget the tokens either way.
  }
  forget();
}

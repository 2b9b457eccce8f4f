import { useEffect, useState } from "preact/hooks";
import { message } from "./api/client";
import { currentUser, signedIn, subscribe } from "./api/session";

/** Re-render on sign-in, sign-out and profile changes. */
export function useSession() {
  const [, setTick] = useState(0);
  useEffect(() => subscribe(() => setTick((t) => t + 1)), []);
  return { signedIn: signedIn(), user: currentUser() };
}

export type Load<T> =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ready"; data: T };

/** Load something when the page opens (and again when deps change); `reload` to refetch. */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[] = []): [Load<T>, () => void, (data: T) => void] {
  const [value, setValue] = useState<Load<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setValue((v) => (v.state === "ready" ? v : { state: "loading" }));
    fetcher().then(
      (data) => live && setValue({ state: "ready", data }),
      (exc: unknown) => live && setValue({ state: "error", message: message(exc) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return [value, () => setRound((r) => r + 1), (data: T) => setValue({ state: "ready", data })];
}

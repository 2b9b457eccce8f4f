import { useEffect, useRef, useState } from "preact/hooks";
import { message } from "./api/client";
import { currentUser, signedIn, subscribe } from "./api/session";

/** Re-render on sign-in, sign-out and profile changes. */
export function useSession() {
  const [, setTick] = useState(0);
  const seen = { signedIn: signedIn(), user: currentUser() };
  useEffect(() => {
    const off = subscribe(() => setTick((t) => t + 1));
    // Effects run after the paint: a change in between (the /me answer arriving while a
    // lazily loaded page mounts) notified nobody, so look again.
    if (signedIn() !== seen.signedIn || currentUser() !== seen.user) setTick((t) => t + 1);
    return off;
  }, []);
  return seen;
}

export type Load<T> =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ready"; data: T };

/** Load something when the page opens (and again when deps change); `reload` to refetch. */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[] = []): [Load<T>, () => void, (data: T) => void] {
  const [value, setValue] = useState<Load<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  // Bumped by every load and every local update: an answer that arrives after either is
  // stale (it would undo what the person just did) and is dropped.
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    setValue((v) => (v.state === "ready" ? v : { state: "loading" }));
    fetcher().then(
      (data) => mine === generation.current && setValue({ state: "ready", data }),
      (exc: unknown) => mine === generation.current && setValue({ state: "error", message: message(exc) }),
    );
    return () => {
      if (generation.current === mine) generation.current++;
    };
  }, [...deps, round]);
  const set = (data: T) => {
    generation.current++;
    setValue({ state: "ready", data });
  };
  return [value, () => setRound((r) => r + 1), set];
}

// Small shared pieces: loading and error states, titles of pages, a form's status line.
import type { ComponentChildren, JSX } from "preact";
import { useEffect } from "preact/hooks";
import type { Load } from "./hooks";

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Cinema` : "Cinema";
  }, [title]);
}

export function Loading({ what = "Loading" }: { what?: string }): JSX.Element {
  return (
    <p class="loading" role="status" aria-busy="true">
      {what}…
    </p>
  );
}

export function ErrorNote({ message }: { message: string }): JSX.Element {
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

/** Shows loading, the server's error message, or the children with the data. */
export function Loaded<T>(props: { load: Load<T>; children: (data: T) => ComponentChildren }): JSX.Element {
  if (props.load.state === "loading") return <Loading />;
  if (props.load.state === "error") return <ErrorNote message={props.load.message} />;
  return <>{props.children(props.load.data)}</>;
}

export function Status({ status, id }: { status: { ok: boolean; text: string } | null; id?: string }): JSX.Element {
  if (!status) return <p class="status" role="status" id={id} />;
  return (
    <p class={status.ok ? "status ok" : "status error"} role={status.ok ? "status" : "alert"} id={id}>
      {status.text}
    </p>
  );
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => {
    if (typeof v === "string") out[k] = v;
  });
  return out;
}

// What the editorial sections share: the API's refusal shown next to the form (its message
// on top, each field's reason under the field, named by the 422's `details[].loc`), a field
// with its label and error, and a delete button that asks first.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, message } from "../../api/client";
import "./editor.css";

export type FieldErrors = Record<string, string>;
export type Refusal = { text: string; fields: FieldErrors } | null;

/** The server's refusal as a form shows it: the message, and each field's own reason. */
export function refusal(exc: unknown): Refusal {
  const fields: FieldErrors = {};
  if (exc instanceof ApiError && Array.isArray(exc.details)) {
    for (const d of exc.details as { loc?: unknown[]; message?: string }[]) {
      // loc is ["year"] or ["credits", "0", "person_id"] (maybe after "body"): the field is
      // its first name.
      const loc = (d.loc ?? []).map(String);
      if (["body", "query", "path"].includes(loc[0])) loc.shift();
      const name = loc.find((p) => !/^\d+$/.test(p)) ?? "";
      if (name && d.message) fields[name] = fields[name] ? `${fields[name]}; ${d.message}` : d.message;
    }
  }
  return { text: message(exc), fields };
}

/** The refusal above a form (read out when it appears); the first field it names gets the
 * focus, so a person at the Save button lands where the fix is. */
export function FormError({ refused }: { refused: Refusal }): JSX.Element | null {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!refused || !box.current) return;
    const form = box.current.closest("form, section");
    const field = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (field) field.focus();
    else box.current.scrollIntoView({ block: "nearest" });
  }, [refused]);
  if (!refused) return null;
  const n = Object.keys(refused.fields).length;
  return (
    <div class="form-error" role="alert" ref={box}>
      <p>{refused.text}</p>
      {n > 0 && <p class="muted">{n === 1 ? "One field needs a change (marked below)." : `${n} fields need a change (marked below).`}</p>}
    </div>
  );
}

/** A labelled field; its error (if the server named it) is tied to it for screen readers. */
export function Field(props: {
  name: string;
  label: string;
  refused: Refusal;
  hint?: string;
  id?: string; // when the same field appears more than once on a page
  children: (aria: { id: string; "aria-invalid"?: "true"; "aria-describedby"?: string }) => ComponentChildren;
}): JSX.Element {
  const error = props.refused?.fields[props.name];
  const id = props.id ?? `f-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>{props.label}</label>
      {props.children({ id, ...(error ? { "aria-invalid": "true" } : {}), ...(described ? { "aria-describedby": described } : {}) })}
      {props.hint && (
        <small id={`${id}-hint`} class="muted">
          {props.hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

/** A delete button that asks once more before it calls `onConfirm`. */
export function DeleteButton({ what, onConfirm }: { what: string; onConfirm: () => void }): JSX.Element {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class="danger" onClick={() => setAsking(true)}>
        Delete {what}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={`Delete ${what}?`}>
      <span>Delete {what}?</span>{" "}
      <button type="button" class="danger" onClick={() => (setAsking(false), onConfirm())}>
        Yes, delete
      </button>{" "}
      <button type="button" class="secondary" onClick={() => setAsking(false)} autoFocus>
        Keep it
      </button>
    </span>
  );
}

/** "" and whitespace mean "none" (null), anything else the trimmed text. */
export function orNull(v: string | undefined): string | null {
  const t = (v ?? "").trim();
  return t ? t : null;
}

/** A number typed in a field, null when empty; NaN goes to the server, which names the field. */
export function numOrNull(v: string | undefined): number | null {
  const t = (v ?? "").trim();
  return t ? Number(t) : null;
}

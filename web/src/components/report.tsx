// "Report": a comment, a private message or a person, to the moderators, with a reason and
// an optional note. The answer confirms it was sent; reporting the same thing again answers
// the report already open, which is said the same way.
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { api, message, ok, type Schemas } from "../api/client";

type Kind = Schemas["ReportIn"]["kind"];
type Reason = Schemas["ReportIn"]["reason"];

export const REASONS: [Reason, string][] = [
  ["spam", "Spam or advertising"],
  ["harassment", "Harassment or bullying"],
  ["hate", "Hate speech"],
  ["spoiler", "An unmarked spoiler"],
  ["illegal", "Illegal content"],
  ["other", "Something else"],
];

export function reasonLabel(reason: string): string {
  return REASONS.find(([r]) => r === reason)?.[1] ?? reason;
}

let forms = 0;

/** A "Report" button that opens a short form in place; `what` names the thing for people
 * using a screen reader ("comment by Ann"). */
export function ReportButton(props: { kind: Kind; targetId: string; what: string; class?: string }): JSX.Element {
  const [open, setOpen] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [id] = useState(() => `report-${++forms}`);
  if (sent) {
    return (
      <p class="report-sent status ok" role="status">
        Report sent. Thank you: a moderator will look at it.
      </p>
    );
  }
  if (!open) {
    return (
      <button type="button" class={props.class ?? "link"} aria-label={`Report ${props.what}`} onClick={() => setOpen(true)}>
        Report
      </button>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const note = String(data.get("note") ?? "").trim();
    setBusy(true);
    try {
      await ok(
        api.POST("/api/v1/reports", {
          body: { kind: props.kind, target_id: props.targetId, reason: String(data.get("reason")) as Reason, note: note || null },
        }),
      );
      setSent(true);
    } catch (exc) {
      setError(message(exc));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="report-form" aria-labelledby={`${id}-h`} onSubmit={submit}>
      <p id={`${id}-h`} class="report-head">
        Report {props.what}
      </p>
      <label>
        Reason
        <select name="reason" required>
          {REASONS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Note for the moderators <small>(optional)</small>
        <textarea name="note" rows={2} maxLength={1000} />
      </label>
      <p class="buttons">
        <button type="submit" disabled={busy}>
          Send report
        </button>
        <button type="button" class="secondary" onClick={() => (setOpen(false), setError(null))}>
          Cancel
        </button>
      </p>
      {error && (
        <p class="status error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

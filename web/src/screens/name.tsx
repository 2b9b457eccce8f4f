// This screen's name, as my other screens list it ("Play on...", the remote): kept on this
// device; the watch page registers it (at once when renamed there, else at its next start).
import type { JSX } from "preact";
import { useState } from "preact/hooks";
import { Status } from "../ui";
import { renameScreen, thisScreen } from "./device";

export function ScreenName({ onRenamed }: { onRenamed?: () => Promise<void> }): JSX.Element {
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  return (
    <form
      class="inline screen-name"
      onSubmit={(e) => {
        e.preventDefault();
        const input = (e.currentTarget as HTMLFormElement).elements.namedItem("screen-name") as HTMLInputElement;
        const me = renameScreen(input.value);
        input.value = me.name;
        const done = () => setNote({ ok: true, text: `This screen is "${me.name}".` });
        if (onRenamed) void onRenamed().then(done);
        else done();
      }}
    >
      <label>
        This screen's name <input type="text" name="screen-name" maxLength={60} defaultValue={thisScreen().name} />
      </label>
      <button type="submit" class="secondary">
        Rename
      </button>
      <Status status={note} />
    </form>
  );
}

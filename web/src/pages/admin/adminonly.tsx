// The admins' sections (accounts, the audit log): an editor who opens one by hand is told so
// (the server refuses their requests anyway).
import type { ComponentChildren, JSX } from "preact";
import { useSession } from "../../hooks";

export function AdminOnly({ children }: { children: ComponentChildren }): JSX.Element {
  const { user } = useSession();
  if (user?.role !== "admin") return <p role="alert">This section is for admins.</p>;
  return <>{children}</>;
}

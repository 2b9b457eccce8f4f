// The back office's frame: for editors and admins only, a side navigation over its sections
// and the section itself. Every section talks to the same public API as the rest of the app;
// the server checks the role again on every request.
import type { ComponentChildren, JSX } from "preact";
import { useSession } from "../../hooks";
import { Link, useLocation } from "../../router";
import { RequireSignIn } from "../require";

type Section = { href: string; label: string; admin?: boolean };

/** Every section of the back office, in the order the navigation shows them. */
export const SECTIONS: Section[] = [
  { href: "/admin/titles", label: "Titles" },
  { href: "/admin/people", label: "People" },
  { href: "/admin/genres", label: "Genres" },
  { href: "/admin/collections", label: "Collections" },
  { href: "/admin/media", label: "Media" },
  { href: "/admin/moderation", label: "Moderation" },
  { href: "/admin/users", label: "Users", admin: true },
  { href: "/admin/audit", label: "Audit log", admin: true },
];

export function isStaff(role: string | undefined): boolean {
  return role === "editor" || role === "admin";
}

/** A back-office page: signed in, editor or admin, with the section navigation beside it. */
export function AdminLayout({ title, children }: { title: string; children: ComponentChildren }): JSX.Element {
  return (
    <RequireSignIn>
      <Staff title={title}>{children}</Staff>
    </RequireSignIn>
  );
}

function Staff({ title, children }: { title: string; children: ComponentChildren }): JSX.Element {
  const { user } = useSession();
  const { path } = useLocation();
  if (!user) return <p aria-busy="true">Loading…</p>;
  if (!isStaff(user.role)) {
    return (
      <section class="narrow">
        <h1>Back office</h1>
        <p role="alert">The back office is for editors and admins.</p>
      </section>
    );
  }
  const sections = SECTIONS.filter((s) => !s.admin || user.role === "admin");
  return (
    <div class="admin">
      <nav class="admin-nav" aria-label="Back office">
        <ul>
          {sections.map((s) => (
            <li key={s.href}>
              <Link href={s.href} aria-current={path.startsWith(s.href) ? "page" : undefined}>
                {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <section class="admin-page" aria-labelledby="admin-title">
        <h1 id="admin-title">{title}</h1>
        {children}
      </section>
    </div>
  );
}

// /admin: the back office's front page, a list of its sections.
import type { JSX } from "preact";
import { useSession } from "../../hooks";
import { Link } from "../../router";
import { AdminLayout, SECTIONS } from "./layout";

export default function AdminHome(): JSX.Element {
  const { user } = useSession();
  const sections = SECTIONS.filter((s) => !s.admin || user?.role === "admin");
  return (
    <AdminLayout title="Back office">
      <ul class="admin-sections">
        {sections.map((s) => (
          <li key={s.href}>
            <Link href={s.href}>{s.label}</Link>
          </li>
        ))}
      </ul>
    </AdminLayout>
  );
}

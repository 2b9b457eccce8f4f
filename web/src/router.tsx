// A tiny client-side router: history API, `:name` path parameters, each page a lazily loaded
// module (its code arrives when first visited), links that stay in the app.
import type { ComponentType, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";

export interface PageProps {
  params: Record<string, string>;
  query: URLSearchParams;
}
type Loader = () => Promise<{ default: ComponentType<PageProps> }>;

const listeners = new Set<() => void>();

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  for (const fn of listeners) fn();
  if (!opts.replace) window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  for (const fn of listeners) fn();
});

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((t) => t + 1);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

function compile(pattern: string): (path: string) => Record<string, string> | null {
  const names: string[] = [];
  const re = new RegExp(
    "^" + pattern.replace(/:(\w+)/g, (_, name: string) => (names.push(name), "([^/]+)")) + "/?$",
  );
  return (path) => {
    const m = re.exec(path);
    if (!m) return null;
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
  };
}

export function createRoutes(table: [string, Loader][], notFound: Loader) {
  const compiled = table.map(([pattern, load]) => ({ match: compile(pattern), load }));
  const cache = new Map<Loader, ComponentType<PageProps>>();
  return function Router(): JSX.Element {
    const { path, query } = useLocation();
    let params: Record<string, string> = {};
    let load = notFound;
    for (const route of compiled) {
      const m = route.match(path);
      if (m) {
        params = m;
        load = route.load;
        break;
      }
    }
    const [, setLoaded] = useState(0);
    const [failed, setFailed] = useState<string | null>(null);
    const Page = cache.get(load);
    useEffect(() => {
      if (cache.has(load)) return;
      load().then(
        (mod) => {
          cache.set(load, mod.default);
          setLoaded((n) => n + 1);
        },
        (exc: unknown) => setFailed(String(exc)),
      );
    }, [load]);
    if (failed) return <p role="alert">This page could not be loaded ({failed}). Reload to try again.</p>;
    if (!Page) return <p class="loading" aria-busy="true">Loading…</p>;
    return <Page key={path} params={params} query={query} />;
  };
}

/** An <a> that navigates inside the app (new tab, modifiers and other origins as usual). */
export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; target?: string }): JSX.Element {
  const onClick = (e: MouseEvent) => {
    props.onClick?.(e as JSX.TargetedMouseEvent<HTMLAnchorElement>);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (props.target && props.target !== "_self") return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}

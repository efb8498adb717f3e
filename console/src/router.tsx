import { createContext, type AnchorHTMLAttributes, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';

/**
 * A small history router for the console's few pages: paths under /console/, links that push history, and the
 * back button. A page reads its parameters from the matched pattern (`users/:id`).
 */
export const BASE = '/console/';

export interface Location {
  /** The path below /console/, without leading or trailing slash: '' for the start page, 'users/abc' … */
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return { path: path.replace(/\/+$/, ''), query: new URLSearchParams(location.search) };
}

const listeners = new Set<() => void>();
addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const href = to.startsWith('/') ? to : BASE + to;
  if (options.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  listeners.forEach((l) => l());
  if (!options.replace) scrollTo(0, 0);
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return loc;
}

/** Matches `users/:id` against `users/abc`: the parameters, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(have[i]!);
    else if (w !== have[i]) return undefined;
  }
  return params;
}

type LinkProps = Pick<AnchorHTMLAttributes<HTMLAnchorElement>, 'class' | 'title' | 'id' | 'aria-current' | 'aria-label' | 'aria-describedby'> & {
  href: string;
  children?: ComponentChildren;
};

/** An ordinary link (middle click, copy address work) that navigates inside the console on a plain click. */
export function Link({ href, children, ...rest }: LinkProps) {
  const target = href.startsWith('/') ? href : BASE + href;
  return (
    <a
      {...rest}
      href={target}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(target);
      }}
    >
      {children}
    </a>
  );
}

export const RouteContext = createContext<Location>({ path: '', query: new URLSearchParams() });
export const useRoute = () => useContext(RouteContext);

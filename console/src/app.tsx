import type { ComponentType } from 'preact';
import { signOut } from './auth.ts';
import { Link, match, RouteContext, useLocation } from './router.tsx';
import { SessionContext, type Session } from './session.tsx';
import { fullName } from './format.ts';
import { NotFoundPage } from './pages/not-found.tsx';
import { ROUTES, type Route } from './routes.ts';

/** What a route needs, and whether the signed-in operator has it. */
const allowed = (route: Route, session: Session) => route.permission === undefined || session.can(route.permission);

function Nav({ session, path }: { session: Session; path: string }) {
  const entries = ROUTES.filter((r) => r.nav && allowed(r, session));
  return (
    <nav aria-label="Main">
      <ul>
        {entries.map((r) => {
          const active = path === r.pattern || path.startsWith(`${r.pattern}/`);
          return (
            <li key={r.pattern}>
              <Link href={r.pattern} aria-current={active ? 'page' : undefined}>
                {r.nav}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/** The console's frame: skip link, header with navigation and the operator, and the page for the address. */
export function App({ session }: { session: Session }) {
  const location = useLocation();
  let page: { Page: ComponentType<{ params: Record<string, string> }>; params: Record<string, string> } | undefined;
  for (const route of ROUTES) {
    const params = match(route.pattern, location.path);
    if (params) {
      page = allowed(route, session) ? { Page: route.page, params } : { Page: NotFoundPage, params: { reason: 'forbidden' } };
      break;
    }
  }
  page ??= { Page: NotFoundPage, params: {} };
  const who = fullName(session.me) || session.me.email || session.me.user_id;
  return (
    <SessionContext.Provider value={session}>
      <RouteContext.Provider value={location}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="top">
          <Link href="" class="brand">
            Gatehouse
          </Link>
          <Nav session={session} path={location.path} />
          <div class="who">
            <span title={session.me.email ?? undefined}>{who}</span>
            <button type="button" class="secondary small" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          <page.Page key={location.path} params={page.params} />
        </main>
      </RouteContext.Provider>
    </SessionContext.Provider>
  );
}

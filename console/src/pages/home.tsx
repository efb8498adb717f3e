import { api } from '../api.ts';
import { ErrorMessage } from '../components/error-message.tsx';
import { PageHeader } from '../components/page-header.tsx';
import { formatCount } from '../format.ts';
import { useAsync } from '../hooks.ts';
import { Link } from '../router.tsx';
import { ROUTES } from '../routes.ts';
import { useSession } from '../session.tsx';

/** The start page: how many users there are, and where each part of the console is. */
export function HomePage() {
  const session = useSession();
  const canReadUsers = session.can('users:read');
  const count = useAsync((signal) => (canReadUsers ? api<{ count: number }>('/users/count', { signal }) : Promise.resolve(undefined)), [canReadUsers]);
  const sections = ROUTES.filter((r) => r.nav && (r.permission === undefined || session.can(r.permission)));
  return (
    <section>
      <PageHeader title="Overview" />
      {canReadUsers ? (
        <p class="lead">
          {count.data ? (
            <>
              <strong data-testid="user-total">{formatCount(count.data.count)}</strong> {count.data.count === 1 ? 'user' : 'users'}
            </>
          ) : count.loading ? (
            'Counting users…'
          ) : null}
        </p>
      ) : null}
      <ErrorMessage error={count.error} />
      {sections.length === 0 ? (
        <p>Your roles give you no console pages. An administrator can grant ORG-ADMIN or ORG-AUDITOR.</p>
      ) : (
        <ul class="cards">
          {sections.map((r) => (
            <li key={r.pattern}>
              <Link href={r.pattern}>{r.nav}</Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

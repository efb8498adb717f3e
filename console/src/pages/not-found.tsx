import { PageHeader } from '../components/page-header.tsx';
import { Link } from '../router.tsx';

/** An address the console does not know, or a page the operator's roles do not allow. */
export function NotFoundPage({ params }: { params: Record<string, string> }) {
  const forbidden = params.reason === 'forbidden';
  return (
    <section>
      <PageHeader title={forbidden ? 'Not allowed' : 'Page not found'} />
      <p>{forbidden ? 'Your roles do not allow this page.' : 'There is no console page at this address.'}</p>
      <p>
        <Link href="">Back to the start page</Link>
      </p>
    </section>
  );
}

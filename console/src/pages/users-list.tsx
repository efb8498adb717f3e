import { PageHeader } from '../components/page-header.tsx';

// Placeholder: this page is being built.
export function UsersPage(_props: { params: Record<string, string> }) {
  return <PageHeader title="Users" />;
}

import { PageHeader } from '../components/page-header.tsx';

// Placeholder: this page is being built.
export function UserCreatePage(_props: { params: Record<string, string> }) {
  return <PageHeader title="New user" />;
}

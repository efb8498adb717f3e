import { PageHeader } from '../components/page-header.tsx';

// Placeholder: this page is being built.
export function UserDetailPage(_props: { params: Record<string, string> }) {
  return <PageHeader title="User" />;
}

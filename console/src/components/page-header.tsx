import type { ComponentChildren } from 'preact';
import { useTitle } from '../hooks.ts';

/** The page's one <h1> (also its document title), with optional actions beside it. */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  useTitle(title);
  return (
    <div class="page-header">
      <h1>{title}</h1>
      {children ? <div class="page-actions">{children}</div> : null}
    </div>
  );
}

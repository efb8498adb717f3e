import { useState } from 'preact/hooks';

/**
 * Cursor paging (`next_cursor`) with a way back: the cursors of the pages seen so far are kept, so "Previous" goes to
 * the page before without the API having to page backwards.
 */
export function useCursorPages(): { cursor: string | undefined; page: number; next(cursor: string): void; previous(): void; reset(): void } {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: stack.at(-1),
    page: stack.length,
    next: (cursor) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

export function CursorPager({ label, pages, nextCursor }: { label: string; pages: ReturnType<typeof useCursorPages>; nextCursor: string | null | undefined }) {
  if (pages.page === 1 && !nextCursor) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary small" disabled={pages.page === 1} onClick={pages.previous}>
        Previous page
      </button>
      <span class="muted">Page {pages.page}</span>
      <button type="button" class="secondary small" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        Next page
      </button>
    </nav>
  );
}

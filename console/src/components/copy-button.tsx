import { useState } from 'preact/hooks';

/** Copies `text` to the clipboard and says so (for secrets shown once). */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<'copied' | 'failed'>();
  return (
    <button
      type="button"
      class="secondary small"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone('copied');
        } catch {
          setDone('failed');
        }
      }}
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed: select and copy by hand' : label}
    </button>
  );
}

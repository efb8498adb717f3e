import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorMessage } from './error-message.tsx';

export interface ConfirmProps {
  /** What will happen, as a question: "Delete 3 users?" */
  title: string;
  /** The consequences, in full: what is lost, what stops working. */
  children: ComponentChildren;
  /** The button that does it: "Delete 3 users". */
  confirmLabel: string;
  danger?: boolean;
  onConfirm(): Promise<void> | void;
  onClose(): void;
}

/**
 * Every destructive action goes through this: a modal <dialog> (focus stays inside, Escape cancels) that says what
 * will happen, with Cancel focused first so Enter never destroys anything by accident. Errors stay in the dialog.
 */
export function ConfirmDialog({ title, children, confirmLabel, danger = true, onConfirm, onClose }: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  useEffect(() => {
    const dialog = ref.current;
    // Back to the button that opened it when the dialog goes, however it goes (Cancel, Escape, done).
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      if (dialog?.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="confirm-title" onCancel={(e) => (busy ? e.preventDefault() : onClose())}>
      <h2 id="confirm-title">{title}</h2>
      <div class="dialog-body">{children}</div>
      <ErrorMessage error={error} />
      <div class="actions">
        <button type="button" class="secondary" autofocus disabled={busy} onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class={danger ? 'danger' : ''}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await onConfirm();
              onClose();
            } catch (err) {
              setError(err as Error);
              setBusy(false);
            }
          }}
        >
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

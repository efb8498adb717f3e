import { CopyButton } from './copy-button.tsx';

/** A secret (temporary password, API key, client secret) shown this once, with a copy button and a warning. */
export function SecretOnce({ label, secret, note }: { label: string; secret: string; note?: string }) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>{label}</strong> — shown only this once. {note ?? 'Copy it now: Gatehouse keeps only a hash and cannot show it again.'}
      </p>
      <div class="secret-row">
        <code class="secret-value" data-testid="secret">
          {secret}
        </code>
        <CopyButton text={secret} />
      </div>
    </div>
  );
}

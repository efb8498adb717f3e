/** A failure in words (ApiError's message), announced to screen readers as it appears. */
export function ErrorMessage({ error, title }: { error: Error | string | undefined | null; title?: string }) {
  if (!error) return null;
  const text = typeof error === 'string' ? error : error.message;
  return (
    <div class="error" role="alert">
      {title ? <strong>{title} </strong> : null}
      {text}
    </div>
  );
}

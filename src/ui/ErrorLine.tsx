// One failure shown where it happened: an alert paragraph, rendered as text, or nothing when
// there is no failure to show.

/** `text`: the failure in words (empty or absent: nothing is rendered). */
export function ErrorLine({ text, testId }: { text?: string; testId?: string }) {
  if (!text) return null;
  return (
    <p role="alert" className="error-detail" data-testid={testId}>
      {text}
    </p>
  );
}

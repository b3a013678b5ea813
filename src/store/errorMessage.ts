// The one way the lab turns a failure into words for the screen: an Error's message, or anything
// else thrown (a string, a number) as text.

/** What went wrong, as a sentence a panel can show. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A one-time notice carried from one page to the next inside the console ("Deleted Ada Lovelace." after the user
 * page sends the operator back to the list). Kept in memory: a reload shows it no more, which is what a notice
 * about something already done should do.
 */
let pending: string | undefined;

export function setFlash(message: string): void {
  pending = message;
}

export function takeFlash(): string | undefined {
  const message = pending;
  pending = undefined;
  return message;
}

let generated: { userId: string; password: string } | undefined;

/** The password generated for a user just created, for their page to show once. */
export function handOverPassword(userId: string, password: string): void {
  generated = { userId, password };
}

export function takePassword(userId: string): string | undefined {
  if (generated?.userId !== userId) return undefined;
  const { password } = generated;
  generated = undefined;
  return password;
}

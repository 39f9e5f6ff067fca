// The API token, asked for once and kept in sessionStorage: it lives as long as the tab, is never sent to
// another origin, and is never written to disk by a cookie. Views ask through `askToken`; the dialog in
// main.tsx answers.

const KEY = "flywheel.api-token";

/** The token this tab holds, if any. */
export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

/** Forgets the token (a 401 with it, or the operator's choice). */
export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  notify();
}

type Asker = (reason: string) => Promise<string | null>;
let asker: Asker | null = null;
const listeners = new Set<() => void>();

/** Installs the dialog that asks for a token; main.tsx does, once. */
export function setTokenAsker(ask: Asker): void {
  asker = ask;
}

/** Asks the operator for a token, saying why; resolves with it (stored) or null when they cancel. */
export async function askToken(reason: string): Promise<string | null> {
  if (!asker) return null;
  const token = (await asker(reason))?.trim() || null;
  if (token) {
    sessionStorage.setItem(KEY, token);
    notify();
  }
  return token;
}

/** Calls `listener` whenever the stored token changes; returns the unsubscribe function. */
export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of listeners) listener();
}

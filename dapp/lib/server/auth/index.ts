/**
 * The server's sign-in state, one per server process: open challenges and the cookie signer.
 * Server-only (under $lib/server), never sent to the browser.
 */
import { env } from '$env/dynamic/private';
import { ChallengeStore } from './challenges.ts';
import { SessionCookies, SESSION_COOKIE } from './session-cookie.ts';

export { SESSION_COOKIE };

export const challenges = new ChallengeStore();
export const sessionCookies = new SessionCookies(env.VILO_SESSION_SECRET || undefined);

/** The signed-in address of a request's cookies, or null. */
export function signedIn(cookies: { get(name: string): string | undefined }): string | null {
  return sessionCookies.verify(cookies.get(SESSION_COOKIE))?.address ?? null;
}

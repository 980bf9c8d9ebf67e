import { json } from '@sveltejs/kit';
import { SESSION_COOKIE, sessionCookies } from '$lib/server/auth/index.ts';

/** GET → {address, expiresAtMs} of the signed-in account, or {address: null}. */
export function GET({ cookies }) {
  return json(sessionCookies.verify(cookies.get(SESSION_COOKIE)) ?? { address: null });
}

/** DELETE → signs out. */
export function DELETE({ cookies }) {
  cookies.delete(SESSION_COOKIE, { path: '/' });
  return json({ address: null });
}

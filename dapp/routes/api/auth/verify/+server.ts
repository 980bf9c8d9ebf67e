import { json } from '@sveltejs/kit';
import { verifyWalletSignature } from '$lib/server/signature.ts';
import { challenges, sessionCookies, SESSION_COOKIE } from '$lib/server/auth/index.ts';
import { readAddress, refuse } from '$lib/server/auth/request.ts';

/** POST {address, nonce, signature}: checks the signed challenge (once) and sets the session cookie. */
export async function POST({ request, cookies, url }) {
  const body = (await request.json().catch(() => null)) as { nonce?: unknown; signature?: unknown } | null;
  const address = readAddress(body);
  if (!address || typeof body?.nonce !== 'string' || typeof body.signature !== 'string' || !/^0x[0-9a-fA-F]{128,130}$/.test(body.signature)) {
    return refuse(400, 'BadRequest', 'send {address, nonce, signature} with the signature as 0x-prefixed hex');
  }
  const challenge = challenges.take(body.nonce, address);
  if (!challenge) return refuse(401, 'UnknownChallenge', 'the sign-in challenge is unknown, used or expired; ask for a new one');
  if (!(await verifyWalletSignature(address, challenge.message, body.signature))) {
    return refuse(401, 'BadSignature', "the signature is not this account's signature of the challenge");
  }
  const { value, expiresAtMs } = sessionCookies.issue(address);
  cookies.set(SESSION_COOKIE, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: url.protocol === 'https:',
    expires: new Date(expiresAtMs),
  });
  return json({ address, expiresAtMs });
}

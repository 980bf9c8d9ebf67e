import { json } from '@sveltejs/kit';
import { challenges } from '$lib/server/auth/index.ts';
import { readAddress, refuse } from '$lib/server/auth/request.ts';

/** POST {address} → {nonce, message, expiresAtMs}: the text the wallet signs to sign in. */
export async function POST({ request, url }) {
  const body = await request.json().catch(() => null);
  const address = readAddress(body);
  if (!address) return refuse(400, 'BadAddress', 'address must be an SS58 account address');
  const c = challenges.issue(address, url.origin);
  return json({ nonce: c.nonce, message: c.message, expiresAtMs: c.expiresAtMs });
}

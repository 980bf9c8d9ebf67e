import { chainConfig } from '$lib/config.server';
import { signedIn } from '$lib/server/auth/index.ts';

/** Sent to the browser: where the chain and the contracts are, and who is signed in (session cookie). */
export const load = ({ cookies }) => ({ config: chainConfig(), session: signedIn(cookies) });

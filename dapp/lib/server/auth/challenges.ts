/**
 * Sign-in challenges: a random nonce per request, kept server-side with an expiry, usable once.
 * The wallet signs `challengeMessage(address, nonce)`; `take` hands the challenge back exactly once
 * and only before it expires, so a captured signature cannot be replayed.
 */
import { randomBytes } from 'node:crypto';

export const CHALLENGE_TTL_MS = 5 * 60_000;
/** At most this many open challenges (oldest dropped first): bounded memory under request floods. */
export const MAX_OPEN_CHALLENGES = 10_000;

export interface Challenge {
  nonce: string;
  address: string;
  message: string;
  expiresAtMs: number;
}

/** The text the wallet signs; names the app, the address and the nonce. */
export function challengeMessage(address: string, nonce: string, origin: string): string {
  return `Sign in to Vilokanam-view at ${origin}\naccount: ${address}\nnonce: ${nonce}`;
}

export class ChallengeStore {
  private readonly open = new Map<string, Challenge>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = CHALLENGE_TTL_MS,
    private readonly max = MAX_OPEN_CHALLENGES,
  ) {}

  issue(address: string, origin: string): Challenge {
    this.sweep();
    while (this.open.size >= this.max) this.open.delete(this.open.keys().next().value!);
    const nonce = randomBytes(16).toString('hex');
    const c = { nonce, address, message: challengeMessage(address, nonce, origin), expiresAtMs: this.now() + this.ttlMs };
    this.open.set(nonce, c);
    return c;
  }

  /** The open challenge for `nonce` and `address`, removed so it cannot be used again; else null. */
  take(nonce: string, address: string): Challenge | null {
    const c = this.open.get(nonce);
    if (!c) return null;
    this.open.delete(nonce);
    if (c.address !== address || c.expiresAtMs <= this.now()) return null;
    return c;
  }

  get size(): number {
    return this.open.size;
  }

  private sweep() {
    const t = this.now();
    for (const [k, c] of this.open) if (c.expiresAtMs <= t) this.open.delete(k);
  }
}

/**
 * A viewer's session key and count, kept in sessionStorage so that a reload of the watch page resumes
 * the same session (same key, counting on from the last accepted voucher) instead of asking the wallet
 * again. sessionStorage is per tab and cleared when the tab closes; the key only ever signs vouchers
 * for this one session.
 */
export interface StoredSession {
  /** Session key seed (hex). */
  seed: `0x${string}`;
  sessionId: bigint;
  /** Highest count the relay accepted. */
  ticks: bigint;
}

export function storageKey(contract: string, streamId: bigint, viewer: string): string {
  return `vilo:watch:${contract}:${streamId}:${viewer}`;
}

export function serialize(s: StoredSession): string {
  return JSON.stringify({ seed: s.seed, sessionId: s.sessionId.toString(), ticks: s.ticks.toString() });
}

/** The stored session, or null for anything missing or malformed. */
export function parse(text: string | null): StoredSession | null {
  if (!text) return null;
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.seed !== 'string' || !/^0x[0-9a-f]{64}$/i.test(o.seed)) return null;
    if (typeof o.sessionId !== 'string' || !/^\d{1,20}$/.test(o.sessionId)) return null;
    if (typeof o.ticks !== 'string' || !/^\d{1,20}$/.test(o.ticks)) return null;
    return { seed: o.seed as `0x${string}`, sessionId: BigInt(o.sessionId), ticks: BigInt(o.ticks) };
  } catch {
    return null;
  }
}

/**
 * Where a resumed session counts on from: the stored count, or the chain's settled count if that is
 * higher (someone settled a voucher this tab did not record). A stored session for another session id
 * (the chain's session is newer) cannot be resumed.
 */
export function resumeFrom(stored: StoredSession | null, chain: { id: bigint; sessionKey: string; ticksSettled: bigint } | null, publicKeyOf: (seed: `0x${string}`) => string): bigint | null {
  if (!stored || !chain) return null;
  if (stored.sessionId !== chain.id || publicKeyOf(stored.seed).toLowerCase() !== chain.sessionKey.toLowerCase()) return null;
  return stored.ticks > chain.ticksSettled ? stored.ticks : chain.ticksSettled;
}

/**
 * The sign-in session: an httpOnly cookie `<address>.<expiresAtMs>.<hmac>` where the HMAC-SHA256 is
 * keyed with a server secret (VILO_SESSION_SECRET, or random per process: sessions then end when the
 * server restarts). Nothing else is stored server-side.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'vilo_session';
export const SESSION_TTL_MS = 12 * 3600_000;

export class SessionCookies {
  private readonly secret: Buffer;

  constructor(
    secret: string | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
    if (secret !== undefined && this.secret.length < 16) throw new Error('VILO_SESSION_SECRET must be at least 16 bytes');
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }

  /** A cookie value for `address`, valid for `ttlMs`. */
  issue(address: string, ttlMs = SESSION_TTL_MS): { value: string; expiresAtMs: number } {
    const expiresAtMs = this.now() + ttlMs;
    const body = `${address}.${expiresAtMs}`;
    return { value: `${body}.${this.mac(body)}`, expiresAtMs };
  }

  /** The signed-in address, or null for a missing, forged, malformed or expired cookie. */
  verify(value: string | undefined): { address: string; expiresAtMs: number } | null {
    if (!value) return null;
    const m = /^([1-9A-HJ-NP-Za-km-z]{40,60})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return null;
    const [, address, exp, mac] = m;
    const want = Buffer.from(this.mac(`${address}.${exp}`));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    const expiresAtMs = Number(exp);
    if (expiresAtMs <= this.now()) return null;
    return { address, expiresAtMs };
  }
}

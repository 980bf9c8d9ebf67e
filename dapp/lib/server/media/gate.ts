/**
 * The payment gate: whether a viewer may receive a stream's media right now.
 *
 * Rules (docs/media.md):
 * 1. The viewer has an open on-chain session on the stream with the session id they name.
 * 2. Their latest voucher is fresh: one that advanced the count arrived within `freshMs` (1.5 s).
 * 3. Their latest count is covered: `cumulative ≤ ticks_settled + ⌊escrow / rate⌋` (their session's
 *    locked rate), unless the rate is zero or they hold a live subscription
 *    (payment_handler.has_subscription).
 * Any chain read that fails (or hangs past `readTimeoutMs`) counts as "no": the gate fails closed.
 */
import { withTimeout, type ChainReader, type ChainSession } from './chain.ts';
import { HttpError } from './http.ts';

export interface Entitlement {
  session: ChainSession;
  /** Highest cumulative count the escrow covers; null = no limit (subscription or free stream). */
  allowedTicks: bigint | null;
}

export class Gate {
  /** Per `${stream}:${viewer}:${session}`: latest accepted count and when it advanced (ms). */
  private readonly latest = new Map<string, { ticks: bigint; advancedAt: number }>();

  constructor(
    private readonly chain: ChainReader,
    readonly freshMs = 1_500,
    private readonly readTimeoutMs = 2_000,
    private readonly now = () => Date.now(),
  ) {}

  static key(streamId: bigint, viewer: string, sessionId: bigint): string {
    return `${streamId}:${viewer}:${sessionId}`;
  }

  /** The on-chain facts that decide rules 1 and 3; throws HttpError (402/404/409/503). */
  async entitlement(streamId: bigint, viewer: string, sessionId: bigint): Promise<Entitlement> {
    let session: ChainSession | null;
    try {
      session = await withTimeout(this.chain.session(streamId, viewer), this.readTimeoutMs, 'session_of');
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read, so nothing is served: ${(e as Error).message}`);
    }
    if (!session) throw new HttpError(402, 'NotPaying', `${viewer} has no open session on stream ${streamId}: join it first`);
    if (session.id !== sessionId) {
      throw new HttpError(409, 'WrongSession', `the open session of ${viewer} on stream ${streamId} is ${session.id}, not ${sessionId}`);
    }
    try {
      if (session.ratePerSecond === 0n) return { session, allowedTicks: null };
      const [subscribed, escrow] = await withTimeout(
        Promise.all([this.chain.hasSubscription(viewer, streamId), this.chain.escrow(viewer)]),
        this.readTimeoutMs,
        'escrow_of/has_subscription',
      );
      if (subscribed) return { session, allowedTicks: null };
      return { session, allowedTicks: session.ticksSettled + escrow / session.ratePerSecond };
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read, so nothing is served: ${(e as Error).message}`);
    }
  }

  /** Records an accepted voucher count (the relay calls this); only an advance refreshes. */
  accepted(streamId: bigint, viewer: string, sessionId: bigint, ticks: bigint): void {
    const k = Gate.key(streamId, viewer, sessionId);
    const prev = this.latest.get(k);
    if (!prev || ticks > prev.ticks) this.latest.set(k, { ticks, advancedAt: this.now() });
  }

  latestTicks(streamId: bigint, viewer: string, sessionId: bigint): bigint | undefined {
    return this.latest.get(Gate.key(streamId, viewer, sessionId))?.ticks;
  }

  /** Rule 2 alone. */
  fresh(streamId: bigint, viewer: string, sessionId: bigint): boolean {
    const l = this.latest.get(Gate.key(streamId, viewer, sessionId));
    return !!l && this.now() - l.advancedAt <= this.freshMs;
  }

  /** All three rules; the reason names the first that fails. */
  async decide(streamId: bigint, viewer: string, sessionId: bigint): Promise<{ open: true } | { open: false; reason: string; message: string }> {
    const l = this.latest.get(Gate.key(streamId, viewer, sessionId));
    if (!l || this.now() - l.advancedAt > this.freshMs) {
      return { open: false, reason: 'StaleVoucher', message: `no voucher advanced the count within ${this.freshMs} ms` };
    }
    try {
      const { allowedTicks } = await this.entitlement(streamId, viewer, sessionId);
      if (allowedTicks !== null && l.ticks > allowedTicks) {
        return { open: false, reason: 'EscrowExhausted', message: `the escrow covers ${allowedTicks} ticks, the voucher asks for ${l.ticks}` };
      }
      return { open: true };
    } catch (e) {
      const h = e as HttpError;
      return { open: false, reason: h.name, message: h.message };
    }
  }

  forget(streamId: bigint, viewer: string, sessionId: bigint): void {
    this.latest.delete(Gate.key(streamId, viewer, sessionId));
  }
}

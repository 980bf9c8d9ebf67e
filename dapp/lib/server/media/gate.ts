/**
 * The payment gate: whether a viewer may receive a stream's media right now.
 *
 * Rules (docs/media.md):
 * 1. The viewer has an open on-chain session on the stream with the session id they name.
 * 2. Their latest voucher is fresh: one that advanced the count arrived within `freshMs` (1.5 s).
 * 3. Their latest count is covered: `cumulative ≤ ticks_settled + ⌊escrow / rate⌋` (their session's
 *    locked rate), unless the rate is zero or they hold a live subscription
 *    (payment_handler.has_subscription).
 * A slow or stalled chain does not cut a viewer whose payment the gate can still show: rule 3 is
 * judged against the last coverage read (`ticks_settled + ⌊escrow / rate⌋`, which settlement leaves
 * unchanged: it moves both sides together), trusted for `coverageTrustMs` (60 s) while reads are late
 * or failing, and the vouchers themselves keep being checked against it, so a viewer is still cut
 * within `freshMs` once their signed count reaches that coverage. Only with no reading at all, or
 * one older than that, does the gate fail closed. What a stale reading can miss is escrow withdrawn
 * or a session left meanwhile (today's protocol allows both while watching): at most
 * `coverageTrustMs` of watching, and never more than the coverage that was read (docs/media.md).
 */
import { withTimeout, type ChainReader, type ChainSession } from './chain.ts';
import { HttpError } from './http.ts';

export interface Entitlement {
  session: ChainSession;
  /** Highest cumulative count the escrow covers; null = no limit (subscription or free stream). */
  allowedTicks: bigint | null;
}

export type Decision = { open: true } | { open: false; reason: string; message: string };

export class Gate {
  /** Per `${stream}:${viewer}:${session}`: latest accepted count and when it advanced (ms). */
  private readonly latest = new Map<string, { ticks: bigint; advancedAt: number }>();

  /** Per key: the last entitlement read (or the error of the last read) and when. */
  private readonly known = new Map<string, { value?: Entitlement; error?: HttpError; at: number; goodAt: number }>();
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly sessions = new Map<string, { session: ChainSession; at: number }>();
  private readonly sessionKeyTtlMs = 30_000;

  /** Rule 2's window: a voucher must have advanced the count within this many ms. */
  readonly freshMs: number;
  private readonly readTimeoutMs: number;
  private readonly now: () => number;
  /** How often an entitlement is re-read in the background. */
  private readonly refreshMs: number;
  /** How long the last good coverage read is trusted while the chain does not answer (then: fail closed). */
  private readonly coverageTrustMs: number;

  constructor(
    private readonly chain: ChainReader,
    o: { freshMs?: number; readTimeoutMs?: number; now?: () => number; refreshMs?: number; coverageTrustMs?: number } = {},
  ) {
    this.freshMs = o.freshMs ?? 1_500;
    this.readTimeoutMs = o.readTimeoutMs ?? 5_000;
    this.now = o.now ?? (() => Date.now());
    this.refreshMs = o.refreshMs ?? 1_000;
    this.coverageTrustMs = o.coverageTrustMs ?? 60_000;
  }

  static key(streamId: bigint, viewer: string, sessionId: bigint): string {
    return `${streamId}:${viewer}:${sessionId}`;
  }

  /** The on-chain facts that decide rules 1 and 3; throws HttpError (402/404/409/503). */
  async entitlement(streamId: bigint, viewer: string, sessionId: bigint): Promise<Entitlement> {
    const unreadable = (e: unknown) =>
      new HttpError(503, 'ChainUnavailable', `the chain cannot be read, so nothing is served: ${(e as Error).message}`);
    // ticks_settled and the escrow move together when the relay settles. A settlement landing
    // between the two reads would make the pair understate (or overstate) the runway, so the session
    // is read before and after the escrow and the pair is used only when both reads agree.
    for (let attempt = 0; ; attempt++) {
      let session: ChainSession | null;
      let escrow: bigint;
      let subscribed: boolean;
      try {
        session = await withTimeout(this.chain.session(streamId, viewer), this.readTimeoutMs, 'session_of');
        if (!session || session.id !== sessionId || session.ratePerSecond === 0n) {
          escrow = 0n;
          subscribed = false;
        } else {
          [subscribed, escrow] = await withTimeout(
            Promise.all([this.chain.hasSubscription(viewer, streamId), this.chain.escrow(viewer)]),
            this.readTimeoutMs,
            'escrow_of/has_subscription',
          );
          const again = await withTimeout(this.chain.session(streamId, viewer), this.readTimeoutMs, 'session_of');
          if (again?.ticksSettled !== session.ticksSettled || again.id !== session.id) {
            if (attempt < 2) continue;
            throw new Error('the session changed under every read (settling?)');
          }
        }
      } catch (e) {
        throw unreadable(e);
      }
      if (!session) throw new HttpError(402, 'NotPaying', `${viewer} has no open session on stream ${streamId}: join it first`);
      if (session.id !== sessionId) {
        throw new HttpError(409, 'WrongSession', `the open session of ${viewer} on stream ${streamId} is ${session.id}, not ${sessionId}`);
      }
      if (session.ratePerSecond === 0n || subscribed) return { session, allowedTicks: null };
      return { session, allowedTicks: session.ticksSettled + escrow / session.ratePerSecond };
    }
  }

  /**
   * Records an accepted voucher count (the relay calls this); only an advance refreshes. The window
   * runs from acceptance: time the server spends reading the chain is not the viewer's fault.
   */
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

  /**
   * All three rules, decided at once from what is known now (the gate loop calls this every 250 ms
   * and must never wait on the chain): the entitlement is refreshed in the background every
   * `refreshMs`; the last one read is used while it is at most `coverageTrustMs` old, after which the
   * viewer is closed until the chain answers again (fail closed).
   */
  decideNow(streamId: bigint, viewer: string, sessionId: bigint, freshAsOf = this.now()): Decision {
    const k = Gate.key(streamId, viewer, sessionId);
    const l = this.latest.get(k);
    const e = this.known.get(k);
    if (!e || this.now() - e.at >= this.refreshMs) void this.refresh(streamId, viewer, sessionId);
    if (!l || freshAsOf - l.advancedAt > this.freshMs) {
      return { open: false, reason: 'StaleVoucher', message: `no voucher advanced the count within ${this.freshMs} ms` };
    }
    if (e?.error && e.error.name !== 'ChainUnavailable') return { open: false, reason: e.error.name, message: e.error.message };
    const good = e?.value && this.now() - e.goodAt <= this.coverageTrustMs ? e.value : undefined;
    if (!good) {
      const message = e?.value
        ? `payment cannot be shown: the chain has not answered for ${Math.round((this.now() - e.goodAt) / 1000)} s`
        : (e?.error?.message ?? 'payment cannot be shown yet: the chain has not been read');
      return { open: false, reason: 'ChainUnavailable', message };
    }
    if (good.allowedTicks !== null && l.ticks > good.allowedTicks) {
      return { open: false, reason: 'EscrowExhausted', message: `the escrow covers ${good.allowedTicks} ticks, the voucher asks for ${l.ticks}` };
    }
    return { open: true };
  }

  /**
   * Decides with an entitlement at most `refreshMs` old (reading it first if need be). Freshness
   * (rule 2) is judged as of `arrivedAt`, when the request came in: the time spent here reading the
   * chain is not the viewer's fault (the gate loop judges it in real time from then on).
   */
  async decide(streamId: bigint, viewer: string, sessionId: bigint, arrivedAt = this.now()): Promise<Decision> {
    await this.currentEntitlement(streamId, viewer, sessionId, this.refreshMs).catch(() => {});
    return this.decideNow(streamId, viewer, sessionId, arrivedAt);
  }

  /**
   * The entitlement as last read, if read within `maxAgeMs` (default: as long as it is trusted);
   * otherwise read now. Keeps the voucher path free of chain round trips, and working while the chain
   * is slow: the background refresh keeps the reading current.
   */
  async currentEntitlement(streamId: bigint, viewer: string, sessionId: bigint, maxAgeMs = this.coverageTrustMs): Promise<Entitlement> {
    const k = Gate.key(streamId, viewer, sessionId);
    let e = this.known.get(k);
    if (e && this.now() - e.at >= this.refreshMs) void this.refresh(streamId, viewer, sessionId);
    // Top-ups, withdrawals and leaving are the only things that move `allowedTicks` (settlement
    // moves ticks_settled and the escrow together), so an older reading still bounds what is covered.
    if (!e || (e.error && !e.value) || this.now() - e.goodAt >= maxAgeMs) {
      await this.refresh(streamId, viewer, sessionId);
      e = this.known.get(k)!;
    }
    if (e.error && (e.error.name !== 'ChainUnavailable' || !e.value || this.now() - e.goodAt > this.coverageTrustMs)) throw e.error;
    return e.value!;
  }

  /**
   * The session's key and id, which do not change while it is open: read once, then re-read in the
   * background every `sessionKeyTtlMs` (the voucher path does not wait for that, so a slow chain
   * does not refuse a known session's vouchers), and read at once when a voucher names another
   * session id. A session that ended is noticed by the entitlement read (rule 1).
   */
  async sessionKey(streamId: bigint, viewer: string, sessionId: bigint): Promise<ChainSession> {
    const k = `${streamId}:${viewer}`;
    const hit = this.sessions.get(k);
    if (hit && hit.session.id === sessionId) {
      if (this.now() - hit.at >= this.sessionKeyTtlMs) {
        hit.at = this.now(); // one background read per period, however many vouchers arrive
        void this.readSession(streamId, viewer).catch(() => {});
      }
      return hit.session;
    }
    const session = await this.readSession(streamId, viewer);
    if (session.id !== sessionId) {
      throw new HttpError(409, 'WrongSession', `the open session of ${viewer} on stream ${streamId} is ${session.id}, not ${sessionId}`);
    }
    return session;
  }

  private async readSession(streamId: bigint, viewer: string): Promise<ChainSession> {
    const k = `${streamId}:${viewer}`;
    let session: ChainSession | null;
    try {
      session = await withTimeout(this.chain.session(streamId, viewer), this.readTimeoutMs, 'session_of');
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read, so nothing is served: ${(e as Error).message}`);
    }
    if (!session) {
      this.sessions.delete(k);
      throw new HttpError(402, 'NotPaying', `${viewer} has no open session on stream ${streamId}: join it first`);
    }
    this.sessions.set(k, { session, at: this.now() });
    if (this.sessions.size > 100_000) this.sessions.clear();
    return session;
  }

  private refresh(streamId: bigint, viewer: string, sessionId: bigint): Promise<void> {
    const k = Gate.key(streamId, viewer, sessionId);
    const pending = this.refreshing.get(k);
    if (pending) return pending;
    const p = this.entitlement(streamId, viewer, sessionId)
      .then(
        (value) => {
          const t = this.now();
          this.known.set(k, { value, at: t, goodAt: t });
        },
        (error: HttpError) => {
          const prev = this.known.get(k);
          this.known.set(k, { value: prev?.value, goodAt: prev?.goodAt ?? 0, at: this.now(), error });
        },
      )
      .finally(() => this.refreshing.delete(k));
    this.refreshing.set(k, p);
    return p;
  }

  forget(streamId: bigint, viewer: string, sessionId: bigint): void {
    const k = Gate.key(streamId, viewer, sessionId);
    this.latest.delete(k);
    this.known.delete(k);
  }
}

/**
 * The tab's voucher loop (protocol v2): every second the session key signs one voucher carrying every
 * watch of the tab the relay has not retired — the current watch one second further — and posts it to
 * the media server (POST /api/tab-vouchers). A count advances only when the relay accepts the voucher
 * that signs it, so the viewer never signs for seconds they did not receive; the relay's answer says
 * what is settled and which watches it retired (those are no longer carried).
 */
import { MAX_WATCHES, signTabVoucher, type Claim, type SignedTabVoucher, type TabScope } from '../protocol/tab.ts';
import type { SessionKey } from '../protocol/voucher.ts';
import { resolveUrl } from './errors.ts';
import { fromWireWatches, toTabWire, type WatchReport } from './tab-wire.ts';

export type { WatchReport };

export interface TabTick {
  accepted: boolean;
  /** The server's error name and message, or a network failure. */
  error?: string;
  watches: WatchReport[];
}

export class TabTicker {
  private readonly claims = new Map<number, Claim>();
  private current: number | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;
  private last: SignedTabVoucher | undefined;
  private sent: SignedTabVoucher | undefined;

  constructor(
    private readonly o: {
      scope: TabScope;
      key: SessionKey;
      baseUrl?: string;
      onTick?: (t: TabTick) => void;
      /** Whether the tab covers these counts (the gate's rule, from the last read of the tab); absent: always. */
      covers?: (next: Claim[]) => boolean;
    },
  ) {}

  /** Starts a new watch of `streamId` at `ratePerSecond` (the stream's rate now) and advances it every second. */
  startWatch(watch: number, streamId: bigint, ratePerSecond: bigint): void {
    if (this.claims.size >= MAX_WATCHES) {
      // The relay retires watches left behind when it settles; until then the oldest is dropped from
      // vouchers (its latest voucher is already with the relay).
      this.claims.delete(Math.min(...this.claims.keys()));
    }
    this.claims.set(watch, { watch, streamId, ratePerSecond, ticks: 0n });
    this.current = watch;
    if (!this.timer) this.timer = setInterval(() => void this.tick(), 1_000);
    void this.tick();
  }

  /** Advances watch `watch` again from its count (after `stopWatch`); false if it is no longer carried. */
  resumeWatch(watch: number): boolean {
    if (!this.claims.has(watch)) return false;
    this.current = watch;
    if (!this.timer) this.timer = setInterval(() => void this.tick(), 1_000);
    void this.tick();
    return true;
  }

  /** Forgets watch `watch` if no accepted voucher carried it (a start the relay refused): later vouchers leave it out. */
  dropUnaccepted(watch: number): void {
    if (this.last?.claims.some((c) => c.watch === watch)) return;
    this.claims.delete(watch);
    if (this.current === watch) this.current = null;
  }

  /** Stops advancing the current watch (its count so far stays carried until the relay retires it). */
  stopWatch(): void {
    this.current = null;
  }

  /** Carries a watch begun earlier (after a reload): `ticks` is what was last accepted. */
  carry(c: Claim): void {
    if (!this.claims.has(c.watch)) this.claims.set(c.watch, c);
  }

  /** Every watch the next voucher will carry, with its accepted count (to keep across a reload). */
  carried(): Claim[] {
    return [...this.claims.values()];
  }

  get currentWatch(): number | null {
    return this.current;
  }

  ticksOf(watch: number): bigint {
    return this.claims.get(watch)?.ticks ?? 0n;
  }

  /** The latest voucher the relay accepted (for WHEP and "Settle now"). */
  latest(): SignedTabVoucher | undefined {
    return this.last;
  }

  /** The voucher on its way to the relay, not answered yet (video may be asked with it: the media server checks it as the relay does). */
  sending(): SignedTabVoucher | undefined {
    return this.sent;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.current = null;
  }

  private async tick(): Promise<void> {
    // Nothing advances while no stream is watched: nothing to sign or send.
    if (this.inFlight || !this.claims.size || this.current === null) return;
    const next = [...this.claims.values()]
      .map((c) => ({ ...c, ticks: c.watch === this.current ? c.ticks + 1n : c.ticks }))
      .sort((a, b) => a.watch - b.watch);
    // A second the tab cannot pay for is not signed (the gate would refuse it): the watch waits for a top-up.
    if (this.o.covers && !this.o.covers(next)) {
      this.o.onTick?.({ accepted: false, error: 'TabExhausted: the tab does not cover another second of this watch', watches: [] });
      return;
    }
    const signed = signTabVoucher(this.o.key, this.o.scope, next);
    this.inFlight = true;
    this.sent = signed;
    try {
      const res = await fetch(resolveUrl(this.o.baseUrl, '/api/tab-vouchers'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(toTabWire(signed)),
      });
      const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string; watches?: Parameters<typeof fromWireWatches>[0] };
      if (res.status === 202) {
        for (const c of next) this.claims.set(c.watch, c);
        this.last = signed;
        const watches = fromWireWatches(body.watches);
        for (const w of watches) if (w.retired && w.watch !== this.current) this.claims.delete(w.watch);
        this.o.onTick?.({ accepted: true, watches });
      } else {
        this.o.onTick?.({ accepted: false, error: `${body.error ?? res.status}: ${body.message ?? ''}`.trim(), watches: [] });
      }
    } catch (e) {
      this.o.onTick?.({ accepted: false, error: `Unreachable: ${(e as Error).message}`, watches: [] });
    } finally {
      this.inFlight = false;
      this.sent = undefined;
    }
  }
}

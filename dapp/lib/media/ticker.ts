/**
 * Signs the next cumulative voucher every second with the session key and posts it to the media
 * server's relay (POST /api/vouchers). The count only advances when the server accepts a voucher: a
 * refused second (escrow exhausted, server unreachable) is signed again, not skipped, so the viewer
 * never signs for seconds they did not receive.
 */
import type { SessionKey, SignedVoucher } from '../protocol/voucher.ts';
import { resolveUrl } from './errors.ts';
import { toWire } from './wire.ts';

export interface TickEvent {
  ticks: bigint;
  accepted: boolean;
  /** The server's error name and message, or a network failure. */
  error?: string;
}

export class VoucherTicker {
  private count: bigint;
  private last: SignedVoucher | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = false;

  constructor(
    private readonly o: {
      contract: string;
      key: SessionKey;
      streamId: bigint;
      viewer: string;
      sessionId: bigint;
      startTicks: bigint;
      maxTicks?: bigint;
      baseUrl?: string;
      onTick?: (e: TickEvent) => void;
    },
  ) {
    this.count = o.startTicks;
  }

  /** Starts ticking: the first voucher goes out at once, then one a second. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), 1_000);
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Seconds accepted so far (the session's cumulative count). */
  get ticks(): bigint {
    return this.count;
  }

  /** The latest voucher the server accepted. */
  latest(): SignedVoucher | undefined {
    return this.last;
  }

  private async tick(): Promise<void> {
    if (this.inFlight) return;
    const next = this.count + 1n;
    if (this.o.maxTicks !== undefined && next > this.o.maxTicks) {
      this.stop();
      this.o.onTick?.({ ticks: this.count, accepted: false, error: 'Runway: the deposit is used up' });
      return;
    }
    const signed = this.o.key.sign(this.o.contract, {
      streamId: this.o.streamId,
      viewer: this.o.viewer,
      sessionId: this.o.sessionId,
      cumulativeTicks: next,
    });
    this.inFlight = true;
    try {
      const res = await fetch(resolveUrl(this.o.baseUrl, '/api/vouchers'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(toWire(signed)),
      });
      if (res.status === 202) {
        if (next > this.count) this.count = next;
        this.last = signed;
        this.o.onTick?.({ ticks: this.count, accepted: true });
      } else {
        const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
        this.o.onTick?.({ ticks: this.count, accepted: false, error: `${body.error ?? res.status}: ${body.message ?? ''}`.trim() });
      }
    } catch (e) {
      this.o.onTick?.({ ticks: this.count, accepted: false, error: `Unreachable: ${(e as Error).message}` });
    } finally {
      this.inFlight = false;
    }
  }
}

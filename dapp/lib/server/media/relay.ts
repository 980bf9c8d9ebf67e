/**
 * The settlement relay (the original design's off-chain tick worker). It accepts a voucher only when
 * the session key of the viewer's on-chain session signed it and the escrow covers it, stores the
 * latest per session in SQLite before answering, and every `intervalMs` settles what is due with
 * `record_ticks_batch` (≤ 100 vouchers, in as many extrinsics as their weight needs): each session
 * at least `minTicks` ahead of what it settled before (1 by default: every advance), and each
 * session whose vouchers stopped `IDLE_MS` ago, so a viewer's final count is settled whatever its size. Vouchers are cumulative and the contract pays
 * only `count − ticks_settled`, so resubmitting after a crash never charges twice.
 *
 * `minTicks` trades fees for exposure: each settlement costs the relay a fee, and a viewer who leaves
 * on chain with an older voucher of their own (the contract accepts any voucher of theirs) escapes
 * paying for at most the ticks not yet settled, i.e. fewer than `minTicks` + one interval's worth.
 */
import { verifyVoucher, type SignedVoucher } from '../../protocol/voucher.ts';
import type { ChainReader, ChainSettler } from './chain.ts';
import type { Gate } from './gate.ts';
import { HttpError } from './http.ts';
import type { Metrics } from './metrics.ts';
import type { Store } from './store.ts';

export const MAX_BATCH = 100;
/**
 * The highest `minTicks` allowed. tick_stream lets anyone end a session nobody has settled for
 * IDLE_TIMEOUT_MS (10 min); a watching viewer's count grows one tick a second, so settling at least
 * every 300 ticks keeps a settlement within 5 min of the last, well inside that timeout.
 */
export const MAX_MIN_TICKS = 300;
/** A session with no new voucher for this long is settled at the next round, whatever its count. */
export const IDLE_MS = 5_000;
/**
 * A settlement not reported in a block within this long is given up on for this round (nothing is
 * marked settled; the next round resubmits, which is safe: vouchers are cumulative). Without it, one
 * transaction whose inclusion was never reported would stop every later settlement.
 */
export const SETTLE_TIMEOUT_MS = 60_000;

export interface RelayLog {
  (line: string): void;
}

export class Relay {
  private timer: ReturnType<typeof setInterval> | undefined;
  private settling: Promise<void> | undefined;

  constructor(
    private readonly o: {
      chain: ChainReader;
      settler?: ChainSettler;
      store: Store;
      gate: Gate;
      metrics: Metrics;
      intervalMs: number;
      /** Settle a session only once this many ticks are unsettled (or its vouchers stopped). Default 1. */
      minTicks?: bigint;
      log?: RelayLog;
      /** Called after each included settlement (the server drops its chain-read cache). */
      onSettled?: () => void;
    },
  ) {}

  /** Checks and stores a voucher; returns what the viewer has signed and what is settled. */
  async accept(
    signed: SignedVoucher,
    o: { recentWithin?: bigint; storedAtArrival?: bigint } = {},
  ): Promise<{ cumulativeTicks: bigint; settledTicks: bigint }> {
    try {
      return await this.check(signed, o.recentWithin, o.storedAtArrival);
    } catch (e) {
      if (e instanceof HttpError) this.o.metrics.reject(e.name);
      throw e;
    }
  }

  /**
   * `recentWithin`: also accept (without storing) a voucher up to this many ticks older than the
   * latest, if it is not settled yet — for WHEP, where the voucher proves who asks and the ticker may
   * have moved on while the offer was made. Settled vouchers are public on chain, so never those.
   * `storedAtArrival` (what `latestTicks` said when the request came in) widens the window by the
   * ticks stored while the request waited on the chain, so a slow server does not turn a fresh
   * voucher into a stale one.
   */
  private async check(
    signed: SignedVoucher,
    recentWithin?: bigint,
    storedAtArrival?: bigint,
  ): Promise<{ cumulativeTicks: bigint; settledTicks: bigint }> {
    const { streamId, viewer, sessionId, cumulativeTicks } = signed.voucher;
    const { chain, gate, store } = this.o;
    let session;
    try {
      session = await gate.sessionKey(streamId, viewer, sessionId);
    } catch (e) {
      // Say "no such stream" rather than "no session" when that is the reason.
      if (e instanceof HttpError && e.name === 'NotPaying' && !(await chain.stream(streamId).catch(() => true))) {
        throw new HttpError(404, 'StreamNotFound', `there is no stream ${streamId}`);
      }
      throw e;
    }
    if (!verifyVoucher(chain.tickStream, session.sessionKey, signed)) {
      throw new HttpError(401, 'BadSignature', 'the signature is not the session key’s signature of this voucher');
    }
    let { session: now, allowedTicks } = await gate.currentEntitlement(streamId, viewer, sessionId);
    if (allowedTicks !== null && cumulativeTicks > allowedTicks) {
      // Past the runway as last read: read again before refusing (a top-up may have just landed).
      ({ session: now, allowedTicks } = await gate.currentEntitlement(streamId, viewer, sessionId, 0));
    }
    const stored = store.latest(streamId, viewer, sessionId);
    const repeat = stored !== undefined && cumulativeTicks === stored.cumulativeTicks;
    const settledHere = stored && stored.settledTicks > now.ticksSettled ? stored.settledTicks : now.ticksSettled;
    const waitedFor =
      stored && storedAtArrival !== undefined && stored.cumulativeTicks > storedAtArrival ? stored.cumulativeTicks - storedAtArrival : 0n;
    if (
      recentWithin !== undefined &&
      stored &&
      cumulativeTicks < stored.cumulativeTicks &&
      cumulativeTicks > settledHere &&
      stored.cumulativeTicks - cumulativeTicks <= recentWithin + waitedFor
    ) {
      return { cumulativeTicks: stored.cumulativeTicks, settledTicks: settledHere };
    }
    if (!repeat && (cumulativeTicks <= settledHere || (stored && cumulativeTicks < stored.cumulativeTicks))) {
      const at = stored && stored.cumulativeTicks > settledHere ? stored.cumulativeTicks : settledHere;
      throw new HttpError(409, 'StaleVoucher', `the voucher counts ${cumulativeTicks} ticks; this session is already at ${at}`);
    }
    if (allowedTicks !== null && cumulativeTicks > allowedTicks) {
      throw new HttpError(402, 'EscrowExhausted', `the escrow covers ${allowedTicks} ticks of this session, the voucher asks for ${cumulativeTicks}: top up to keep watching`);
    }
    store.saveLatest({ streamId, viewer, sessionId, cumulativeTicks, signature: signed.signature, receivedAtMs: Date.now() });
    gate.accepted(streamId, viewer, sessionId, cumulativeTicks);
    this.o.metrics.vouchersAccepted++;
    return { cumulativeTicks, settledTicks: settledHere };
  }

  /** The newest stored count for a session (0 if none): a cheap, synchronous read. */
  latestTicks(streamId: bigint, viewer: string, sessionId: bigint): bigint {
    return this.o.store.latest(streamId, viewer, sessionId)?.cumulativeTicks ?? 0n;
  }

  start(): void {
    if (this.timer || !this.o.settler) return;
    this.timer = setInterval(() => void this.settleNow(), this.o.intervalMs);
  }

  /** Settles every stored voucher that is due (see the class comment), in batches of ≤ 100. */
  settleNow(): Promise<void> {
    if (!this.settling) {
      this.settling = this.settleAll().finally(() => {
        this.settling = undefined;
      });
    }
    return this.settling;
  }

  private async settleAll(): Promise<void> {
    const { settler, store, metrics, log } = this.o;
    if (!settler) return;
    for (let round = 0; round < 50; round++) {
      const batch = store.unsettled(MAX_BATCH, { minTicks: this.o.minTicks, idleSinceMs: Date.now() - IDLE_MS });
      if (!batch.length) return;
      const t0 = Date.now();
      let settled;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        settled = await Promise.race([
          settler.settle(
            batch.map((v) => ({ voucher: { streamId: v.streamId, viewer: v.viewer, sessionId: v.sessionId, cumulativeTicks: v.cumulativeTicks }, signature: v.signature })),
          ),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`not reported in a block within ${SETTLE_TIMEOUT_MS / 1000} s; resubmitting next round`)), SETTLE_TIMEOUT_MS);
          }),
        ]);
      } catch (e) {
        metrics.settlementFailures++;
        log?.(`[relay] settlement of ${batch.length} vouchers failed: ${(e as Error).message}`);
        return;
      } finally {
        clearTimeout(timer);
      }
      const which = batch.length <= 5 ? `: ${batch.map((v) => `${v.streamId}/${v.sessionId}@${v.cumulativeTicks}`).join(' ')}` : '';
      const carriers = settled.extrinsics === 1 ? 'in a block' : `in ${settled.extrinsics} extrinsics (one cannot hold them all)`;
      log?.(`[relay] ${batch.length} voucher${batch.length === 1 ? '' : 's'} submitted, ${carriers} after ${Date.now() - t0} ms${which}`);
      metrics.settled((Date.now() - t0) / 1000, batch.length);
      this.o.onSettled?.();
      batch.forEach((v, i) => {
        const r = settled.results[i];
        if (r && 'ok' in r) store.markSettled(v.streamId, v.viewer, v.sessionId, v.cumulativeTicks);
        if ((r && 'ok' in r && r.ok.sessionEnded) || (r && 'err' in r && ['NoSession', 'WrongSession'].includes(r.err.type))) {
          store.markClosed(v.streamId, v.viewer, v.sessionId);
        }
        if (r && 'err' in r) log?.(`[relay] voucher ${v.streamId}/${v.viewer}/${v.sessionId}@${v.cumulativeTicks} refused: ${r.err.type}`);
        if (!r) log?.(`[relay] voucher ${v.streamId}/${v.viewer}/${v.sessionId}@${v.cumulativeTicks}: the block states no outcome; kept for the next round`);
      });
      if (batch.length < MAX_BATCH) return;
    }
  }

  /** Stops the timer and finishes (or waits for) a settlement in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.settling;
  }
}

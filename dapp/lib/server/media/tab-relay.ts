/**
 * The settlement relay for tabs (protocol v2). It accepts a tab voucher only when the tab's session
 * key signed it, each new watch agrees to the stream's current rate, and the tab covers what its
 * watches would owe (tab-gate.ts); it records the voucher before answering, and settles each tab
 * rarely — nothing forces it to settle often any more, since a tab's balance cannot leave before the
 * dispute window:
 * - when the tab is closing (at once: the window is running),
 * - when what it owes reaches `minOwed` plancks (Livepeer's rule: owed ≥ K × the cost of settling),
 * - when its vouchers stopped `quietMs` ago (the viewer left: their final counts),
 * - when it holds nearly MAX_WATCHES unretired watches (a new one needs a slot),
 * - and at the latest `maxWaitMs` (1 h) after a count first went unsettled, so creators are paid hourly.
 * A settlement retires the watches the viewer left (switched away from, or a tab quiet for 10 min);
 * a paused watch is kept, so it can go on.
 * Vouchers are cumulative, so resubmitting after a crash never charges twice.
 */
import { MAX_WATCHES, verifyTabVoucher, type SignedTabVoucher } from '../../protocol/tab.ts';
import type { WatchReport } from '../../media/tab-wire.ts';
import { withTimeout, type ChainTab, type TabChain, type TabSettleItem, type TabSettler } from './chain.ts';
import { HttpError } from './http.ts';
import type { Metrics } from './metrics.ts';
import type { TabGate } from './tab-gate.ts';
import type { TabStore } from './tab-store.ts';

/** tick_stream's MAX_TAB_BATCH: the most vouchers one settle_tabs call takes. */
export const TAB_BATCH = 110;
/**
 * A settlement not reported in a block within this long is given up on for this round (nothing is
 * marked settled; the next round resubmits, which is safe: vouchers are cumulative). Without it, one
 * transaction whose inclusion was never reported would stop every later settlement.
 */
export const SETTLE_TIMEOUT_MS = 60_000;
/** A tab voucher shown at WHEP / HLS may be this many seconds behind its watch's newest (the ticker moves on meanwhile). */
export const RECENT_TICKS = 5n;
/** A tab whose vouchers stopped this long ago is settled (its viewer left), ms. */
export const TAB_QUIET_MS = 60_000;
/** How long a new watch's refusal waits for the rate to be read again, ms (then the read one stands). */
const FRESH_QUOTE_WAIT_MS = 2_000;
/** A tab is settled once it owes this much: 250 × a settlement's ≈ 10^9-planck fee (Livepeer's rule). */
export const TAB_MIN_OWED = 250_000_000_000n;

export interface TabRelayOptions {
  chain: TabChain;
  settler?: TabSettler;
  store: TabStore;
  gate: TabGate;
  metrics: Metrics;
  intervalMs: number;
  /** Settle a tab once it owes this many plancks (default 2.5 × 10^11: 250 × a settlement's ≈ 10^9 fee). */
  minOwed?: bigint;
  /** A tab with no voucher for this long is settled (default 60 s). */
  quietMs?: number;
  /** A watch whose count has not advanced for this long, while another watch of its tab has, is retired when its tab is settled (default 10 s: its media stopped long before). */
  leftMs?: number;
  /** …and any watch once its whole tab has been quiet this long (default 10 min: the viewer is gone). */
  abandonedMs?: number;
  /** No count waits longer than this to be settled, in ms (default 1 h). */
  maxWaitMs?: number;
  log?: (line: string) => void;
  now?: () => number;
}

export class TabRelay {
  private timer: ReturnType<typeof setInterval> | undefined;
  private settling: Promise<void> | undefined;
  private readonly now: () => number;
  /** Per tab: when a count first went beyond what was settled (cleared by a settlement). */
  private readonly pendingSince = new Map<bigint, number>();

  constructor(private readonly o: TabRelayOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  /**
   * Checks and records a voucher; returns every recorded watch of the tab (what was signed, what is
   * settled), so the viewer's browser knows which watches its next voucher must still carry.
   * Throws HttpError: 401 BadSignature, 402 TabExhausted, 403 OtherRelay, 404 NoTab, 409 TabClosing /
   * WatchTermsChanged / WatchRetired / RateMismatch / SubscriptionEnded / StaleVoucher, 503 ChainUnavailable.
   */
  async accept(signed: SignedTabVoucher): Promise<WatchReport[]> {
    try {
      return await this.check(signed);
    } catch (e) {
      if (e instanceof HttpError) this.o.metrics.reject(e.name);
      throw e;
    }
  }

  /**
   * Accepts a voucher shown to ask for `watch`'s media (WHEP, HLS). It proves who asks, so it must be
   * one only the viewer's browser has: a repeat of one already received is fine, but it must be
   * among the watch's newest (within RECENT_TICKS) and never a settled one — settled vouchers are
   * public in their block, and replaying one would take the paying viewer's place (402 NotPaying).
   */
  async acceptShown(signed: SignedTabVoucher, watch: number): Promise<void> {
    try {
      await this.accept(signed);
    } catch (e) {
      if (!(e instanceof HttpError && e.name === 'StaleVoucher')) throw e;
    }
    const claim = signed.claims.find((c) => c.watch === watch);
    if (!claim) throw new HttpError(403, 'VoucherMismatch', `the voucher carries no watch ${watch}`);
    const recorded = this.o.store.watches(signed.tabId).find((w) => w.watch === watch);
    const onChain = (await this.o.gate.reading(signed.tabId)).watches.find((w) => w.number === watch)?.settled ?? 0n;
    const settled = recorded && recorded.settledTicks > onChain ? recorded.settledTicks : onChain;
    if (claim.ticks <= settled) {
      this.o.metrics.reject('SettledVoucher');
      throw new HttpError(402, 'NotPaying', `the voucher counts ${claim.ticks} seconds of watch ${watch}, which are settled on chain (public): play with the newest voucher`);
    }
    if (recorded && claim.ticks + RECENT_TICKS < recorded.ticks) {
      this.o.metrics.reject('StaleVoucher');
      throw new HttpError(402, 'NotPaying', `the voucher counts ${claim.ticks} seconds of watch ${watch}; it is at ${recorded.ticks}: play with the newest voucher`);
    }
  }

  /**
   * A viewer is looking at `streamId`, on air: reads its registry entry and rate now unless a recent
   * read stands, so that a new watch's first voucher waits on no read of them (on a slow chain each
   * read takes a second or more). The chain's caches bound it: a read of each at most every 30 s
   * per stream, whatever the number of pages asking.
   */
  expectWatches(streamId: bigint): void {
    this.o.chain.expect?.(streamId);
  }

  private async check(signed: SignedTabVoucher): Promise<WatchReport[]> {
    const { chain, gate, store } = this.o;
    let tab = await gate.reading(signed.tabId);
    const scope = { ...(await chain.tabScope()), tabId: signed.tabId };
    if (!verifyTabVoucher(scope, tab.sessionKey, signed)) {
      throw new HttpError(401, 'BadSignature', 'the signature is not the tab’s session key’s signature of this voucher');
    }
    const recorded = new Map(store.watches(signed.tabId).map((w) => [w.watch, w]));
    let advances = false;
    for (const c of signed.claims) {
      const onChain = tab.watches.find((w) => w.number === c.watch);
      const known = onChain ? { streamId: onChain.streamId, ratePerSecond: onChain.ratePerSecond } : recorded.get(c.watch);
      if (!onChain && c.watch < tab.nextWatch) {
        // Retired (settled in full): carried at its final count it is harmless; counted further, refused.
        if (c.ticks > (recorded.get(c.watch)?.ticks ?? 0n)) throw new HttpError(409, 'WatchRetired', `watch ${c.watch} of tab ${tab.id} was retired: start a new watch`);
        continue;
      }
      if (known && (known.streamId !== c.streamId || known.ratePerSecond !== c.ratePerSecond)) {
        throw new HttpError(409, 'WatchTermsChanged', `watch ${c.watch} began on stream ${known.streamId} at ${known.ratePerSecond} plancks/s; this voucher says stream ${c.streamId} at ${c.ratePerSecond}: a voucher cannot change that`);
      }
      if (!known) await this.checkNewWatch(tab, c.streamId, c.ratePerSecond);
      if (c.ticks > (recorded.get(c.watch)?.ticks ?? 0n)) {
        advances = true;
        // A subscriber's watch (rate 0 on a priced stream) counts on only while the subscription lasts.
        if (known && c.ratePerSecond === 0n) await this.checkFreeWatch(tab, c.watch, c.streamId);
      }
    }
    if (!advances && !signed.claims.every((c) => recorded.get(c.watch)?.ticks === c.ticks || (c.watch < tab.nextWatch && !tab.watches.some((w) => w.number === c.watch)))) {
      throw new HttpError(409, 'StaleVoucher', 'every count in this voucher is below one already received');
    }
    // Rule 3 with this voucher's counts.
    const signedNow = new Map(gate.signedOf(signed.tabId));
    for (const c of signed.claims) {
      const prev = signedNow.get(c.watch);
      if (!prev || c.ticks > prev.ticks) signedNow.set(c.watch, { ticks: c.ticks, ratePerSecond: c.ratePerSecond });
    }
    let refusal = gate.refusal(tab, signedNow);
    if (refusal?.name === 'TabExhausted') {
      tab = await gate.reading(signed.tabId, 0); // a top-up may have just landed
      refusal = gate.refusal(tab, signedNow);
    }
    if (refusal) throw refusal;
    if (store.save(signed, this.now()).length && !this.pendingSince.has(signed.tabId)) this.pendingSince.set(signed.tabId, this.now());
    for (const c of signed.claims) gate.accepted(signed.tabId, c.watch, c.ticks, c.ratePerSecond);
    this.o.metrics.vouchersAccepted++;
    return store.watches(signed.tabId).map((w) => {
      const onChain = tab.watches.find((x) => x.number === w.watch)?.settled ?? 0n;
      return { watch: w.watch, streamId: w.streamId, ratePerSecond: w.ratePerSecond, ticks: w.ticks, settledTicks: w.settledTicks > onChain ? w.settledTicks : onChain, retired: w.retired };
    });
  }

  /** A new watch must agree to the stream's current rate (0 only with a live subscription or a free stream). */
  private async checkNewWatch(tab: ChainTab, streamId: bigint, rate: bigint): Promise<void> {
    let quote: bigint;
    const stream = await this.o.chain.stream(streamId).catch((e: Error) => {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read: ${e.message}`);
    });
    if (!stream) throw new HttpError(404, 'StreamNotFound', `there is no stream ${streamId}`);
    try {
      quote = await this.o.chain.quote(streamId);
    } catch (e) {
      // The contract's own refusal (a stream with no price plan yet) is an answer, not an outage.
      const named = (e as { name?: string; error?: { type?: string } }).name === 'ContractError' ? (e as { error: { type: string } }).error.type : null;
      if (named) throw new HttpError(409, named, `stream ${streamId} cannot be watched yet: ${(e as Error).message}`);
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (rate === quote) return;
    if (rate === 0n && (await this.o.chain.hasSubscription(tab.viewer, streamId).catch(() => false))) return;
    // The rate may have come from a recent read: refuse only what the chain disagrees with now (a
    // price that fell since is taken). A chain that does not answer within 2 s leaves the read rate.
    const now = await withTimeout(this.o.chain.quote(streamId, true), FRESH_QUOTE_WAIT_MS, 'quote').catch(() => quote);
    if (rate === now) return;
    quote = now;
    throw new HttpError(409, 'RateMismatch', `stream ${streamId} costs ${quote} plancks/s now; a new watch must sign that rate, not ${rate}`);
  }

  /** 409 SubscriptionEnded when watch `watch` (rate 0) of a priced stream has no live subscription behind it any more. */
  private async checkFreeWatch(tab: ChainTab, watch: number, streamId: bigint): Promise<void> {
    let quote: bigint;
    let subscribed: boolean;
    try {
      [quote, subscribed] = await Promise.all([this.o.chain.quote(streamId), this.o.chain.hasSubscription(tab.viewer, streamId)]);
    } catch (e) {
      throw new HttpError(503, 'ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (quote === 0n || subscribed) return;
    throw new HttpError(409, 'SubscriptionEnded', `watch ${watch} of tab ${tab.id} was free under a subscription to stream ${streamId}, which has ended: start a new watch at ${quote} plancks/s`);
  }

  start(): void {
    if (this.timer || !this.o.settler) return;
    this.timer = setInterval(() => void this.settleNow(), this.o.intervalMs);
  }

  settleNow(): Promise<void> {
    this.settling ??= this.settleDue().finally(() => (this.settling = undefined));
    return this.settling;
  }

  /** The vouchers to submit for one tab now, or none: see the class comment for when a tab is due. */
  async due(tabId: bigint): Promise<TabSettleItem[]> {
    const { store, gate } = this.o;
    const watches = store.watches(tabId).filter((w) => !w.retired);
    const unsettled = watches.filter((w) => w.ticks > w.settledTicks);
    if (!unsettled.length) return [];
    let tab: ChainTab;
    try {
      tab = await gate.reading(tabId, this.o.intervalMs);
    } catch (e) {
      if ((e as HttpError).name === 'NoTab') {
        // Closed and finished before it was due (or between rounds): nothing can be settled from it,
        // so nothing is submitted; said once, as a refusal found on chain is.
        this.o.log?.(`[relay] tab ${tabId} voucher refused: NoTab (the tab was gone when read; the signed seconds of ${unsettled.length} watch${unsettled.length === 1 ? '' : 'es'} dropped, nothing submitted)`);
        store.markGone(tabId);
      }
      return [];
    }
    const now = this.now();
    const last = Math.max(...watches.map((w) => w.receivedAtMs));
    const quiet = now - last >= (this.o.quietMs ?? TAB_QUIET_MS);
    const owes = unsettled.reduce((a, w) => a + w.ratePerSecond * (w.ticks - w.settledTicks), 0n);
    const due =
      tab.closing ||
      quiet ||
      owes >= (this.o.minOwed ?? TAB_MIN_OWED) ||
      watches.length >= MAX_WATCHES - 1 ||
      now - (this.pendingSince.get(tabId) ?? now) >= (this.o.maxWaitMs ?? 3_600_000);
    if (!due) return [];
    // The fewest signed vouchers that carry every unsettled watch's highest count.
    const items = new Map<string, TabSettleItem>();
    const known = new Set(tab.watches.map((w) => w.number));
    // A watch the viewer left is retired with its final count (its slot comes back; coming back to the
    // stream starts a new watch). Left = still for `leftMs` and either another watch of the tab has
    // advanced since (the viewer switched), the tab is closing, or the whole tab has been quiet for
    // `abandonedMs`. A watch merely paused (its stream off air, the tab used up) is kept, so the same
    // watch goes on when the viewer does.
    const leftMs = this.o.leftMs ?? 10_000;
    const abandoned = now - last >= (this.o.abandonedMs ?? 600_000);
    const left = (rec: (typeof watches)[number]) =>
      now - rec.receivedAtMs >= leftMs && (tab.closing || abandoned || watches.some((x) => x.watch !== rec.watch && x.receivedAtMs > rec.receivedAtMs));
    for (const w of unsettled) {
      const retire = new Set<number>();
      for (const c of w.voucher.claims) {
        const rec = watches.find((x) => x.watch === c.watch);
        if (rec && rec.ticks === c.ticks && left(rec)) retire.add(c.watch);
      }
      const prev = items.get(w.voucher.signature);
      items.set(w.voucher.signature, { voucher: w.voucher, known, retire: prev ? new Set([...prev.retire, ...retire]) : retire });
    }
    return [...items.values()];
  }

  private async settleDue(): Promise<void> {
    const { settler, store, metrics, gate, log } = this.o;
    if (!settler) return;
    const items: TabSettleItem[] = [];
    for (const tabId of store.unsettledTabs()) {
      items.push(...(await this.due(tabId)));
      if (items.length >= TAB_BATCH) break;
    }
    if (!items.length) return;
    const t0 = this.now();
    let settled;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      settled = await Promise.race([
        settler.settleTabs(items.slice(0, TAB_BATCH)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not reported in a block within ${SETTLE_TIMEOUT_MS / 1000} s; resubmitting next round`)), SETTLE_TIMEOUT_MS);
        }),
      ]);
    } catch (e) {
      metrics.settlementFailures++;
      log?.(`[relay] settlement of ${items.length} tab vouchers failed: ${(e as Error).message}`);
      return;
    } finally {
      clearTimeout(timer);
    }
    log?.(`[relay] ${items.length} tab voucher${items.length === 1 ? '' : 's'} settled in ${settled.extrinsics} extrinsic${settled.extrinsics === 1 ? '' : 's'} after ${this.now() - t0} ms`);
    metrics.settled((this.now() - t0) / 1000, items.length);
    items.slice(0, TAB_BATCH).forEach((item, i) => {
      const r = settled.results[i];
      const tabId = item.voucher.tabId;
      if (r && 'ok' in r) {
        for (const w of r.ok) store.markSettled(tabId, w.watch, w.settled, w.retired);
        this.pendingSince.delete(tabId);
      }
      if (r && 'err' in r) {
        log?.(`[relay] tab ${tabId} voucher refused: ${r.err.type}`);
        if (r.err.type === 'NoTab' || r.err.type === 'DisputeWindowOver') store.markGone(tabId);
      }
      if (!r) log?.(`[relay] tab ${tabId}: the block states no outcome; kept for the next round`);
      gate.invalidate(tabId);
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.settling;
  }
}

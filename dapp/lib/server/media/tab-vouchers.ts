/**
 * The relay's first half (protocol v2): accepting tab vouchers. A voucher is accepted only when the
 * tab's session key signed it, each new watch agrees to the stream's current rate, and the tab covers
 * what its watches would owe (tab-gate.ts); it is recorded (tab-store.ts) before the answer, so an
 * accepted second is never lost. Settling what was recorded is the other half (tab-settlement.ts).
 */
import { verifyTabVoucher, type SignedTabVoucher } from '../../protocol/tab.ts';
import type { WatchReport } from '../../media/tab-wire.ts';
import { withTimeout, type ChainTab, type TabChain } from './chain.ts';
import { Refusal } from '../refusals.ts';
import type { Metrics } from './metrics.ts';
import type { TabGate } from './tab-gate.ts';
import type { TabStore } from './tab-store.ts';

/** A tab voucher shown at WHEP / HLS may be this many seconds behind its watch's newest (the ticker moves on meanwhile). */
export const RECENT_TICKS = 5n;
/** How long a new watch's refusal waits for the rate to be read again, ms (then the read one stands). */
const FRESH_QUOTE_WAIT_MS = 2_000;

export interface TabVoucherOptions {
  chain: TabChain;
  store: TabStore;
  gate: TabGate;
  metrics: Metrics;
  /** A voucher raised a count beyond what is settled (the settlement's clock for `maxWaitMs` starts). */
  onUnsettled?: (tabId: bigint) => void;
  now?: () => number;
}

export class TabVouchers {
  private readonly now: () => number;

  constructor(private readonly o: TabVoucherOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  /**
   * Checks and records a voucher; returns every recorded watch of the tab (what was signed, what is
   * settled), so the viewer's browser knows which watches its next voucher must still carry.
   * Throws a Refusal: 401 BadSignature, 402 TabExhausted, 403 OtherRelay, 404 NoTab, 409 TabClosing /
   * WatchTermsChanged / WatchRetired / RateMismatch / SubscriptionEnded / StaleVoucher, 503 ChainUnavailable.
   */
  async accept(signed: SignedTabVoucher): Promise<WatchReport[]> {
    try {
      return await this.check(signed);
    } catch (e) {
      if (e instanceof Refusal) this.o.metrics.reject(e.name);
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
      if (!(e instanceof Refusal && e.name === 'StaleVoucher')) throw e;
    }
    const claim = signed.claims.find((c) => c.watch === watch);
    if (!claim) throw new Refusal('VoucherMismatch', `the voucher carries no watch ${watch}`);
    const recorded = this.o.store.watches(signed.tabId).find((w) => w.watch === watch);
    const onChain = (await this.o.gate.reading(signed.tabId)).watches.find((w) => w.number === watch)?.settled ?? 0n;
    const settled = recorded && recorded.settledTicks > onChain ? recorded.settledTicks : onChain;
    if (claim.ticks <= settled) {
      this.o.metrics.reject('SettledVoucher');
      throw new Refusal('NotPaying', `the voucher counts ${claim.ticks} seconds of watch ${watch}, which are settled on chain (public): play with the newest voucher`);
    }
    if (recorded && claim.ticks + RECENT_TICKS < recorded.ticks) {
      this.o.metrics.reject('StaleVoucher');
      throw new Refusal('NotPaying', `the voucher counts ${claim.ticks} seconds of watch ${watch}; it is at ${recorded.ticks}: play with the newest voucher`);
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
      throw new Refusal('BadSignature', 'the signature is not the tab’s session key’s signature of this voucher');
    }
    const recorded = new Map(store.watches(signed.tabId).map((w) => [w.watch, w]));
    let advances = false;
    for (const c of signed.claims) {
      const onChain = tab.watches.find((w) => w.number === c.watch);
      const known = onChain ? { streamId: onChain.streamId, ratePerSecond: onChain.ratePerSecond } : recorded.get(c.watch);
      if (!onChain && c.watch < tab.nextWatch) {
        // Retired (settled in full): carried at its final count it is harmless; counted further, refused.
        if (c.ticks > (recorded.get(c.watch)?.ticks ?? 0n)) throw new Refusal('WatchRetired', `watch ${c.watch} of tab ${tab.id} was retired: start a new watch`);
        continue;
      }
      if (known && (known.streamId !== c.streamId || known.ratePerSecond !== c.ratePerSecond)) {
        throw new Refusal('WatchTermsChanged', `watch ${c.watch} began on stream ${known.streamId} at ${known.ratePerSecond} plancks/s; this voucher says stream ${c.streamId} at ${c.ratePerSecond}: a voucher cannot change that`);
      }
      if (!known) await this.checkNewWatch(tab, c.streamId, c.ratePerSecond);
      if (c.ticks > (recorded.get(c.watch)?.ticks ?? 0n)) {
        advances = true;
        // A subscriber's watch (rate 0 on a priced stream) counts on only while the subscription lasts.
        if (known && c.ratePerSecond === 0n) await this.checkFreeWatch(tab, c.watch, c.streamId);
      }
    }
    if (!advances && !signed.claims.every((c) => recorded.get(c.watch)?.ticks === c.ticks || (c.watch < tab.nextWatch && !tab.watches.some((w) => w.number === c.watch)))) {
      throw new Refusal('StaleVoucher', 'every count in this voucher is below one already received');
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
    if (store.save(signed, this.now()).length) this.o.onUnsettled?.(signed.tabId);
    for (const c of signed.claims) gate.accepted(signed.tabId, c.watch, c.ticks, c.ratePerSecond);
    this.o.metrics.accepted();
    return store.watches(signed.tabId).map((w) => {
      const onChain = tab.watches.find((x) => x.number === w.watch)?.settled ?? 0n;
      return { watch: w.watch, streamId: w.streamId, ratePerSecond: w.ratePerSecond, ticks: w.ticks, settledTicks: w.settledTicks > onChain ? w.settledTicks : onChain, retired: w.retired };
    });
  }

  /** A new watch must agree to the stream's current rate (0 only with a live subscription or a free stream). */
  private async checkNewWatch(tab: ChainTab, streamId: bigint, rate: bigint): Promise<void> {
    let quote: bigint;
    const stream = await this.o.chain.stream(streamId).catch((e: Error) => {
      throw new Refusal('ChainUnavailable', `the chain cannot be read: ${e.message}`);
    });
    if (!stream) throw new Refusal('StreamNotFound', `there is no stream ${streamId}`);
    try {
      quote = await this.o.chain.quote(streamId);
    } catch (e) {
      // The contract's own refusal (a stream with no price plan yet) is an answer, not an outage.
      const named = (e as { name?: string; error?: { type?: string } }).name === 'ContractError' ? (e as { error: { type: string } }).error.type : null;
      if (named) throw Refusal.contract(named, `stream ${streamId} cannot be watched yet: ${(e as Error).message}`);
      throw new Refusal('ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (rate === quote) return;
    if (rate === 0n && (await this.o.chain.hasSubscription(tab.viewer, streamId).catch(() => false))) return;
    // The rate may have come from a recent read: refuse only what the chain disagrees with now (a
    // price that fell since is taken). A chain that does not answer within 2 s leaves the read rate.
    const now = await withTimeout(this.o.chain.quote(streamId, true), FRESH_QUOTE_WAIT_MS, 'quote').catch(() => quote);
    if (rate === now) return;
    quote = now;
    throw new Refusal('RateMismatch', `stream ${streamId} costs ${quote} plancks/s now; a new watch must sign that rate, not ${rate}`);
  }

  /** 409 SubscriptionEnded when watch `watch` (rate 0) of a priced stream has no live subscription behind it any more. */
  private async checkFreeWatch(tab: ChainTab, watch: number, streamId: bigint): Promise<void> {
    let quote: bigint;
    let subscribed: boolean;
    try {
      [quote, subscribed] = await Promise.all([this.o.chain.quote(streamId), this.o.chain.hasSubscription(tab.viewer, streamId)]);
    } catch (e) {
      throw new Refusal('ChainUnavailable', `the chain cannot be read: ${(e as Error).message}`);
    }
    if (quote === 0n || subscribed) return;
    throw new Refusal('SubscriptionEnded', `watch ${watch} of tab ${tab.id} was free under a subscription to stream ${streamId}, which has ended: start a new watch at ${quote} plancks/s`);
  }
}

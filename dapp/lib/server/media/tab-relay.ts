/**
 * The settlement relay for tabs (protocol v2), in two halves: accepting vouchers (tab-vouchers.ts:
 * signature, terms, coverage; recorded before the answer) and settling them (tab-settlement.ts: when
 * a tab is due, in batches, read back from the block's events). The relay is the two, wired so that
 * a recorded count starts the settlement's clock.
 */
import type { SignedTabVoucher } from '../../protocol/tab.ts';
import type { WatchReport } from '../../media/tab-wire.ts';
import type { TabChain, TabSettleItem, TabSettler } from './chain.ts';
import type { Metrics } from './metrics.ts';
import type { TabGate } from './tab-gate.ts';
import type { TabStore } from './tab-store.ts';
import { TabSettlement, type TabSettlementOptions } from './tab-settlement.ts';
import { TabVouchers } from './tab-vouchers.ts';

export { RECENT_TICKS } from './tab-vouchers.ts';
export { SETTLE_TIMEOUT_MS, TAB_BATCH, TAB_MIN_OWED, TAB_QUIET_MS } from './tab-settlement.ts';

export interface TabRelayOptions extends TabSettlementOptions {
  chain: TabChain;
  settler?: TabSettler;
  store: TabStore;
  gate: TabGate;
  metrics: Metrics;
}

export class TabRelay {
  readonly vouchers: TabVouchers;
  readonly settlement: TabSettlement;

  constructor(o: TabRelayOptions) {
    this.settlement = new TabSettlement(o);
    this.vouchers = new TabVouchers({ ...o, onUnsettled: (tabId) => this.settlement.unsettled(tabId) });
  }

  /** TabVouchers.accept: checks and records a voucher (a Refusal when refused). */
  accept(signed: SignedTabVoucher): Promise<WatchReport[]> {
    return this.vouchers.accept(signed);
  }

  /** TabVouchers.acceptShown: a voucher shown to ask for `watch`'s media. */
  acceptShown(signed: SignedTabVoucher, watch: number): Promise<void> {
    return this.vouchers.acceptShown(signed, watch);
  }

  /** TabVouchers.expectWatches: a viewer is looking at `streamId`; its terms are read ahead. */
  expectWatches(streamId: bigint): void {
    this.vouchers.expectWatches(streamId);
  }

  /** TabSettlement.due: the vouchers to submit for one tab now, or none. */
  due(tabId: bigint): Promise<TabSettleItem[]> {
    return this.settlement.due(tabId);
  }

  start(): void {
    this.settlement.start();
  }

  settleNow(): Promise<void> {
    return this.settlement.settleNow();
  }

  stop(): Promise<void> {
    return this.settlement.stop();
  }
}

/**
 * The relay's second half (protocol v2): settling the vouchers tab-vouchers.ts recorded. It settles
 * each tab rarely — nothing forces it to settle often any more, since a tab's balance cannot leave
 * before the dispute window:
 * - when the tab is closing (at once: the window is running),
 * - when what it owes reaches `minOwed` plancks (Livepeer's rule: owed ≥ K × the cost of settling),
 * - when its vouchers stopped `quietMs` ago (the viewer left: their final counts),
 * - when it holds nearly MAX_WATCHES unretired watches (a new one needs a slot),
 * - and at the latest `maxWaitMs` (1 h) after a count first went unsettled, so creators are paid hourly.
 * A settlement retires the watches the viewer left (switched away from, or a tab quiet for 10 min);
 * a paused watch is kept, so it can go on. Up to TAB_BATCH vouchers go in one call, read back from the
 * block's events (chain.ts). Vouchers are cumulative, so resubmitting after a crash never charges twice.
 */
import { MAX_WATCHES } from '../../protocol/tab.ts';
import type { ChainTab, TabSettleItem, TabSettler } from './chain.ts';
import type { Refusal } from '../refusals.ts';
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
/** A tab whose vouchers stopped this long ago is settled (its viewer left), ms. */
export const TAB_QUIET_MS = 60_000;
/** A tab is settled once it owes this much: 250 × a settlement's ≈ 10^9-planck fee (Livepeer's rule). */
export const TAB_MIN_OWED = 250_000_000_000n;

export interface TabSettlementOptions {
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

export class TabSettlement {
  private timer: ReturnType<typeof setInterval> | undefined;
  private settling: Promise<void> | undefined;
  private readonly now: () => number;
  /** Per tab: when a count first went beyond what was settled (cleared by a settlement). */
  private readonly pendingSince = new Map<bigint, number>();

  constructor(private readonly o: TabSettlementOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  /** A count of `tabId` went beyond what is settled: its `maxWaitMs` runs from the first such count. */
  unsettled(tabId: bigint): void {
    if (!this.pendingSince.has(tabId)) this.pendingSince.set(tabId, this.now());
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
      if ((e as Refusal).name === 'NoTab') {
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
      metrics.settlementFailed();
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

/**
 * The payment gate for tabs (protocol v2): whether a watch of a tab may receive media right now.
 *
 * Rules (docs/media.md, "Tabs"):
 * 1. The tab is open on chain, not closing, and names this server's relay (one relay per tab, so the
 *    bound of rule 3 is exact: docs/protocol.md).
 * 2. The watch's latest voucher is fresh: one that advanced its count arrived within `freshMs`.
 * 3. The tab is covered: what its watches may still charge, `Σ_w r_w · (T_w − n_w)` (T_w the highest
 *    count signed, n_w what the chain has settled, retired watches owing nothing), is at most the
 *    tab's balance. Several streams at once share one balance: no double spend.
 * The tab is one storage entry, so one read gives its balance and every settled count together; a
 * settlement moves both sides of rule 3 by the same amount, so an older reading still bounds it. A
 * reading is refreshed in the background every `refreshMs` and trusted `trustMs` while the chain is
 * slow (then the gate fails closed). A close is seen within `refreshMs`: it stops the media, and the
 * dispute window (10 min by default) leaves the relay ample time to settle.
 */
import { withTimeout, type ChainTab, type TabChain } from './chain.ts';
import { Refusal } from '../refusals.ts';
import { owed, type Signed } from '../../protocol/owed.ts';

export { owed, type Signed };

/** Whether media flows to a viewer now, and if not, why (a name for metrics, a sentence for logs). */
export type Decision = { open: true } | { open: false; reason: string; message: string };

export class TabGate {
  private readonly readings = new Map<bigint, { value?: ChainTab; error?: Refusal; at: number; goodAt: number }>();
  private readonly refreshing = new Map<bigint, Promise<void>>();
  private readonly advancedAt = new Map<string, number>();
  private readonly signed = new Map<bigint, Map<number, { ticks: bigint; ratePerSecond: bigint }>>();
  readonly freshMs: number;
  private readonly refreshMs: number;
  private readonly readTimeoutMs: number;
  private readonly trustMs: number;
  private readonly missMs: number;
  private readonly maxFirstReads: number;
  private firstReads = 0;
  private readonly now: () => number;

  constructor(
    private readonly chain: TabChain,
    /** What the relay has recorded of a tab (to rebuild coverage after a restart). */
    private readonly recorded: (tabId: bigint) => { watch: number; ticks: bigint; ratePerSecond: bigint }[],
    private readonly o: {
      relayAddress?: () => string | undefined;
      freshMs?: number;
      refreshMs?: number;
      readTimeoutMs?: number;
      trustMs?: number;
      /**
       * A tab found not to exist is not read again for this long, ms (default 750: under the browser's
       * one voucher a second, so a first voucher that raced its tab's block is read afresh when retried).
       */
      missMs?: number;
      /** At most this many reads at once of tabs never read successfully (default 16); past it: 503 Busy, no read. */
      maxFirstReads?: number;
      now?: () => number;
    } = {},
  ) {
    this.freshMs = o.freshMs ?? 1_500;
    this.refreshMs = o.refreshMs ?? 5_000;
    this.readTimeoutMs = o.readTimeoutMs ?? 10_000;
    this.trustMs = o.trustMs ?? 60_000;
    this.missMs = o.missMs ?? 750;
    this.maxFirstReads = o.maxFirstReads ?? 16;
    this.now = o.now ?? (() => Date.now());
  }

  /** The signed counts of a tab's watches as this server holds them. */
  signedOf(tabId: bigint): Map<number, { ticks: bigint; ratePerSecond: bigint }> {
    let s = this.signed.get(tabId);
    if (!s) {
      s = new Map(this.recorded(tabId).map((w) => [w.watch, { ticks: w.ticks, ratePerSecond: w.ratePerSecond }]));
      this.signed.set(tabId, s);
      if (this.signed.size > 100_000) this.signed.clear();
    }
    return s;
  }

  /** Records an accepted count; only an advance refreshes the watch's freshness. */
  accepted(tabId: bigint, watch: number, ticks: bigint, ratePerSecond: bigint): void {
    const s = this.signedOf(tabId);
    const prev = s.get(watch);
    if (!prev || ticks > prev.ticks) {
      s.set(watch, { ticks, ratePerSecond });
      this.advancedAt.set(`${tabId}:${watch}`, this.now());
    }
  }

  /**
   * The tab as last read, if read within `maxAgeMs` (default: as long as it is trusted); otherwise
   * read now. Throws a Refusal: NoTab, ChainUnavailable, Busy.
   *
   * A request naming a tab this server has never read costs a chain read, so such reads are bounded
   * (a flood of well-formed vouchers for made-up tabs must not starve the reads of tabs that pay):
   * a tab found not to exist is answered from that finding for `missMs`, and at most `maxFirstReads`
   * reads of never-read tabs run at once — past that the request is refused (503 Busy) before any
   * read. A tab read once is refreshed in the background and never waits behind them.
   */
  async reading(tabId: bigint, maxAgeMs = this.trustMs): Promise<ChainTab> {
    let r = this.readings.get(tabId);
    if (r?.error?.name === 'NoTab' && this.now() - r.at < this.missMs) throw r.error;
    if (r?.value && this.now() - r.at >= this.refreshMs) void this.refresh(tabId);
    if (!r || (r.error && !r.value) || this.now() - r.goodAt >= maxAgeMs) {
      await (r?.value ? this.refresh(tabId) : this.firstRead(tabId));
      r = this.readings.get(tabId)!;
    }
    if (r.error && (r.error.name !== 'ChainUnavailable' || !r.value || this.now() - r.goodAt > this.trustMs)) throw r.error;
    return r.value!;
  }

  /** A read of a tab never read successfully, within the bound on such reads. */
  private async firstRead(tabId: bigint): Promise<void> {
    if (!this.refreshing.has(tabId) && this.firstReads >= this.maxFirstReads) {
      throw new Refusal('Busy', `the server is already reading ${this.firstReads} tabs it has not seen before: try again in a moment`);
    }
    this.firstReads++;
    try {
      await this.refresh(tabId);
    } finally {
      this.firstReads--;
    }
  }

  /** Forgets the reading (after a settlement or a close): the next decision reads again. */
  invalidate(tabId: bigint): void {
    const r = this.readings.get(tabId);
    if (r) r.at = 0;
    void this.refresh(tabId);
  }

  /** Rules 1–3 from what is known now (the gate loop calls this every 250 ms; it never waits on the chain). */
  decideNow(tabId: bigint, watch: number, freshAsOf = this.now()): Decision {
    const r = this.readings.get(tabId);
    if (!r || this.now() - r.at >= this.refreshMs) void this.refresh(tabId);
    const advanced = this.advancedAt.get(`${tabId}:${watch}`);
    if (advanced === undefined || freshAsOf - advanced > this.freshMs) {
      return { open: false, reason: 'StaleVoucher', message: `no voucher advanced watch ${watch} within ${this.freshMs} ms` };
    }
    if (r?.error && r.error.name !== 'ChainUnavailable') return { open: false, reason: r.error.name, message: r.error.message };
    const tab = r?.value && this.now() - r.goodAt <= this.trustMs ? r.value : undefined;
    if (!tab) {
      return { open: false, reason: 'ChainUnavailable', message: r?.error?.message ?? 'payment cannot be shown yet: the tab has not been read' };
    }
    const refusal = this.refusal(tab, this.signedOf(tabId));
    return refusal ? { open: false, reason: refusal.name, message: refusal.message } : { open: true };
  }

  /** Rules 1 and 3 for `tab` with these signed counts: the refusal, or null. */
  refusal(tab: ChainTab, signed: Signed): Refusal | null {
    if (tab.closing) return new Refusal('TabClosing', `tab ${tab.id} is closing: open a new tab to keep watching`);
    const relay = this.o.relayAddress?.();
    if (relay && tab.relay !== relay) {
      return new Refusal('OtherRelay', `tab ${tab.id} is served by the relay ${tab.relay}, not this one (${relay})`);
    }
    const due = owed(tab, signed);
    if (due > tab.balance) {
      return new Refusal('TabExhausted', `the tab holds ${tab.balance} plancks; its watches would owe ${due}: top up to keep watching`);
    }
    return null;
  }

  private refresh(tabId: bigint): Promise<void> {
    const pending = this.refreshing.get(tabId);
    if (pending) return pending;
    const p = withTimeout(this.chain.tab(tabId), this.readTimeoutMs, 'tab')
      .then(
        (value) => {
          const t = this.now();
          if (!value) {
            this.readings.set(tabId, { error: new Refusal('NoTab', `there is no open tab ${tabId}: open one to watch`), at: t, goodAt: 0 });
            return;
          }
          this.readings.set(tabId, { value, at: t, goodAt: t });
        },
        (e: Error) => {
          const prev = this.readings.get(tabId);
          const error = new Refusal('ChainUnavailable', `the chain cannot be read, so nothing is served: ${e.message}`);
          this.readings.set(tabId, { value: prev?.value, goodAt: prev?.goodAt ?? 0, at: this.now(), error });
        },
      )
      .finally(() => this.refreshing.delete(tabId));
    this.refreshing.set(tabId, p);
    if (this.readings.size > 100_000) this.readings.clear();
    return p;
  }
}

/**
 * The current watch of the viewer's tab (protocol v2): which stream, its voucher loop (the TabTicker
 * signs a second at a time and the relay's answers come back here), pause and resume while a stream
 * is off air, going on after a reload, and the voucher its video is asked with. The tab itself — its
 * balance, opening, topping up, closing — is TabState's (tab.svelte.ts); the video is
 * TabPlayback's (tab-playback.svelte.ts).
 */
import type { Contracts } from '../chain/connection.ts';
import { READER } from '../chain/connection.ts';
import type { Tab } from '$typechain/tick_stream.ts';
import type { SignedTabVoucher } from '../protocol/tab.ts';
import { owed } from '../protocol/owed.ts';
import type { TabTicker } from '../media/tab-ticker.ts';
import type { Playback, PreparedOffer } from '../media/whep.ts';
import type { TabState } from './tab.svelte.ts';

export class WatchSession {
  /** The stream being watched from the tab now, and its watch number. */
  watching = $state<{ streamId: bigint; watch: number; ratePerSecond: bigint } | null>(null);
  /** Seconds accepted in the current watch. */
  watchTicks = $state(0n);
  notice = $state<string | null>(null);
  /** Why the relay refused the last second (its error name, e.g. TabExhausted, SubscriptionEnded), or null. */
  refusal = $state<string | null>(null);
  /** The current watch is paused (nothing signed) while its stream is off air. */
  paused = $state(false);
  #ticker: TabTicker | null = null;
  /** The watch begun at a rate the page gave (not read for it), until a voucher of it is accepted. */
  #guessedWatch: number | null = null;

  constructor(private readonly tabs: TabState) {}

  /** Whether a voucher loop runs on this page (what it signs is then newer than what is stored). */
  get started(): boolean {
    return !!this.#ticker;
  }

  /**
   * Starts watching `streamId` from the tab at its current rate: a new watch the key opens by
   * signing (no wallet); `play()` then gives its video. `knownRate` is the rate the page last read
   * (0 while subscribed): the watch begins without reading it again, and if the relay finds another
   * rate in force (RateMismatch, before any second of the watch is accepted) it begins again at the
   * rate read then. Nothing is signed at a rate the relay did not check against the chain.
   */
  async watch(streamId: bigint, knownRate?: bigint): Promise<void> {
    const c = await this.tabs.connected();
    const tab = this.tabs.need();
    const key = this.tabs.sessionKey;
    if (!key) throw new Error('This tab was opened in another browser: close it here, or watch from that browser.');
    if (tab.closingSinceMs !== null) throw new Error('This tab is closing: open a new one to keep watching.');
    // The stream's rate now, or nothing for a subscriber (the relay takes 0 only while the
    // subscription lasts, and refuses further seconds of it once it has ended).
    const rate = knownRate ?? (await rateNow(c, tab, streamId));
    const stored = this.tabs.storage.tab(tab.id) ?? { seed: key.seed, nextWatch: 0 };
    // Above any number the chain or the relay has seen (another page may have used some).
    const watch = Math.max(stored.nextWatch, tab.nextWatch, ...this.tabs.reports.map((r) => r.watch + 1));
    this.tabs.storage.saveTab(tab.id, { ...stored, nextWatch: watch + 1 });
    const ticker = await this.#tickerFor(c, tab);
    this.watching = { streamId, watch, ratePerSecond: rate };
    this.#guessedWatch = knownRate === undefined ? null : watch;
    this.watchTicks = 0n;
    this.paused = false;
    this.refusal = null;
    this.tabs.storage.setWatching(streamId, watch);
    ticker.startWatch(watch, streamId, rate);
  }

  /**
   * After a reload of the page that was watching `streamId`: goes on with the same watch from its
   * last accepted count (no wallet, no new watch). False if this browser tab was not watching it, or
   * the watch is gone (retired, or its tab closed).
   */
  async continueWatch(streamId: bigint): Promise<boolean> {
    const c = await this.tabs.connected();
    const tab = this.tabs.tab;
    if (!tab || !this.tabs.sessionKey || tab.closingSinceMs !== null || this.watching) return false;
    const was = this.tabs.storage.watching();
    if (!was || was.streamId !== streamId.toString()) return false;
    const ticker = await this.#tickerFor(c, tab);
    const claim = ticker.carried().find((x) => x.watch === was.watch);
    if (!claim || !ticker.resumeWatch(claim.watch)) return false;
    this.watching = { streamId, watch: claim.watch, ratePerSecond: claim.ratePerSecond };
    this.watchTicks = claim.ticks;
    this.paused = false;
    this.refusal = null;
    return true;
  }

  /** Stops signing the current watch for a while (the publisher is gone): nothing is charged meanwhile. */
  pause(): void {
    if (!this.watching || this.paused) return;
    this.paused = true;
    this.#ticker?.stopWatch();
  }

  /** Signs the current watch on from where it was (after `pause`). */
  resume(): void {
    if (!this.watching || !this.paused) return;
    this.paused = false;
    this.#ticker?.resumeWatch(this.watching.watch);
  }

  stopWatching(): void {
    this.#ticker?.stopWatch();
    this.watching = null;
    this.tabs.storage.clearWatching();
    this.paused = false;
    this.refusal = null;
  }

  /** The latest voucher the relay accepted. */
  latestVoucher(): SignedTabVoucher | undefined {
    return this.#ticker?.latest();
  }

  /** Whether the relay has accepted a voucher carrying the current watch. */
  accepted(): boolean {
    return !!this.#playVoucher(false);
  }

  /** Whether there is a voucher of the current watch to ask for its video with: accepted, or on its way to the relay. */
  signed(): boolean {
    return !!this.#playVoucher(true);
  }

  /**
   * Playback of the current watch (WHEP, or a LiveKit token on that plane), with the tab's latest
   * accepted voucher — or, for a watch just begun, with its first voucher while the relay checks it
   * (the media server makes the same check, so the video does not wait for that answer first). Null
   * while no voucher carries the watch.
   */
  async play(prepared?: PreparedOffer, plane: 'werift' | 'livekit' = 'werift'): Promise<Playback | null> {
    const w = this.watching;
    const v = this.#playVoucher(true);
    if (!w || !v) return null;
    const { tabWhepHeaders } = await import('../media/tab-wire.ts');
    const headers = tabWhepHeaders({ tabId: v.tabId, watch: w.watch, voucher: v });
    if (plane === 'livekit') {
      // LiveKit's client makes its own connection: an offer made ahead has no use here.
      prepared?.close();
      const { watchRoom } = await import('../media/livekit.ts');
      return watchRoom({ streamId: w.streamId, headers });
    }
    const { playWith } = await import('../media/whep.ts');
    return playWith({ streamId: w.streamId, headers, prepared });
  }

  dispose(): void {
    this.#ticker?.stop();
    this.#ticker = null;
  }

  /** The voucher of the current watch that video is asked with: the latest accepted, or (`sending`) the one on its way. */
  #playVoucher(sending: boolean): SignedTabVoucher | undefined {
    const w = this.watching;
    const t = this.#ticker;
    if (!w || !t) return undefined;
    return [t.latest(), sending ? t.sending() : undefined].find((v) => v?.claims.some((c) => c.watch === w.watch));
  }

  async #tickerFor(c: Contracts, tab: Tab): Promise<TabTicker> {
    if (this.#ticker) return this.#ticker;
    const { TabTicker } = await import('../media/tab-ticker.ts');
    const ticker = new TabTicker({
      scope: { genesisHash: this.tabs.genesis!, contract: c.ticks.address, tabId: tab.id },
      key: this.tabs.sessionKey!,
      covers: (next) => {
        const t = this.tabs.tab;
        return !t || owed(t, new Map(next.map((x) => [x.watch, x]))) <= t.balance;
      },
      onTick: (t) => {
        if (t.accepted) {
          this.tabs.reports = t.watches;
          this.tabs.canSettle = true;
          this.tabs.storage.saveClaims(tab.id, ticker.carried());
          this.notice = null;
          this.refusal = null;
          if (this.watching) this.watchTicks = ticker.ticksOf(this.watching.watch);
        } else {
          const w = this.watching;
          if (w && t.error?.startsWith('RateMismatch') && this.#guessedWatch === w.watch && ticker.ticksOf(w.watch) === 0n) {
            // The rate changed since the page read it: begin again at the one in force now.
            this.#guessedWatch = null;
            ticker.dropUnaccepted(w.watch);
            void this.watch(w.streamId).catch((e: Error) => (this.notice = e.message));
            return;
          }
          this.refusal = t.error?.split(':')[0] ?? null;
          this.notice = refusalSentence(this.refusal, t.error);
        }
      },
    });
    // Watches begun before a reload are carried on (their latest counts are with the relay too).
    const retired = (w: number) => !tab.watches.some((x) => x.number === w) && w < tab.nextWatch;
    for (const x of this.tabs.storage.claims(tab.id)) if (!retired(x.watch)) ticker.carry(x);
    this.#ticker = ticker;
    return ticker;
  }
}

/** The rate a watch of `streamId` begun now agrees to: 0 with a live subscription, else the quote. */
async function rateNow(c: Contracts, tab: Tab, streamId: bigint): Promise<bigint> {
  const [quote, subscribed] = await Promise.all([c.ticks.query.quote(READER, streamId, 1n), c.payments.query.hasSubscription(READER, tab.viewer, streamId)]);
  return subscribed.value ? 0n : quote.value;
}

/** What the watch page says when the relay refuses a second. */
function refusalSentence(name: string | null, raw: string | undefined): string {
  switch (name) {
    case 'TabExhausted':
      return 'Paused: your tab is used up. Top it up to keep watching; nothing is charged meanwhile.';
    case 'SubscriptionEnded':
      return 'Your subscription to this stream has ended, so this free watch stopped. Watch on at the stream’s rate, or subscribe again.';
    case 'WatchRetired':
      return 'This watch was settled in full and closed while it was paused. Watch on to go on: a new watch, no wallet.';
    case 'TabClosing':
      return 'Your tab is closing: open a new one to keep watching.';
    default:
      return `The last second was not accepted: ${raw ?? 'unknown reason'}`;
  }
}

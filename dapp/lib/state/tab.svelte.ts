/**
 * The viewer's tab (protocol v2), shared by every page of the app: one wallet approval opens it with
 * a deposit and a session key; every stream watched from it is a watch the key opens by signing, so
 * switching streams needs no wallet. Shows the balance, what open watches lock, the dispute window
 * while closing; top up, close, finish. The key is kept in localStorage for this contract, viewer and
 * tab, so a reload or another page goes on with the same tab.
 */
import type { Contracts } from '../chain/connection.ts';
import { READER } from '../chain/connection.ts';
import type { Tab } from '$typechain/tick_stream.ts';
import type { SessionKey } from '../protocol/voucher.ts';
import type { SignedTabVoucher } from '../protocol/tab.ts';
import { owed } from '../protocol/owed.ts';

/** A prepared open (relay, key, dry run) is used within this long, ms; after, the click makes its own dry run. */
const PREPARED_FOR_MS = 60_000;
import type { TabTicker, WatchReport } from '../media/tab-ticker.ts';
import type { Playback, PreparedOffer } from '../media/whep.ts';
import type { TxLog } from './tx.svelte.ts';
import type { WalletState } from './wallet.svelte.ts';

interface StoredClaim {
  watch: number;
  streamId: string;
  ratePerSecond: string;
  ticks: string;
}

interface StoredTab {
  seed: `0x${string}`;
  /** The next watch number to use. */
  nextWatch: number;
  /** The watches the last accepted voucher carried, with their counts (a reload carries them on). */
  claims?: StoredClaim[];
}

export class TabState {
  #key = $state.raw<SessionKey | null>(null);
  /** The viewer's open tab as the chain holds it (null: none, undefined: not read yet). */
  tab = $state.raw<Tab | null | undefined>(undefined);
  /** How long a closing tab stays open to settlements, ms. */
  windowMs = $state<bigint | null>(null);
  /** The relay's word on each watch: signed, settled, retired. */
  reports = $state.raw<WatchReport[]>([]);
  /** The stream being watched from the tab now, and its watch number. */
  watching = $state<{ streamId: bigint; watch: number; ratePerSecond: bigint } | null>(null);
  /** Seconds accepted in the current watch. */
  watchTicks = $state(0n);
  notice = $state<string | null>(null);
  /** Why the relay refused the last second (its error name, e.g. TabExhausted, SubscriptionEnded), or null. */
  refusal = $state<string | null>(null);
  /** The current watch is paused (nothing signed) while its stream is off air. */
  paused = $state(false);
  busy = $state(false);
  /** Whether this page holds an accepted voucher to settle ("Settle now"). */
  canSettle = $state(false);
  /** The chain's clock at the last read (block timestamp, ms) and the browser's then: windows are in chain time. */
  chainClock = $state<{ chainMs: bigint; wallMs: number } | null>(null);
  /** The tab exists on chain but this browser does not hold its key (opened elsewhere): it can only be closed. */
  orphan = $derived(!!this.tab && !this.#key);

  /** Plancks the tab's watches may still charge: signed, not yet settled (what the gate holds back). */
  locked = $derived(this.reports.reduce((sum, r) => (r.retired || r.ticks <= r.settledTicks ? sum : sum + r.ratePerSecond * (r.ticks - r.settledTicks)), 0n));
  available = $derived(this.tab ? (this.tab.balance > this.locked ? this.tab.balance - this.locked : 0n) : 0n);
  /** When a closing tab can be finished (ms since the epoch), or null. */
  closesAtMs = $derived(this.tab?.closingSinceMs != null && this.windowMs !== null ? this.tab.closingSinceMs + this.windowMs : null);

  /** The viewer whose tab (or its absence) `tab` is, once a read of it has landed. */
  loadedFor = $state<string | null>(null);
  #ticker: TabTicker | null = null;
  #loadGen = 0;
  #genesis: `0x${string}` | null = null;

  constructor(
    private readonly wallet: WalletState,
    private readonly tx: TxLog,
    private readonly contracts: () => Promise<Contracts>,
  ) {}

  /** The chain's time now, estimated from the last read (ms); null before one. */
  chainNowMs(wallNow = Date.now()): bigint | null {
    const c = this.chainClock;
    return c ? c.chainMs + BigInt(Math.max(0, wallNow - c.wallMs)) : null;
  }

  get viewer(): string | null {
    return this.wallet.selected?.address ?? null;
  }

  /** Reads the viewer's tab and the dispute window; takes up the key if this browser holds it. */
  async load(): Promise<void> {
    // Pages poll this while actions (open, top up, close) read it again after their block: only the
    // newest read may set the tab, or a poll begun before an open lands would put back "no tab".
    const gen = ++this.#loadGen;
    const c = await this.contracts();
    const viewer = this.viewer;
    if (!viewer) {
      this.tab = null;
      return;
    }
    const [tab, terms, chainMs] = await Promise.all([c.ticks.query.tabOf(READER, viewer), c.ticks.query.tabTerms(READER), c.api.query.timestamp.now()]);
    if (gen !== this.#loadGen) return;
    this.chainClock = { chainMs: BigInt(chainMs.toString()), wallMs: Date.now() };
    this.tab = tab.value;
    [this.#genesis, this.windowMs] = terms.value;
    if (!this.tab) {
      this.loadedFor = viewer;
      return;
    }
    const stored = this.#stored(c, this.tab.id);
    if (stored && !this.#key) {
      const { SessionKey } = await import('../protocol/voucher.ts');
      const key = SessionKey.fromSeed(stored.seed);
      if (key.publicKey === this.tab?.sessionKey) this.#key = key;
    }
    // Last: whoever waits for "the tab is read" (a reload's watch going on) finds its key taken up too.
    this.loadedFor = viewer;
    // After a reload, what this browser signed comes from storage until the relay answers again.
    if (!this.#ticker && stored?.claims) {
      const onChain = new Map(this.tab.watches.map((w) => [w.number, w.settled]));
      this.reports = stored.claims.map((c) => ({
        watch: c.watch,
        streamId: BigInt(c.streamId),
        ratePerSecond: BigInt(c.ratePerSecond),
        ticks: BigInt(c.ticks),
        settledTicks: onChain.get(c.watch) ?? 0n,
        retired: !onChain.has(c.watch) && c.watch < this.tab!.nextWatch,
      }));
    }
  }

  /**
   * Prepares opening a tab with `deposit` while the viewer reads the page: the relay's address, a
   * session key, and open_tab's dry run (its gas and storage deposit), so that the click goes
   * straight to the wallet. Nothing is signed or sent. A refusal the dry run names (the deposit too
   * small, a tab already open) is thrown here, and the click then makes its own dry run.
   */
  async prepareOpen(deposit: bigint): Promise<void> {
    const viewer = this.viewer;
    if (!viewer || this.tab || deposit <= 0n) return;
    const c = await this.contracts();
    const relay = await this.#relayAddress();
    // The watch's code too, so that nothing is loaded between the block and the first voucher.
    const [{ SessionKey }] = await Promise.all([import('../protocol/voucher.ts'), import('../media/tab-ticker.ts')]);
    const key = this.#prepared?.viewer === viewer ? this.#prepared.key : SessionKey.generate();
    this.#prepared = null;
    const dry = await c.ticks.query.openTab(viewer, key.publicKey, relay, { value: deposit });
    this.#prepared = { deposit, viewer, relay, key, estimate: { gasRequired: dry.gasRequired, storageDeposit: dry.storageDeposit }, at: Date.now() };
  }

  /** Whether an open of `deposit` is prepared now (tests, the join benchmark). */
  preparedFor(deposit: bigint): boolean {
    const p = this.#prepared;
    return !!p && p.deposit === deposit && p.viewer === this.viewer && Date.now() - p.at < PREPARED_FOR_MS;
  }

  #prepared = $state.raw<{ deposit: bigint; viewer: string; relay: string; key: SessionKey; estimate: { gasRequired: { refTime: bigint; proofSize: bigint }; storageDeposit: bigint }; at: number } | null>(null);

  async #relayAddress(): Promise<string> {
    const relay = ((await (await fetch('/api/tabs/relay')).json()) as { relay: string | null }).relay;
    if (!relay) throw new Error('The media server has no relay account, so it cannot serve a tab.');
    return relay;
  }

  /** Opens a tab with `deposit`: the one wallet approval, for every stream (prepared by `prepareOpen`, or not). */
  async open(deposit: bigint): Promise<void> {
    const c = await this.contracts();
    const p = this.preparedFor(deposit) ? this.#prepared! : null;
    this.#prepared = null; // a key and an estimate serve one open
    const relay = p?.relay ?? (await this.#relayAddress());
    const { SessionKey } = await import('../protocol/voucher.ts');
    const key = p?.key ?? SessionKey.generate();
    const signer = await this.wallet.signer();
    const res = await this.tx.run('Open a tab', (o) => c.ticks.tx.openTab(signer, key.publicKey, relay, { ...o, value: deposit, estimate: p?.estimate }));
    const opened = res.one('TabOpened');
    localStorage.setItem(this.#storageKey(c, opened.tabId), JSON.stringify({ seed: key.seed, nextWatch: 0 } satisfies StoredTab));
    this.#key = key;
    if (this.#genesis === null || this.chainClock === null) return this.load();
    // The block says what the tab is: no read before the watch can begin (the next poll reads it).
    // A read begun before the open landed must not put back "no tab".
    this.#loadGen++;
    this.tab = {
      id: opened.tabId,
      viewer: opened.viewer,
      sessionKey: key.publicKey,
      relay: opened.relay,
      balance: opened.balance,
      nextWatch: 0,
      watches: [],
      lastActivityMs: this.chainNowMs() ?? 0n,
      closingSinceMs: null,
    };
  }

  async topUp(amount: bigint): Promise<void> {
    const c = await this.contracts();
    const tab = this.#need();
    const signer = await this.wallet.signer();
    await this.tx.run('Top up the tab', (o) => c.ticks.tx.topUp(signer, tab.id, { ...o, value: amount }));
    await this.load();
  }

  /** Begins the close: no more watching from this tab; what is left comes back after the dispute window. */
  async close(): Promise<void> {
    const c = await this.contracts();
    const tab = this.#need();
    this.stopWatching();
    const signer = await this.wallet.signer();
    await this.tx.run('Close the tab', (o) => c.ticks.tx.closeTab(signer, tab.id, o));
    await this.load();
  }

  /** After the dispute window: the rest of the balance comes back; returns it. */
  async finish(): Promise<bigint> {
    const c = await this.contracts();
    const tab = this.#need();
    const signer = await this.wallet.signer();
    const res = await this.tx.run('Finish closing the tab', (o) => c.ticks.tx.finishClose(signer, tab.id, o));
    localStorage.removeItem(this.#storageKey(c, tab.id));
    this.#key = null;
    this.reports = [];
    await this.load();
    return res.one('TabClosed').refund;
  }

  /**
   * Starts watching `streamId` from the tab at its current rate: a new watch the key opens by
   * signing (no wallet); `play()` then gives its video. `knownRate` is the rate the page last read
   * (0 while subscribed): the watch begins without reading it again, and if the relay finds another
   * rate in force (RateMismatch, before any second of the watch is accepted) it begins again at the
   * rate read then. Nothing is signed at a rate the relay did not check against the chain.
   */
  async watch(streamId: bigint, knownRate?: bigint): Promise<void> {
    const c = await this.contracts();
    const tab = this.#need();
    if (!this.#key) throw new Error('This tab was opened in another browser: close it here, or watch from that browser.');
    if (tab.closingSinceMs !== null) throw new Error('This tab is closing: open a new one to keep watching.');
    // The stream's rate now, or nothing for a subscriber (the relay takes 0 only while the
    // subscription lasts, and refuses further seconds of it once it has ended).
    const rate = knownRate ?? (await this.#rateNow(c, tab, streamId));
    const stored = this.#stored(c, tab.id) ?? { seed: this.#key.seed, nextWatch: 0 };
    // Above any number the chain or the relay has seen (another page may have used some).
    const watch = Math.max(stored.nextWatch, tab.nextWatch, ...this.reports.map((r) => r.watch + 1));
    localStorage.setItem(this.#storageKey(c, tab.id), JSON.stringify({ ...stored, nextWatch: watch + 1 } satisfies StoredTab));
    const ticker = await this.#tickerFor(c, tab);
    this.watching = { streamId, watch, ratePerSecond: rate };
    this.#guessedWatch = knownRate === undefined ? null : watch;
    this.watchTicks = 0n;
    this.paused = false;
    this.refusal = null;
    sessionStorage.setItem(this.#watchingKey(c), JSON.stringify({ streamId: streamId.toString(), watch }));
    ticker.startWatch(watch, streamId, rate);
  }

  /**
   * After a reload of the page that was watching `streamId`: goes on with the same watch from its
   * last accepted count (no wallet, no new watch). False if this browser tab was not watching it, or
   * the watch is gone (retired, or its tab closed).
   */
  async continueWatch(streamId: bigint): Promise<boolean> {
    const c = await this.contracts();
    const tab = this.tab;
    if (!tab || !this.#key || tab.closingSinceMs !== null || this.watching) return false;
    let was: { streamId: string; watch: number } | null = null;
    try {
      was = JSON.parse(sessionStorage.getItem(this.#watchingKey(c)) ?? 'null');
    } catch {
      /* nothing kept */
    }
    if (!was || was.streamId !== streamId.toString()) return false;
    const ticker = await this.#tickerFor(c, tab);
    const claim = ticker.carried().find((x) => x.watch === was!.watch);
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

  /** The voucher of the current watch that video is asked with: the latest accepted, or (`sending`) the one on its way. */
  #playVoucher(sending: boolean): SignedTabVoucher | undefined {
    const w = this.watching;
    const t = this.#ticker;
    if (!w || !t) return undefined;
    return [t.latest(), sending ? t.sending() : undefined].find((v) => v?.claims.some((c) => c.watch === w.watch));
  }


  /**
   * "Settle now": submits the latest voucher from the viewer's own wallet (settle_tabs), for when no
   * relay settles. Returns the plancks it charged, as the block says.
   */
  async settleNow(): Promise<bigint> {
    const c = await this.contracts();
    const tab = this.#need();
    const v = this.#ticker?.latest();
    if (!v) throw new Error('Nothing signed on this page yet: watch a stream first.');
    const { toEntries } = await import('../protocol/tab.ts');
    const signer = await this.wallet.signer();
    const known = new Set(tab.watches.map((w) => w.number));
    const res = await this.tx.run('Settle watched seconds', (o) => c.ticks.tx.settleTabs(signer, [toEntries(v, known)], o));
    const refused = res.outcome.find((e) => e.name === 'TabVoucherRefused');
    if (refused?.name === 'TabVoucherRefused') throw new Error(`The chain refused the voucher: ${refused.args.error.type}`);
    await this.load();
    return res.outcome.flatMap((e) => (e.name === 'TabSettled' ? e.args.watches : [])).reduce((sum, w) => sum + w.amount, 0n);
  }

  stopWatching(): void {
    this.#ticker?.stopWatch();
    this.watching = null;
    if (this.#watchingKeyNow) sessionStorage.removeItem(this.#watchingKeyNow);
    this.paused = false;
    this.refusal = null;
  }

  /**
   * WHEP playback of the current watch, with the tab's latest accepted voucher — or, for a watch just
   * begun, with its first voucher while the relay checks it (the media server makes the same check,
   * so the video does not wait for that answer first). Null while no voucher carries the watch.
   */
  async play(prepared?: PreparedOffer, plane: 'werift' | 'livekit' = 'werift'): Promise<Playback | null> {
    const w = this.watching;
    const v = this.#playVoucher(true);
    if (!w || !v) return null;
    const [{ playWith, playOnLiveKit }, { tabWhepHeaders }] = await Promise.all([import('../media/whep.ts'), import('../media/tab-wire.ts')]);
    const o = { streamId: w.streamId, headers: tabWhepHeaders({ tabId: v.tabId, watch: w.watch, voucher: v }), prepared };
    return plane === 'livekit' ? playOnLiveKit(o) : playWith(o);
  }

  dispose(): void {
    this.#ticker?.stop();
    this.#ticker = null;
  }

  async #tickerFor(c: Contracts, tab: Tab): Promise<TabTicker> {
    if (this.#ticker) return this.#ticker;
    const { TabTicker } = await import('../media/tab-ticker.ts');
    const ticker = new TabTicker({
      scope: { genesisHash: this.#genesis!, contract: c.ticks.address, tabId: tab.id },
      key: this.#key!,
      covers: (next) => {
        const t = this.tab;
        return !t || owed(t, new Map(next.map((x) => [x.watch, x]))) <= t.balance;
      },
      onTick: (t) => {
        if (t.accepted) {
          this.reports = t.watches;
          this.canSettle = true;
          const stored = this.#stored(c, tab.id);
          if (stored) {
            const claims = ticker.carried().map((x) => ({ watch: x.watch, streamId: x.streamId.toString(), ratePerSecond: x.ratePerSecond.toString(), ticks: x.ticks.toString() }));
            localStorage.setItem(this.#storageKey(c, tab.id), JSON.stringify({ ...stored, claims } satisfies StoredTab));
          }
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
    for (const x of this.#stored(c, tab.id)?.claims ?? []) {
      if (retired(x.watch)) continue;
      ticker.carry({ watch: x.watch, streamId: BigInt(x.streamId), ratePerSecond: BigInt(x.ratePerSecond), ticks: BigInt(x.ticks) });
    }
    this.#ticker = ticker;
    return ticker;
  }

  /** The rate a watch of `streamId` begun now agrees to: 0 with a live subscription, else the quote. */
  async #rateNow(c: Contracts, tab: Tab, streamId: bigint): Promise<bigint> {
    const [quote, subscribed] = await Promise.all([c.ticks.query.quote(READER, streamId, 1n), c.payments.query.hasSubscription(READER, tab.viewer, streamId)]);
    return subscribed.value ? 0n : quote.value;
  }

  /** The watch begun at a rate the page gave (not read for it), until a voucher of it is accepted. */
  #guessedWatch: number | null = null;

  #need(): Tab {
    if (!this.tab) throw new Error('You have no open tab: open one first.');
    return this.tab;
  }

  #watchingKeyNow: string | null = null;
  /** This browser tab's current watch (sessionStorage: another browser tab watches on its own). */
  #watchingKey(c: Contracts): string {
    return (this.#watchingKeyNow = `vilo:tab-watching:${c.ticks.address}:${this.viewer ?? ''}`);
  }

  #storageKey(c: Contracts, tabId: bigint): string {
    return `vilo:tab:${c.ticks.address}:${this.viewer ?? ''}:${tabId}`;
  }

  #stored(c: Contracts, tabId: bigint): StoredTab | null {
    try {
      const s = JSON.parse(localStorage.getItem(this.#storageKey(c, tabId)) ?? 'null') as StoredTab | null;
      return s && typeof s.seed === 'string' && Number.isInteger(s.nextWatch) ? s : null;
    } catch {
      return null;
    }
  }
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

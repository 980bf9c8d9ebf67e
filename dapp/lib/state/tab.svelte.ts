/**
 * The viewer's tab (protocol v2), shared by every page of the app: one wallet approval opens it with
 * a deposit and a session key; every stream watched from it is a watch the key opens by signing, so
 * switching streams needs no wallet. Shows the balance, what open watches lock, the dispute window
 * while closing; top up, close, finish, settle. By responsibility:
 * - this file: the tab's life on chain and its money (balance, locked, available);
 * - `session` (watch-session.svelte.ts): the current watch and its voucher loop;
 * - `storage` (tab-storage.ts): the key and counts kept in this browser, so a reload goes on;
 * - the video: TabPlayback (tab-playback.svelte.ts); the cost meter: the watch page, from
 *   `session.watchTicks` × the watch's rate.
 */
import type { Contracts } from '../chain/connection.ts';
import { READER } from '../chain/connection.ts';
import type { Tab } from '$typechain/tick_stream.ts';
import type { SessionKey } from '../protocol/voucher.ts';
import type { WatchReport } from '../media/tab-ticker.ts';
import type { TxLog } from './tx.svelte.ts';
import type { WalletState } from './wallet.svelte.ts';
import { TabStorage } from './tab-storage.ts';
import { isStaleNonce } from '../format/errors.ts';
import { WatchSession } from './watch-session.svelte.ts';

/** A prepared open (relay, key, dry run) is used within this long, ms; after, the click makes its own dry run. */
const PREPARED_FOR_MS = 60_000;

export class TabState {
  #key = $state.raw<SessionKey | null>(null);
  /** The viewer's open tab as the chain holds it (null: none, undefined: not read yet). */
  tab = $state.raw<Tab | null | undefined>(undefined);
  /** How long a closing tab stays open to settlements, ms. */
  windowMs = $state<bigint | null>(null);
  /** The relay's word on each watch: signed, settled, retired. */
  reports = $state.raw<WatchReport[]>([]);
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
  #loadGen = 0;
  #genesis: `0x${string}` | null = null;
  #contract = '';
  /** The key and counts this browser keeps of the viewer's tabs. */
  readonly storage = new TabStorage(() => ({ contract: this.#contract, viewer: this.viewer ?? '' }));
  /** The current watch and its voucher loop. */
  readonly session: WatchSession = new WatchSession(this);

  constructor(
    private readonly wallet: WalletState,
    private readonly tx: TxLog,
    private readonly contracts: () => Promise<Contracts>,
  ) {}

  /** The contracts, once connected (and the contract the stored records belong to). */
  async connected(): Promise<Contracts> {
    const c = await this.contracts();
    this.#contract = c.ticks.address;
    return c;
  }

  /** The tab's session key, when this browser holds it. */
  get sessionKey(): SessionKey | null {
    return this.#key;
  }

  /** The chain's genesis hash, part of what a voucher signs (null before the first read). */
  get genesis(): `0x${string}` | null {
    return this.#genesis;
  }

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
    const c = await this.connected();
    const viewer = this.viewer;
    if (!viewer) {
      this.tab = null;
      return;
    }
    // The tab terms (the chain a voucher names, the dispute window) are fixed when tick_stream is
    // instantiated: read once.
    const terms = this.#genesis !== null && this.windowMs !== null ? null : c.ticks.query.tabTerms(READER);
    const [tab, termsRead, chainMs] = await Promise.all([c.ticks.query.tabOf(READER, viewer), terms, c.api.query.timestamp.now()]);
    if (gen !== this.#loadGen) return;
    this.chainClock = { chainMs: BigInt(chainMs.toString()), wallMs: Date.now() };
    this.tab = tab.value;
    if (termsRead) [this.#genesis, this.windowMs] = termsRead.value;
    if (!this.tab) {
      this.loadedFor = viewer;
      return;
    }
    const stored = this.storage.tab(this.tab.id);
    if (stored && !this.#key) {
      const { SessionKey } = await import('../protocol/voucher.ts');
      const key = SessionKey.fromSeed(stored.seed);
      if (key.publicKey === this.tab?.sessionKey) this.#key = key;
    }
    // Last: whoever waits for "the tab is read" (a reload's watch going on) finds its key taken up too.
    this.loadedFor = viewer;
    // After a reload, what this browser signed comes from storage until the relay answers again.
    if (!this.session.started && stored?.claims) {
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
    const c = await this.connected();
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
    const c = await this.connected();
    const p = this.preparedFor(deposit) ? this.#prepared! : null;
    this.#prepared = null; // a key and an estimate serve one open
    const relay = p?.relay ?? (await this.#relayAddress());
    const { SessionKey } = await import('../protocol/voucher.ts');
    const key = p?.key ?? SessionKey.generate();
    // The nonce from the account's storage, read while the wallet asks: asking the node for it is a
    // runtime call (~0.3 s on chopsticks) on the click's path. Only with nothing else of this app on
    // its way; a transaction of another tab that is still in the pool makes it stale, and then the
    // node's answer is asked (the wallet asks again).
    const [signer, nonce] = await Promise.all([this.wallet.signer(), this.tx.running ? undefined : this.#nonce(c)]);
    const send = (n?: number) => this.tx.run('Open a tab', (o) => c.ticks.tx.openTab(signer, key.publicKey, relay, { ...o, value: deposit, estimate: p?.estimate, nonce: n }));
    const res = await send(nonce).catch((e: Error) => {
      if (nonce === undefined || !isStaleNonce(e)) throw e;
      return send();
    });
    const opened = res.one('TabOpened');
    this.storage.saveTab(opened.tabId, { seed: key.seed, nextWatch: 0 });
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

  /** The viewer's next nonce as the chain's state says (no pending transaction counted). */
  async #nonce(c: Contracts): Promise<number | undefined> {
    const viewer = this.viewer;
    if (!viewer) return undefined;
    const account = (await c.api.query.system.account(viewer)) as unknown as { nonce: { toNumber(): number } };
    return account.nonce.toNumber();
  }

  async topUp(amount: bigint): Promise<void> {
    const c = await this.connected();
    const tab = this.need();
    const signer = await this.wallet.signer();
    await this.tx.run('Top up the tab', (o) => c.ticks.tx.topUp(signer, tab.id, { ...o, value: amount }));
    await this.load();
  }

  /** Begins the close: no more watching from this tab; what is left comes back after the dispute window. */
  async close(): Promise<void> {
    const c = await this.connected();
    const tab = this.need();
    this.session.stopWatching();
    const signer = await this.wallet.signer();
    await this.tx.run('Close the tab', (o) => c.ticks.tx.closeTab(signer, tab.id, o));
    await this.load();
  }

  /** After the dispute window: the rest of the balance comes back; returns it. */
  async finish(): Promise<bigint> {
    const c = await this.connected();
    const tab = this.need();
    const signer = await this.wallet.signer();
    const res = await this.tx.run('Finish closing the tab', (o) => c.ticks.tx.finishClose(signer, tab.id, o));
    this.storage.forget(tab.id);
    this.#key = null;
    this.reports = [];
    await this.load();
    return res.one('TabClosed').refund;
  }

  /**
   * "Settle now": submits the latest voucher from the viewer's own wallet (settle_tabs), for when no
   * relay settles. Returns the plancks it charged, as the block says.
   */
  async settleNow(): Promise<bigint> {
    const c = await this.connected();
    const tab = this.need();
    const v = this.session.latestVoucher();
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

  dispose(): void {
    this.session.dispose();
  }

  /** The open tab, or an error that says there is none. */
  need(): Tab {
    if (!this.tab) throw new Error('You have no open tab: open one first.');
    return this.tab;
  }
}

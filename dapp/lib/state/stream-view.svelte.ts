/**
 * What the watch page shows about one stream, apart from the viewer's tab (tab.svelte.ts) and its
 * video (tab-playback.svelte.ts): the stream and its rate, the platform fee, whether a publisher is
 * sending, the viewer's balance and subscription.
 */
import type { Contracts } from '../chain/connection.ts';
import { READER, freeBalance } from '../chain/connection.ts';
import type { StreamRow } from '../chain/streams.ts';
import type { PricePlan } from '$typechain/pricing_engine.ts';
import { fetchStreamPresence, onAir, type Broadcast } from '../media/presence.ts';
import type { TxLog } from './tx.svelte.ts';
import type { WalletState } from './wallet.svelte.ts';
import type { LedgerItem } from '../history/client.ts';

/** A tip's longest message, in bytes of UTF-8 (the payment handler's MAX_TIP_MESSAGE_BYTES). */
export const TIP_MESSAGE_MAX_BYTES = 200;

export class StreamView {
  phase = $state<'loading' | 'missing' | 'ready'>('loading');
  stream = $state<(StreamRow & { plan: PricePlan | null }) | null>(null);
  /** What a watch begun now agrees to, plancks per second (0 while the viewer is subscribed). */
  rate = $state(0n);
  /** The stream's own rate, whatever the viewer's subscription. */
  streamRate = $state(0n);
  /** The payment handler's platform fee, basis points of each charge (null until read). */
  feeBps = $state<number | null>(null);
  balance = $state<bigint | null>(null);
  subscribed = $state(false);
  subscribedUntilMs = $state<bigint | null>(null);
  /** The media server's word on whether a publisher is sending (null until it answered). */
  broadcast = $state<Broadcast | null>(null);
  /** The CID of the newest picture the media server took of the live video, or null. */
  thumbnail = $state<string | null>(null);
  /** Viewers the media server is serving video now. */
  mediaViewers = $state(0);
  /** Served over HLS (an RTMP encoder), not WebRTC. */
  hls = $state(false);
  /** The media plane serving the video (what the player loads ahead). */
  plane = $state<'werift' | 'livekit' | undefined>(undefined);
  /** Recent tips (newest first); null: not read yet. */
  tips = $state<LedgerItem[] | null>(null);
  /** Why the tips cannot be read (the server keeps no history, or it is starting), if so. */
  tipsError = $state<string | null>(null);
  /** On air = the registry says live and a publisher is sending; only then may a watch begin. */
  onAir = $derived<Broadcast | null>(this.broadcast === null ? null : onAir(this.stream?.live ?? false, { state: this.broadcast, viewers: 0 }));

  #c: Contracts | null = null;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #closed = false;
  #unfollow: () => void = () => {};
  /** Numbers each round of reads: an older round that answers late must not overwrite a newer one. */
  #gen = 0;

  constructor(
    readonly streamId: bigint,
    private readonly wallet: WalletState,
    private readonly tx: TxLog,
    private readonly contracts: () => Promise<Contracts>,
  ) {}

  get viewer(): string | null {
    return this.wallet.selected?.address ?? null;
  }

  /** Reads the stream, the fee and the viewer's figures. */
  async load(): Promise<void> {
    const c = (this.#c = await this.contracts());
    const { loadStream } = await import('../chain/streams.ts');
    const gen = ++this.#gen;
    const [s, fee] = await Promise.all([loadStream(c, this.streamId), c.payments.query.feeBps(READER).catch(() => null)]);
    if (gen !== this.#gen) return;
    this.stream = s;
    this.feeBps = fee?.value ?? null;
    if (!s) {
      this.phase = 'missing';
      return;
    }
    this.streamRate = this.rate = s.ratePerSecond ?? 0n;
    await this.refresh();
    this.phase = 'ready';
  }

  /** Re-reads the rate a watch would agree to, the subscription and the balance (polled). */
  async refresh(): Promise<void> {
    const c = this.#c;
    const viewer = this.viewer;
    if (!c || !this.stream) return;
    const gen = ++this.#gen;
    const quote = c.ticks.query.quote(READER, this.streamId, 1n).then(
      (q) => q.value,
      () => this.streamRate, // no price plan: the listing's rate
    );
    if (!viewer) {
      const q = await quote;
      if (gen === this.#gen) this.streamRate = this.rate = q;
      return;
    }
    const [q, sub, expiry, balance] = await Promise.all([
      quote,
      c.payments.query.hasSubscription(READER, viewer, this.streamId),
      c.payments.query.subscriptionExpiry(READER, viewer, this.streamId),
      freeBalance(c.api, viewer),
    ]);
    if (gen !== this.#gen) return;
    this.streamRate = q;
    this.subscribed = sub.value;
    this.rate = sub.value ? 0n : q;
    this.subscribedUntilMs = expiry.value;
    this.balance = balance;
  }

  /**
   * Reads the chain's figures after every block (`follow`: the chain connection's block follower) and
   * polls the media server every `mediaMs`, until `close`.
   */
  poll(follow: (read: () => Promise<unknown>) => () => void, mediaMs = 2_000): void {
    const every = (ms: number, fn: () => Promise<void>) => {
      const loop = async () => {
        if (this.#closed) return;
        await fn().catch(() => {}); // keep what was known; the next round tries again
        this.#timers.push(setTimeout(loop, ms));
      };
      this.#timers.push(setTimeout(loop, ms));
    };
    // Not while a transaction of this page is on its way (the action reads what it needs after its block).
    this.#unfollow = follow(() => (this.tx.running ? Promise.resolve() : this.refresh()));
    const media = async () => {
      const p = await fetchStreamPresence(this.streamId);
      this.broadcast = p.state;
      this.thumbnail = p.thumbnail?.cid ?? null;
      this.mediaViewers = p.viewers;
      this.hls = !p.live && p.hls;
      this.plane = p.plane;
    };
    void media().catch(() => {});
    every(mediaMs, media);
    void this.loadTips().catch(() => {});
    every(5_000, () => this.loadTips());
  }

  /** Recent tips to this stream, newest first, from the indexer (finalized blocks). */
  async loadTips(): Promise<void> {
    const { history } = await import('../history/client.ts');
    try {
      this.tips = (await history.tips(this.streamId, 10)).items;
      this.tipsError = null;
    } catch (e) {
      this.tipsError = (e as Error).message;
    }
  }

  /**
   * Tips the stream's creator `amount` plancks with `message` (at most 200 bytes of UTF-8), through the
   * payment handler: the platform fee applies as to a subscription. Returns what the block says.
   */
  async tip(amount: bigint, message: string): Promise<{ amount: bigint; fee: bigint; blockHash: string }> {
    const c = this.#need();
    if (amount <= 0n) throw new Error('A tip must be more than nothing.');
    const bytes = new TextEncoder().encode(message).length;
    if (bytes > TIP_MESSAGE_MAX_BYTES) throw new Error(`The message is ${bytes} bytes; a tip's message may have at most ${TIP_MESSAGE_MAX_BYTES}.`);
    const signer = await this.wallet.signer();
    const res = await this.tx.run('Tip the creator', (o) => c.payments.tx.tip(signer, this.streamId, message, { ...o, value: amount }));
    const t = res.one('Tipped');
    void this.loadTips().catch(() => {});
    await this.refresh();
    return { amount: t.amount, fee: t.fee, blockHash: res.blockHash };
  }

  /** Buys one period of subscription tier `index` at its exact price (the purchase names the period it expects). */
  async subscribe(index: number): Promise<void> {
    const c = this.#need();
    const tier = this.stream?.plan?.tiers[index];
    if (!tier) throw new Error('No such tier');
    const signer = await this.wallet.signer();
    const res = await this.tx.run(`Subscribe (tier ${index + 1})`, (o) => c.payments.tx.buySubscription(signer, this.streamId, index, tier.periodMs, { ...o, value: tier.price }));
    // What the block says, at once: the refresh below may be superseded by a poll that began while the
    // purchase was on its way (its answer is then dropped), and the caller acts on `subscribed` now.
    this.subscribed = true;
    this.rate = 0n;
    this.subscribedUntilMs = res.one('SubscriptionPurchased').expiresAtMs;
    await this.refresh();
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#unfollow();
  }

  #need(): Contracts {
    if (!this.#c) throw new Error('The chain is not connected yet');
    return this.#c;
  }
}

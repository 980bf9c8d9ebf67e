/**
 * One viewer's session on one stream, for the watch page: join (one wallet approval: deposit + session
 * key + locked rate), the voucher loop (VoucherTicker signs a cumulative count every second with the
 * session key and posts it to the relay), the cost meter and runway, top-up, settle-now, leave with
 * the final voucher and refund, subscriptions, and WHEP playback. Created per page instance.
 */
import type { Contracts } from '../chain/connection.ts';
import { READER, freeBalance } from '../chain/connection.ts';
import type { StreamRow } from '../chain/streams.ts';
import type { PricePlan } from '$typechain/pricing_engine.ts';
import type { SessionKey, SignedVoucher } from '../protocol/voucher.ts';
import type { VoucherTicker } from '../media/ticker.ts';
import type { Playback } from '../media/whep.ts';
import { meter, UNBOUNDED } from '../format/meter.ts';
import { errorSentence } from '../format/errors.ts';
import { parse, resumeFrom, serialize, storageKey } from '../watch/stored-session.ts';
import { fetchStreamPresence, offAirSentence, onAir, type Broadcast } from '../media/presence.ts';
import type { TxLog } from './tx.svelte.ts';
import type { WalletState } from './wallet.svelte.ts';

export type Phase =
  | 'loading'
  | 'missing' // no such stream
  | 'ready' // may join
  | 'orphan' // a session exists on chain but this tab does not hold its key
  | 'joining'
  | 'watching'
  | 'stopped' // runway used up
  | 'ended' // the chain ended the session (out of funds, idle)
  | 'left';

export class WatchSession {
  phase = $state<Phase>('loading');
  stream = $state<(StreamRow & { plan: PricePlan | null }) | null>(null);
  /** Locked rate while in a session; otherwise the rate a join would lock. Plancks per second. */
  rate = $state(0n);
  escrow = $state(0n);
  settled = $state(0n);
  ticks = $state(0n);
  sessionId = $state<bigint | null>(null);
  subscribedUntilMs = $state<bigint | null>(null);
  subscribed = $state(false);
  balance = $state<bigint | null>(null);
  refund = $state<bigint | null>(null);
  /** The latest problem with the voucher loop or the media (not a transaction). */
  notice = $state<string | null>(null);
  mediaStatus = $state('not playing');
  media = $state.raw<MediaStream | null>(null);
  /** Set while an RTMP stream should play over HLS: the page attaches it to its <video> (attachHls). */
  hls = $state(false);
  busy = $state(false);
  /** The media server's word on whether a publisher is sending (null until it answered). */
  broadcast = $state<Broadcast | null>(null);
  /** The payment handler's platform fee, basis points of each charge (null until read). */
  feeBps = $state<number | null>(null);
  /** Viewers the media server is serving video now. */
  mediaViewers = $state(0);
  /** On air = the registry says live and a publisher is sending; only then may a viewer join. */
  onAir = $derived<Broadcast | null>(this.broadcast === null ? null : onAir(this.stream?.live ?? false, { state: this.broadcast, viewers: 0 }));
  /** True while watching is paused because the publisher stopped sending: nothing is signed, nothing charged. */
  offAirPause = $state(false);

  /** The count when a subscription was first seen in this session (seconds after it cost nothing). */
  subscribedAtTicks = $state<bigint | null>(null);
  /** What this session cost: every second before the subscription at the locked rate. */
  cost = $derived(this.subscribed && this.subscribedAtTicks !== null ? this.subscribedAtTicks * this.rate : this.ticks * this.rate);

  meter = $derived(meter({ ratePerSecond: this.subscribed ? 0n : this.rate, ticks: this.ticks, settledTicks: this.settled, escrowOnChain: this.escrow }));

  #c: Contracts | null = null;
  #key: SessionKey | null = null;
  #ticker: VoucherTicker | null = null;
  #latest: SignedVoucher | undefined;
  #playback: Playback | null = null;
  #playing = false;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #closed = false;
  #loadGen = 0;
  /** Numbers each round of chain reads: an older round that answers late must not overwrite a newer one. */
  #readGen = 0;

  constructor(
    readonly streamId: bigint,
    private readonly wallet: WalletState,
    private readonly tx: TxLog,
    private readonly contracts: () => Promise<Contracts>,
  ) {}

  get viewer(): string | null {
    return this.wallet.selected?.address ?? null;
  }

  get latestVoucher(): SignedVoucher | undefined {
    return this.#latest;
  }

  /** Reads the stream, the price and the viewer's state; resumes a session this tab holds the key of. */
  async load(): Promise<void> {
    // The page loads again when the account changes; only the newest load may go on to resume.
    const gen = ++this.#loadGen;
    const viewer = this.viewer;
    const c = (this.#c = await this.contracts());
    const { loadStream } = await import('../chain/streams.ts');
    const s = await loadStream(c, this.streamId);
    if (gen !== this.#loadGen) return;
    this.stream = s;
    if (!s) {
      this.phase = 'missing';
      return;
    }
    this.rate = s.ratePerSecond ?? 0n;
    const [fee] = await Promise.all([c.payments.query.feeBps(READER).catch(() => null), this.refresh()]);
    this.feeBps = fee?.value ?? null;
    if (gen !== this.#loadGen) return;
    if (!viewer) {
      this.phase = 'ready';
      return;
    }
    const session = (await c.ticks.query.sessionOf(READER, this.streamId, viewer)).value;
    if (gen !== this.#loadGen) return;
    if (!session) {
      this.phase = 'ready';
      return;
    }
    this.sessionId = session.id;
    this.rate = session.ratePerSecond;
    this.settled = session.ticksSettled;
    const stored = parse(sessionStorage.getItem(this.#storageKey()));
    const { SessionKey } = await import('../protocol/voucher.ts');
    if (gen !== this.#loadGen) return;
    const from = resumeFrom(stored, session, (seed) => SessionKey.fromSeed(seed).publicKey);
    if (from === null || !stored) {
      this.phase = 'orphan';
      return;
    }
    this.#key = SessionKey.fromSeed(stored.seed);
    await this.#startTicking(from);
  }

  /** Re-reads escrow, the session's settled count, the subscription, the wallet balance and the stream. */
  async refresh(): Promise<void> {
    const c = this.#c;
    const viewer = this.viewer;
    if (!c) return;
    // One round of reads (each is a contract dry run: on a slow chain, rounds add up).
    const viewersRead = c.ticks.query.liveViewers(READER, this.streamId);
    if (!viewer) {
      const viewers = await viewersRead;
      if (this.stream) this.stream = { ...this.stream, viewers: viewers.value };
      return;
    }
    // A poll's round may have started before an action's transaction landed and answer after the
    // action's own round: only the newest round's figures are shown (the stale escrow after leaving).
    const gen = ++this.#readGen;
    const [viewers, escrow, session, sub, expiry, balance] = await Promise.all([
      viewersRead,
      c.payments.query.escrowOf(READER, viewer),
      c.ticks.query.sessionOf(READER, this.streamId, viewer),
      c.payments.query.hasSubscription(READER, viewer, this.streamId),
      c.payments.query.subscriptionExpiry(READER, viewer, this.streamId),
      freeBalance(c.api, viewer),
    ]);
    if (gen !== this.#readGen) return;
    if (this.stream) this.stream = { ...this.stream, viewers: viewers.value };
    this.escrow = escrow.value;
    this.subscribed = sub.value;
    if (sub.value && this.subscribedAtTicks === null) this.subscribedAtTicks = this.ticks;
    if (!sub.value) this.subscribedAtTicks = null;
    this.subscribedUntilMs = expiry.value;
    this.balance = balance;
    if (session.value) {
      if (session.value.ticksSettled > this.settled) this.settled = session.value.ticksSettled;
    } else if (this.phase === 'watching' || this.phase === 'stopped') {
      // The chain ended the session: a voucher past the escrow (out of funds) or idle.
      this.#stopTicking();
      this.phase = 'ended';
      this.notice = 'The chain ended this session (the deposit ran out or it was idle). Join again to keep watching.';
      sessionStorage.removeItem(this.#storageKey());
    } else if (this.phase !== 'joining' && this.phase !== 'left' && this.phase !== 'ended') {
      // Quote the rate a join would lock now (dynamic pricing moves with the audience).
      try {
        this.rate = (await c.ticks.query.quote(READER, this.streamId, viewer, 1n)).value;
      } catch {
        /* no price plan: keep the listing's rate */
      }
    }
  }

  /** Polls the chain every few seconds until `close`. */
  poll(everyMs = 3_000): void {
    const loop = async () => {
      if (this.#closed) return;
      try {
        await this.refresh();
      } catch (e) {
        this.notice = `Could not read the chain: ${errorSentence(e)}`;
      }
      this.#timers.push(setTimeout(loop, everyMs));
    };
    this.#timers.push(setTimeout(loop, everyMs));
  }

  /**
   * Asks the media server every `everyMs` whether the stream is on air, and follows it: a watching
   * session pauses (stops signing, so stops paying) while the publisher is gone and resumes when it
   * is back.
   */
  pollBroadcast(everyMs = 2_000): void {
    const loop = async () => {
      if (this.#closed) return;
      try {
        const p = await fetchStreamPresence(this.streamId);
        this.broadcast = p.state;
        this.mediaViewers = p.viewers;
        await this.#followBroadcast();
      } catch {
        /* the media server did not answer: keep what was known */
      }
      this.#timers.push(setTimeout(loop, everyMs));
    };
    void loop();
  }

  async #followBroadcast(): Promise<void> {
    if (!this.#key || (this.phase !== 'watching' && this.phase !== 'stopped')) return;
    const live = this.onAir === 'live';
    if (!live && !this.offAirPause && this.phase === 'watching') {
      this.offAirPause = true;
      this.#stopTicking();
      this.mediaStatus = 'stopped: the creator is not sending video';
      this.notice = offAirSentence(this.onAir ?? 'offline', this.stream?.live ?? false);
    } else if (live && this.offAirPause) {
      this.offAirPause = false;
      this.notice = null;
      await this.#startTicking(this.ticks);
    }
  }

  /** One wallet approval: join_stream with `deposit` as its value, a fresh session key, the rate locked. */
  async join(deposit: bigint): Promise<void> {
    if (this.onAir !== 'live') throw new Error(offAirSentence(this.onAir ?? 'offline', this.stream?.live ?? false));
    const c = this.#need();
    const { SessionKey } = await import('../protocol/voucher.ts');
    const key = SessionKey.generate();
    const signer = await this.wallet.signer();
    this.phase = 'joining';
    this.notice = null;
    try {
      const maxRate = this.rate;
      const res = await this.tx.run('Join stream', (o) => c.ticks.tx.joinStream(signer, this.streamId, key.publicKey, maxRate, false, { ...o, value: deposit }));
      // From the block, not the dry run: two viewers joining in one block predict the same id.
      const joined = res.one('ViewerJoined');
      this.#key = key;
      this.sessionId = joined.sessionId;
      this.rate = joined.ratePerSecond;
      this.settled = 0n;
      this.ticks = 0n;
      this.refund = null;
      sessionStorage.setItem(this.#storageKey(), serialize({ seed: key.seed, sessionId: joined.sessionId, ticks: 0n }));
      await this.refresh();
      await this.#startTicking(0n);
    } catch (e) {
      this.phase = 'ready';
      throw e;
    }
  }

  /** payment_handler.deposit: more escrow; the voucher loop resumes if the runway had ended. */
  async topUp(amount: bigint): Promise<void> {
    const c = this.#need();
    const signer = await this.wallet.signer();
    await this.tx.run('Top up', (o) => c.payments.tx.deposit(signer, { ...o, value: amount }));
    await this.refresh();
    if ((this.phase === 'watching' || this.phase === 'stopped') && this.#key) {
      this.#stopTicking();
      await this.#startTicking(this.ticks);
    }
  }

  /** Settles the latest voucher from the viewer's own wallet (when no relay settles). */
  async settleNow(): Promise<void> {
    const c = this.#need();
    const v = this.#latest;
    if (!v) throw new Error('No voucher to settle yet');
    const signer = await this.wallet.signer();
    await this.tx.run('Settle watched seconds', (o) => c.ticks.tx.recordTicks(signer, v, o));
    await this.refresh();
  }

  /** leave_stream with the final voucher (settles what is owed) and the refund of unspent escrow. */
  async leave(): Promise<void> {
    const c = this.#need();
    const signer = await this.wallet.signer();
    this.#stopTicking();
    const finalVoucher = this.#latest ?? null;
    try {
      const res = await this.tx.run('Leave and refund', (o) => c.ticks.tx.leaveStream(signer, this.streamId, finalVoucher, true, o));
      // The payment handler's Withdrawn event to this viewer in the same block (none: nothing was left).
      this.refund = c.payments
        .decodeEvents(res.records)
        .filter((e) => e.name === 'Withdrawn' && e.args.viewer === signer.address)
        .reduce((sum, e) => sum + (e.args.amount as bigint), 0n);
      this.phase = 'left';
      sessionStorage.removeItem(this.#storageKey());
      this.#key = null;
      this.settled = this.ticks;
      await this.refresh();
    } catch (e) {
      // Still in the session: keep ticking.
      if (this.#key && (this.phase === 'watching' || this.phase === 'stopped')) await this.#startTicking(this.ticks);
      throw e;
    }
  }

  /** Buys one period of subscription tier `index` at its exact price. */
  async subscribe(index: number): Promise<void> {
    const c = this.#need();
    const tier = this.stream?.plan?.tiers[index];
    if (!tier) throw new Error('No such tier');
    const signer = await this.wallet.signer();
    await this.tx.run(`Subscribe (tier ${index + 1})`, (o) => c.payments.tx.buySubscription(signer, this.streamId, index, tier.periodMs, { ...o, value: tier.price }));
    await this.refresh();
    if (this.phase === 'watching' || this.phase === 'stopped') {
      this.#stopTicking();
      await this.#startTicking(this.ticks);
    }
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#stopTicking();
  }

  async #startTicking(from: bigint): Promise<void> {
    const c = this.#need();
    const viewer = this.viewer!;
    const { VoucherTicker } = await import('../media/ticker.ts');
    // Never two tickers: a second one would sign the same counts and outlive a leave.
    this.#ticker?.stop();
    this.#ticker = null;
    if (this.#closed) return;
    this.ticks = from;
    const m = this.meter;
    this.phase = m.exhausted ? 'stopped' : 'watching';
    // Off air: nothing is signed until the publisher is back (#followBroadcast resumes).
    if (m.exhausted || this.offAirPause) return;
    const ticker = new VoucherTicker({
      contract: c.ticks.address,
      key: this.#key!,
      streamId: this.streamId,
      viewer,
      sessionId: this.sessionId!,
      startTicks: from,
      maxTicks: m.maxTicks === UNBOUNDED ? undefined : m.maxTicks,
      onTick: (e) => {
        if (this.#ticker !== ticker) return;
        if (e.accepted) {
          this.ticks = e.ticks;
          this.#latest = ticker.latest() ?? this.#latest;
          this.notice = null;
          sessionStorage.setItem(this.#storageKey(), serialize({ seed: this.#key!.seed, sessionId: this.sessionId!, ticks: e.ticks }));
          // Ask for video once a voucher is accepted: the media server's gate has then read this
          // session from the chain and seen it pay (a refusal is retried within a second, below).
          if (!this.#playing) void this.#play();
        } else if (e.error?.startsWith('Runway')) {
          this.phase = 'stopped';
          this.notice = 'Top up to keep watching, or leave: what is left of the deposit comes back.';
          void this.#stopPlayback();
        } else {
          this.notice = `The last second was not accepted: ${e.error ?? 'unknown reason'}`;
        }
      },
    });
    this.#ticker = ticker;
    ticker.start();
  }

  #stopTicking() {
    this.#ticker?.stop();
    this.#ticker = null;
    void this.#stopPlayback();
  }

  async #play(): Promise<void> {
    const v = this.#latest;
    if (!v || this.#playing || this.#closed || this.phase !== 'watching') return;
    this.#playing = true;
    try {
      // Ask first (a refused WHEP offer would cost a peer connection and log a failed request).
      const status = (await (await fetch(`/api/streams/${this.streamId}/media`)).json().catch(() => ({}))) as { live?: boolean; hls?: boolean };
      if (!status.live && status.hls) {
        // Published over RTMP: the page's <video> plays it through hls.js (attachHls).
        this.mediaStatus = 'playing';
        this.hls = true;
        return;
      }
      if (!status.live) {
        this.#playing = false;
        this.mediaStatus = 'The creator is not sending video right now; waiting…';
        this.#timers.push(setTimeout(() => void this.#play(), 4_000));
        return;
      }
      this.mediaStatus = 'connecting';
      const { play } = await import('../media/whep.ts');
      const p = await play({ streamId: this.streamId, viewer: this.viewer!, sessionId: this.sessionId!, voucher: v });
      if (this.phase !== 'watching') {
        await p.stop();
        this.#playing = false;
        return;
      }
      this.#playback = p;
      this.media = p.stream;
      this.mediaStatus = 'playing';
    } catch (e) {
      this.#playing = false;
      const err = e as { name?: string; status?: number; message: string };
      this.mediaStatus = err.status === 404 ? 'The creator is not sending video right now; retrying…' : `Video unavailable: ${errorSentence(e)}`;
      // Try again: soon if the gate refused (it opens with the next voucher), later otherwise (a
      // publisher may start).
      this.#timers.push(setTimeout(() => void this.#play(), err.status === 402 ? 1_000 : 5_000));
    }
  }

  /** Plays the HLS stream into `video`; returns the function that stops it. */
  async attachHls(video: HTMLVideoElement): Promise<() => void> {
    const { playHls } = await import('../media/hls.ts');
    const p = await playHls({
      video,
      streamId: this.streamId,
      viewer: this.viewer!,
      sessionId: this.sessionId!,
      voucher: () => this.#latest ?? undefined,
      onError: (e) => {
        if (!this.hls) return;
        this.hls = false;
        this.#playing = false;
        this.mediaStatus = `Video unavailable: ${errorSentence(e)}`;
        if (this.phase === 'watching') this.#timers.push(setTimeout(() => void this.#play(), e.status === 402 ? 1_000 : 5_000));
      },
    });
    return () => p.stop();
  }

  async #stopPlayback() {
    const p = this.#playback;
    this.#playback = null;
    this.#playing = false;
    this.media = null;
    this.hls = false;
    if (this.mediaStatus === 'playing' || this.mediaStatus === 'connecting') this.mediaStatus = 'stopped';
    await p?.stop();
  }

  #storageKey(): string {
    return storageKey(this.#need().ticks.address, this.streamId, this.viewer ?? '');
  }

  #need(): Contracts {
    if (!this.#c) throw new Error('The chain is not connected yet');
    return this.#c;
  }
}

/**
 * A creator's view of one stream (/creator/[id]): details, price plan, live switch, earnings (settled
 * on chain, and pending: signed by viewers' tabs, held by the relay), audience now (the media
 * server's), charts over a chosen range from the event indexer (dapp/lib/history/client.ts), the
 * tips, withdrawal, stream keys and browser publishing (WHIP). Created per page instance.
 */
import type { Contracts } from '../chain/connection.ts';
import { READER, freeBalance } from '../chain/connection.ts';
import type { PlanInput, PricePlan } from '$typechain/pricing_engine.ts';
import type { Stream, StreamDetails } from '$typechain/stream_registry.ts';
import { filledSeries, history, type LedgerItem } from '../history/client.ts';
import { fetchStreamPresence } from '../media/presence.ts';
import type { TxLog } from './tx.svelte.ts';
import type { WalletState } from './wallet.svelte.ts';

type Series = { t: number; v: number }[];

/** The charts' ranges: how far back, and the bucket of each point. */
export const RANGES = {
  day: { label: '24 hours', ms: 86_400_000, bucket: 'hour' },
  week: { label: '7 days', ms: 7 * 86_400_000, bucket: 'hour' },
  month: { label: '30 days', ms: 30 * 86_400_000, bucket: 'day' },
  year: { label: '1 year', ms: 365 * 86_400_000, bucket: 'day' },
} as const;
export type Range = keyof typeof RANGES | 'custom';
const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const;

/** The stream's history over `range`, from the indexer. */
export interface StudioHistory {
  range: Range;
  fromMs: number;
  toMs: number;
  /** Earnings (net of the fee) per bucket, in plancks, as numbers of the token's unit for the chart. */
  earnings: Series;
  seconds: Series;
  viewers: Series;
  /** Net earned, all time (watching, subscriptions, tips), and withdrawn. */
  earnedAllTime: bigint;
  withdrawnAllTime: bigint;
  /** Σ over the range, in plancks. */
  earnedInRange: bigint;
  tips: LedgerItem[];
  /** The indexer's last block: the history is complete up to it. */
  indexedTo: { number: number; atMs: number } | null;
}

export interface Figures {
  /** Viewers the media server is serving video now. */
  viewers: number;
  /** Seconds paid on chain, all time. */
  secondsWatched: bigint;
  /** Settled on chain, not yet withdrawn (after the platform fee). */
  earnings: bigint;
  /** Signed by viewers' tabs and held by the relay, not yet settled (before the platform fee); null: the relay did not say. */
  pending: bigint | null;
  withdrawn: bigint;
}

export class StreamStudio {
  stream = $state<Stream | null>(null);
  plan = $state<PricePlan | null>(null);
  figures = $state<Figures>({ viewers: 0, secondsWatched: 0n, earnings: 0n, pending: null, withdrawn: 0n });
  balance = $state<bigint | null>(null);
  range = $state<Range>('week');
  /** The days of a custom range (UTC, inclusive), when `range` is 'custom'. */
  custom = $state<{ fromMs: number; toMs: number } | null>(null);
  history = $state<StudioHistory | null>(null);
  historyError = $state<string | null>(null);
  /** The encoder key just issued (shown once; the server keeps only its hash). */
  streamKey = $state<string | null>(null);
  /** When the stream's current encoder key was issued (ms), null = none yet; undefined = not asked. */
  keyIssuedAtMs = $state<number | null | undefined>(undefined);
  publishing = $state(false);
  /** Why the camera's broadcast stopped without "Stop camera" (the media server ended it); null while none did. */
  publishEnded = $state<string | null>(null);
  preview = $state.raw<MediaStream | null>(null);
  loaded = $state(false);
  #c: Contracts | null = null;
  /** The camera's publishing session (WHIP, or LiveKit's client on that plane). */
  #pub: { stop(): Promise<void>; onEnd(f: (why: string) => void): void } | null = null;

  constructor(
    readonly streamId: bigint,
    private readonly wallet: WalletState,
    private readonly tx: TxLog,
    private readonly contracts: () => Promise<Contracts>,
    private readonly token: () => { decimals: number } = () => ({ decimals: 12 }),
  ) {}

  get isCreator(): boolean {
    return !!this.stream && this.stream.creator === this.wallet.selected?.address;
  }

  async load(): Promise<void> {
    const c = (this.#c = await this.contracts());
    const [s, p] = await Promise.all([c.registry.query.getStream(READER, this.streamId), c.pricing.query.pricePlan(READER, this.streamId)]);
    this.stream = s.value;
    this.plan = p.value;
    await Promise.all([this.refresh(), this.loadKeyStatus(), this.loadHistory()]);
    this.loaded = true;
  }

  /** Whether an encoder key exists (GET /api/streams/:id/key never returns the key itself). */
  async loadKeyStatus(): Promise<void> {
    const res = await fetch(`/api/streams/${this.streamId}/key`).catch(() => null);
    if (!res?.ok) return;
    this.keyIssuedAtMs = ((await res.json()) as { issuedAtMs: number | null }).issuedAtMs;
  }

  /** Every figure: the chain's and the media server's. */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshChain(), this.refreshMedia()]);
  }

  /** What the chain says (seconds settled, earnings, the balance): changes only with a block. */
  async refreshChain(): Promise<void> {
    const c = this.#c;
    if (!c) return;
    const me = this.wallet.selected?.address;
    const [watched, earnings, balance] = await Promise.all([
      c.ticks.query.streamTicks(READER, this.streamId),
      c.payments.query.earningsOf(READER, this.streamId),
      me ? freeBalance(c.api, me) : null,
    ]);
    this.figures = { ...this.figures, secondsWatched: watched.value, earnings: earnings.value };
    if (balance !== null) this.balance = balance;
  }

  /** What the media server says (viewers now, seconds signed but not settled yet). */
  async refreshMedia(): Promise<void> {
    const [presence, pending] = await Promise.all([
      fetchStreamPresence(this.streamId).catch(() => null),
      fetch(`/api/streams/${this.streamId}/earnings`)
        .then((r) => (r.ok ? (r.json() as Promise<{ pendingPlancks: string }>) : null))
        .catch(() => null),
    ]);
    this.figures = { ...this.figures, viewers: presence?.viewers ?? this.figures.viewers, pending: pending ? BigInt(pending.pendingPlancks) : null };
  }

  /**
   * The charts and tips of `range` (default: the current one) from the indexer: earnings net of the
   * fee, seconds watched and distinct paying viewers per bucket, by when the chain settled them.
   */
  async loadHistory(range: Range = this.range): Promise<void> {
    const creator = this.stream?.creator;
    if (!creator) return;
    if (range === 'custom' && !this.custom) return;
    this.range = range;
    const custom = range === 'custom' ? this.custom! : null;
    // A custom range up to a week long is drawn by the hour, a longer one by the day.
    const r = custom ? { ms: custom.toMs - custom.fromMs, bucket: custom.toMs - custom.fromMs <= RANGES.week.ms ? ('hour' as const) : ('day' as const) } : RANGES[range as keyof typeof RANGES];
    const bucketMs = BUCKET_MS[r.bucket];
    try {
      const earn = await history.earnings(creator, custom ?? { span: r.ms }, r.bucket);
      // The audience over the same range as the earnings (the server says where "now" is).
      const [aud, tips] = await Promise.all([history.audience(this.streamId, { fromMs: earn.fromMs, toMs: earn.toMs }, r.bucket), history.tips(this.streamId, 10)]);
      const { fromMs, toMs } = earn;
      if (this.range !== range) return;
      const mine = earn.buckets.filter((b) => b.streamId === this.streamId.toString());
      const unit = 10 ** this.token().decimals;
      const totals = earn.totals.find((t) => t.streamId === this.streamId.toString());
      this.history = {
        range,
        fromMs,
        toMs,
        earnings: filledSeries(new Map(mine.map((b) => [b.startMs, Number(BigInt(b.net)) / unit])), fromMs, toMs, bucketMs),
        seconds: filledSeries(new Map(aud.buckets.map((b) => [b.startMs, Number(b.seconds)])), fromMs, toMs, bucketMs),
        viewers: filledSeries(new Map(aud.buckets.map((b) => [b.startMs, b.viewers])), fromMs, toMs, bucketMs),
        earnedAllTime: BigInt(totals?.net ?? '0'),
        withdrawnAllTime: BigInt(totals?.withdrawn ?? '0'),
        earnedInRange: mine.reduce((sum, b) => sum + BigInt(b.net), 0n),
        tips: tips.items,
        indexedTo: earn.indexedTo,
      };
      this.historyError = null;
    } catch (e) {
      this.historyError = (e as Error).message;
    }
  }

  /** Shows the days `from` to `to` (yyyy-mm-dd, UTC, both included); a sentence if they make no range. */
  async showDays(from: string, to: string): Promise<string | null> {
    const fromMs = Date.parse(`${from}T00:00:00Z`);
    const toMs = Date.parse(`${to}T00:00:00Z`) + 86_400_000;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return 'Choose both days.';
    if (fromMs >= toMs) return 'The first day must not be after the last.';
    if (toMs - fromMs > 367 * 86_400_000) return 'A range may span at most 367 days.';
    this.custom = { fromMs, toMs };
    await this.loadHistory('custom');
    return this.historyError;
  }

  /** The CSV of the creator's earnings over the current range (every stream of theirs). */
  csvUrl(): string | null {
    const h = this.history;
    return h && this.stream ? history.csvUrl(this.stream.creator, h.fromMs, h.toMs) : null;
  }

  async saveDetails(details: StreamDetails): Promise<void> {
    const c = this.#need();
    const signer = await this.wallet.signer();
    await this.tx.run('Save details', (o) => c.registry.tx.updateStream(signer, this.streamId, details, o));
    this.stream = (await c.registry.query.getStream(READER, this.streamId)).value;
  }

  async savePlan(plan: PlanInput): Promise<void> {
    const c = this.#need();
    const signer = await this.wallet.signer();
    await this.tx.run('Save pricing', (o) => c.pricing.tx.setPricePlan(signer, this.streamId, plan, o));
    this.plan = (await c.pricing.query.pricePlan(READER, this.streamId)).value;
  }

  async setLive(live: boolean): Promise<void> {
    const c = this.#need();
    const signer = await this.wallet.signer();
    await this.tx.run(live ? 'Go live' : 'Go offline', (o) => c.registry.tx.setLive(signer, this.streamId, live, o));
    this.stream = (await c.registry.query.getStream(READER, this.streamId)).value;
  }

  async withdraw(): Promise<bigint> {
    const c = this.#need();
    const signer = await this.wallet.signer();
    const res = await this.tx.run('Withdraw earnings', (o) => c.payments.tx.withdrawEarnings(signer, this.streamId, o));
    const { amount } = res.one('EarningsWithdrawn');
    this.figures = { ...this.figures, withdrawn: this.figures.withdrawn + amount };
    await Promise.all([this.refresh(), this.loadHistory()]);
    return amount;
  }

  /** A new stream key from the media server, asked for with a wallet-signed, timestamped request. */
  async newStreamKey(): Promise<string> {
    const me = this.wallet.selected;
    if (!me) throw new Error('Choose an account first');
    const timestamp = Date.now();
    const signature = await this.wallet.signMessage(`vilokanam:stream-key:${this.streamId}:${timestamp}`);
    const res = await fetch(`/api/streams/${this.streamId}/key`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ address: me.address, timestamp, signature }),
    });
    const body = (await res.json().catch(() => ({}))) as { streamKey?: string; message?: string };
    if (res.status !== 201 || !body.streamKey) throw new Error(body.message ?? `the media server refused the stream key (HTTP ${res.status})`);
    this.streamKey = body.streamKey;
    this.keyIssuedAtMs = timestamp;
    return body.streamKey;
  }

  /**
   * Camera and microphone → the media plane, authorised by one wallet signature of a single-use
   * publish request (not the encoder key: going live from the browser leaves the key OBS holds
   * working). WHIP on the werift plane; on LiveKit's, LiveKit's client with simulcast layers.
   */
  async goLiveFromCamera(): Promise<void> {
    const me = this.wallet.selected;
    if (!me) throw new Error('Choose an account first');
    const [media, presence] = await Promise.all([
      navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 15 }, audio: true }),
      fetchStreamPresence(this.streamId).catch(() => undefined),
    ]);
    try {
      const timestamp = Date.now();
      const signature = await this.wallet.signMessage(`vilokanam:publish:${this.streamId}:${timestamp}`);
      const streamKey = `creator.${me.address}.${timestamp}.${signature}`;
      if (presence?.plane === 'livekit') {
        const { publishToRoom } = await import('../media/livekit.ts');
        this.#pub = await publishToRoom({ streamId: this.streamId, authorization: `Bearer ${streamKey}`, media });
      } else {
        const { publish } = await import('../media/whip.ts');
        this.#pub = await publish({ streamId: this.streamId, streamKey, media });
      }
      this.preview = media;
      this.publishing = true;
      this.publishEnded = null;
      const pub = this.#pub;
      // Said, not left to a frozen preview: the camera stops, and "Go live from camera" is offered again.
      pub.onEnd((why) => {
        if (this.#pub !== pub) return;
        void this.stopPublishing().then(() => (this.publishEnded = `The camera's broadcast stopped: ${why}. Go live again when you are ready.`));
      });
      if (!this.stream?.live) await this.setLive(true);
    } catch (e) {
      for (const t of media.getTracks()) t.stop();
      throw e;
    }
  }

  async stopPublishing(): Promise<void> {
    this.publishEnded = null;
    await this.#pub?.stop();
    this.#pub = null;
    for (const t of this.preview?.getTracks() ?? []) t.stop();
    this.preview = null;
    this.publishing = false;
  }

  #need(): Contracts {
    if (!this.#c) throw new Error('The chain is not connected yet');
    return this.#c;
  }
}

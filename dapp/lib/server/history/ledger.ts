/**
 * From the four contracts' decoded events to the ledger: one row per movement of money, each with the
 * account it concerns, the stream, the seconds and the plancks. Pure, so the rules are unit-tested.
 */

/** What a ledger row records. Amounts are plancks; `fee` is the platform's part of `amount`. */
export type LedgerKind =
  /** A viewer put `amount` into a new tab (wallet → tab). */
  | 'tab_opened'
  /** A viewer added `amount` to their tab. */
  | 'tab_topped_up'
  /** `seconds` of one watch were settled: `amount` left the viewer's tab for the stream (the fee is taken in `earnings_booked`). */
  | 'watch_paid'
  /** A closed tab's unspent `amount` went back to its viewer. */
  | 'tab_refunded'
  /** A viewer bought a subscription for `amount`, of which `fee` is the platform's. */
  | 'subscription'
  /** A viewer tipped a stream's creator `amount`, of which `fee` is the platform's. */
  | 'tip'
  /** Tab earnings of `amount` were booked for a stream, of which `fee` is the platform's (one row per stream per settlement batch). */
  | 'earnings_booked'
  /** A creator withdrew `amount` of a stream's earnings. */
  | 'earnings_withdrawn'
  /** The admin withdrew `amount` of collected fees. */
  | 'fees_withdrawn'
  /** `amount` sent to the payment handler by plain transfer was moved into the fees. */
  | 'surplus_swept';

/** What earns a creator money (the `earnings` queries sum these, net of their fees). */
export const EARNING_KINDS = ['earnings_booked', 'subscription', 'tip'] as const satisfies readonly LedgerKind[];
/** What a viewer paid for (their payment history). */
export const PAYMENT_KINDS = ['watch_paid', 'subscription', 'tip'] as const satisfies readonly LedgerKind[];

export type ContractName = 'stream_registry' | 'pricing_engine' | 'tick_stream' | 'payment_handler';

/** A decoded event at its place in its block (`index`: its position among the block's events). */
export interface IndexedEvent {
  index: number;
  contract: ContractName;
  name: string;
  args: Record<string, unknown>;
}

export interface LedgerRow {
  eventIndex: number;
  /** Position within the event (a settlement has one row per watch). */
  part: number;
  kind: LedgerKind;
  account: string | null;
  streamId: bigint | null;
  creator: string | null;
  tabId: bigint | null;
  seconds: bigint;
  amount: bigint;
  fee: bigint;
  detail: Record<string, unknown> | null;
}

export interface Lookups {
  viewerOf(tabId: bigint): string | undefined;
  creatorOf(streamId: bigint): string | undefined;
}

const big = (v: unknown): bigint => BigInt(v as bigint | number | string);

/** The ledger rows of one event (none for an event that moves no money). */
export function toLedger(e: IndexedEvent, look: Lookups): LedgerRow[] {
  const a = e.args;
  const row = (kind: LedgerKind, r: Partial<LedgerRow> & { amount: bigint }): LedgerRow => ({
    eventIndex: e.index,
    part: 0,
    kind,
    account: null,
    streamId: null,
    creator: null,
    tabId: null,
    seconds: 0n,
    fee: 0n,
    detail: null,
    ...r,
  });
  const key = `${e.contract}.${e.name}`;
  switch (key) {
    case 'tick_stream.TabOpened':
      return [row('tab_opened', { account: a.viewer as string, tabId: big(a.tabId), amount: big(a.balance) })];
    case 'tick_stream.TabToppedUp': {
      const tabId = big(a.tabId);
      return [row('tab_topped_up', { account: look.viewerOf(tabId) ?? null, tabId, amount: big(a.amount) })];
    }
    case 'tick_stream.TabClosed':
      return [row('tab_refunded', { account: a.viewer as string, tabId: big(a.tabId), amount: big(a.refund) })];
    case 'tick_stream.TabSettled': {
      const tabId = big(a.tabId);
      const viewer = look.viewerOf(tabId) ?? null;
      const watches = a.watches as Array<Record<string, unknown>>;
      return watches
        .map((w, part) => ({ w, part }))
        .filter(({ w }) => big(w.newTicks) > 0n || big(w.amount) > 0n)
        .map(({ w, part }) => {
          const streamId = big(w.streamId);
          return row('watch_paid', {
            part,
            account: viewer,
            tabId,
            streamId,
            creator: look.creatorOf(streamId) ?? null,
            seconds: big(w.newTicks),
            amount: big(w.amount),
            detail: { watch: Number(w.watch), settled: String(w.settled), unpaidSeconds: String(w.unpaidTicks), retired: Boolean(w.retired) },
          });
        });
    }
    case 'payment_handler.SubscriptionPurchased': {
      const streamId = big(a.streamId);
      return [
        row('subscription', {
          account: a.viewer as string,
          streamId,
          creator: look.creatorOf(streamId) ?? null,
          amount: big(a.price),
          fee: big(a.fee),
          detail: { tier: Number(a.tier), expiresAtMs: String(a.expiresAtMs) },
        }),
      ];
    }
    case 'payment_handler.Tipped':
      return [
        row('tip', {
          account: a.from as string,
          streamId: big(a.streamId),
          creator: a.creator as string,
          amount: big(a.amount),
          fee: big(a.fee),
          detail: { message: String(a.message) },
        }),
      ];
    case 'payment_handler.EarningsBooked': {
      const streamId = big(a.streamId);
      return [row('earnings_booked', { streamId, creator: look.creatorOf(streamId) ?? null, amount: big(a.amount), fee: big(a.fee) })];
    }
    case 'payment_handler.EarningsWithdrawn':
      return [row('earnings_withdrawn', { account: a.creator as string, creator: a.creator as string, streamId: big(a.streamId), amount: big(a.amount) })];
    case 'payment_handler.FeesWithdrawn':
      return [row('fees_withdrawn', { account: a.to as string, amount: big(a.amount) })];
    case 'payment_handler.SurplusSwept':
      return [row('surplus_swept', { amount: big(a.amount) })];
    default:
      return [];
  }
}

/** Event arguments as JSON (u64 and u128 as decimal strings). */
export function argsJson(args: Record<string, unknown>): string {
  return JSON.stringify(args, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * What the history answers, from the indexer's tables (same SQL on PGlite and PostgreSQL). Amounts are
 * plancks as decimal strings (u128 does not fit a JSON number); times are milliseconds since the Unix
 * epoch, of the block that recorded the movement. Lists are newest first and paged by a cursor.
 */
import type { Sql } from './db.ts';
import { EARNING_KINDS, PAYMENT_KINDS, type LedgerKind } from './ledger.ts';

export const BUCKETS = { hour: 3_600_000, day: 86_400_000 } as const;
export type Bucket = keyof typeof BUCKETS;

export interface LedgerItem {
  /** `block.event.part`: the item's place on chain, and the cursor that pages past it. */
  id: string;
  block: number;
  atMs: number;
  kind: LedgerKind;
  account: string | null;
  streamId: string | null;
  creator: string | null;
  tabId: string | null;
  seconds: string;
  amount: string;
  fee: string;
  detail: Record<string, unknown> | null;
}

export interface Page<T> {
  items: T[];
  /** Pass as `before` for the next (older) page; null: this is the last. */
  next: string | null;
}

export interface EarningsBucket {
  startMs: number;
  streamId: string;
  /** Gross from tabs (watching), subscriptions and tips, before the fee. */
  tabs: string;
  subscriptions: string;
  tips: string;
  fees: string;
  /** What the creator earned: gross less fees. */
  net: string;
  /** Seconds watched that were settled in the bucket. */
  seconds: string;
}

export interface AudienceBucket {
  startMs: number;
  /** Seconds watched that were settled in the bucket. */
  seconds: string;
  /** Distinct viewers whose watching was settled in the bucket. */
  viewers: number;
}

interface Row {
  block_number: string;
  event_index: number;
  part: number;
  at_ms: string;
  kind: LedgerKind;
  account: string | null;
  stream_id: string | null;
  creator: string | null;
  tab_id: string | null;
  seconds: string;
  amount: string;
  fee: string;
  detail: Record<string, unknown> | string | null;
}

const COLUMNS = 'block_number, event_index, part, at_ms, kind, account, stream_id, creator, tab_id, seconds::text, amount::text, fee::text, detail';

function item(r: Row): LedgerItem {
  return {
    id: `${r.block_number}.${r.event_index}.${r.part}`,
    block: Number(r.block_number),
    atMs: Number(r.at_ms),
    kind: r.kind,
    account: r.account,
    streamId: r.stream_id === null ? null : String(r.stream_id),
    creator: r.creator,
    tabId: r.tab_id === null ? null : String(r.tab_id),
    seconds: String(r.seconds),
    amount: String(r.amount),
    fee: String(r.fee),
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
  };
}

/** A cursor (`block.event.part`) as numbers, or null when malformed. */
export function parseCursor(c: string): [number, number, number] | null {
  const m = /^(\d{1,15})\.(\d{1,9})\.(\d{1,9})$/.exec(c);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export class History {
  constructor(private readonly db: Sql) {}

  /** Ledger rows matching `where` (with `params` from $1), newest first, `limit` per page. */
  private async page(where: string, params: unknown[], o: { limit: number; before?: [number, number, number] }): Promise<Page<LedgerItem>> {
    const p = [...params];
    let clause = where;
    if (o.before) {
      p.push(...o.before);
      const n = p.length;
      clause += ` AND (block_number, event_index, part) < ($${n - 2}::bigint, $${n - 1}::int, $${n}::int)`;
    }
    p.push(o.limit + 1);
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM ledger WHERE ${clause} ORDER BY block_number DESC, event_index DESC, part DESC LIMIT $${p.length}`,
      p,
    );
    const items = rows.slice(0, o.limit).map(item);
    return { items, next: rows.length > o.limit ? items[items.length - 1].id : null };
  }

  /** What `account` paid for: settled watching, subscriptions, tips. */
  payments(account: string, o: { limit: number; before?: [number, number, number] }): Promise<Page<LedgerItem>> {
    return this.page(`account = $1 AND kind = ANY($2::text[])`, [account, PAYMENT_KINDS], o);
  }

  /** Every movement of `account`'s money: payments, its tab's deposits, top-ups and refunds, withdrawals. */
  activity(account: string, o: { limit: number; before?: [number, number, number] }): Promise<Page<LedgerItem>> {
    return this.page(`account = $1`, [account], o);
  }

  /** Tips to a stream. */
  tips(streamId: bigint, o: { limit: number; before?: [number, number, number] }): Promise<Page<LedgerItem>> {
    return this.page(`stream_id = $1::bigint AND kind = 'tip'`, [streamId.toString()], o);
  }

  /** Subscriptions bought by `account`, or to streams of creator `account` (`as`). */
  subscriptions(account: string, as: 'viewer' | 'creator', o: { limit: number; before?: [number, number, number] }): Promise<Page<LedgerItem>> {
    return this.page(`${as === 'viewer' ? 'account' : 'creator'} = $1 AND kind = 'subscription'`, [account], o);
  }

  /** A creator's earnings per stream and per bucket, in [fromMs, toMs). */
  async earnings(creator: string, o: { fromMs: number; toMs: number; bucket: Bucket }): Promise<EarningsBucket[]> {
    const rows = await this.db.query<{ start_ms: string; stream_id: string; tabs: string; subscriptions: string; tips: string; fees: string; net: string; seconds: string }>(
      `SELECT (at_ms / $2::bigint) * $2::bigint AS start_ms, stream_id,
         COALESCE(sum(amount) FILTER (WHERE kind = 'earnings_booked'), 0)::text AS tabs,
         COALESCE(sum(amount) FILTER (WHERE kind = 'subscription'), 0)::text AS subscriptions,
         COALESCE(sum(amount) FILTER (WHERE kind = 'tip'), 0)::text AS tips,
         COALESCE(sum(fee) FILTER (WHERE kind = ANY($5::text[])), 0)::text AS fees,
         COALESCE(sum(amount - fee) FILTER (WHERE kind = ANY($5::text[])), 0)::text AS net,
         COALESCE(sum(seconds) FILTER (WHERE kind = 'watch_paid'), 0)::text AS seconds
       FROM ledger
       WHERE creator = $1 AND (kind = ANY($5::text[]) OR kind = 'watch_paid') AND at_ms >= $3::bigint AND at_ms < $4::bigint
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [creator, BUCKETS[o.bucket], o.fromMs, o.toMs, EARNING_KINDS],
    );
    return rows.map((r) => ({
      startMs: Number(r.start_ms),
      streamId: String(r.stream_id),
      tabs: r.tabs,
      subscriptions: r.subscriptions,
      tips: r.tips,
      fees: r.fees,
      net: r.net,
      seconds: r.seconds,
    }));
  }

  /** Per stream of `creator`, all time: earned (net of fees) and withdrawn. */
  async earningsTotals(creator: string): Promise<{ streamId: string; title: string | null; net: string; fees: string; withdrawn: string }[]> {
    const rows = await this.db.query<{ stream_id: string; title: string | null; net: string; fees: string; withdrawn: string }>(
      `SELECT l.stream_id, s.title,
         COALESCE(sum(l.amount - l.fee) FILTER (WHERE l.kind = ANY($2::text[])), 0)::text AS net,
         COALESCE(sum(l.fee) FILTER (WHERE l.kind = ANY($2::text[])), 0)::text AS fees,
         COALESCE(sum(l.amount) FILTER (WHERE l.kind = 'earnings_withdrawn'), 0)::text AS withdrawn
       FROM ledger l LEFT JOIN streams s ON s.stream_id = l.stream_id
       WHERE l.creator = $1 AND (l.kind = ANY($2::text[]) OR l.kind = 'earnings_withdrawn')
       GROUP BY l.stream_id, s.title ORDER BY l.stream_id`,
      [creator, EARNING_KINDS],
    );
    return rows.map((r) => ({ streamId: String(r.stream_id), title: r.title, net: r.net, fees: r.fees, withdrawn: r.withdrawn }));
  }

  /** Every earning of `creator` in [fromMs, toMs), oldest first, with the stream's title: the CSV export's rows. */
  async earningRows(creator: string, o: { fromMs: number; toMs: number }): Promise<(LedgerItem & { title: string | null })[]> {
    const rows = await this.db.query<Row & { title: string | null }>(
      `SELECT ${COLUMNS.split(', ').map((c) => `l.${c}`).join(', ')}, s.title
       FROM ledger l LEFT JOIN streams s ON s.stream_id = l.stream_id
       WHERE l.creator = $1 AND l.kind = ANY($2::text[]) AND l.at_ms >= $3::bigint AND l.at_ms < $4::bigint
       ORDER BY l.block_number, l.event_index, l.part`,
      [creator, EARNING_KINDS, o.fromMs, o.toMs],
    );
    return rows.map((r) => ({ ...item(r), title: r.title }));
  }

  /** A stream's settled watching per bucket, in [fromMs, toMs). */
  async audience(streamId: bigint, o: { fromMs: number; toMs: number; bucket: Bucket }): Promise<AudienceBucket[]> {
    const rows = await this.db.query<{ start_ms: string; seconds: string; viewers: number }>(
      `SELECT (at_ms / $2::bigint) * $2::bigint AS start_ms, sum(seconds)::text AS seconds, count(DISTINCT account)::int AS viewers
       FROM ledger WHERE kind = 'watch_paid' AND stream_id = $1::bigint AND at_ms >= $3::bigint AND at_ms < $4::bigint
       GROUP BY 1 ORDER BY 1`,
      [streamId.toString(), BUCKETS[o.bucket], o.fromMs, o.toMs],
    );
    return rows.map((r) => ({ startMs: Number(r.start_ms), seconds: r.seconds, viewers: Number(r.viewers) }));
  }

  /** Sums over the whole ledger, for checks against the contracts' getters. */
  async totals(): Promise<{
    earningsByStream: Map<string, bigint>;
    ticksByStream: Map<string, bigint>;
    fees: bigint;
    tabsBalance: bigint;
  }> {
    const per = await this.db.query<{ stream_id: string; net: string; withdrawn: string; ticks: string }>(
      `SELECT stream_id,
         COALESCE(sum(amount - fee) FILTER (WHERE kind = ANY($1::text[])), 0)::text AS net,
         COALESCE(sum(amount) FILTER (WHERE kind = 'earnings_withdrawn'), 0)::text AS withdrawn,
         COALESCE(sum(seconds) FILTER (WHERE kind = 'watch_paid'), 0)::text AS ticks
       FROM ledger WHERE stream_id IS NOT NULL GROUP BY stream_id`,
      [EARNING_KINDS],
    );
    const [g] = await this.db.query<{ fees: string; tabs: string }>(
      `SELECT
         (COALESCE(sum(fee) FILTER (WHERE kind = ANY($1::text[])), 0)
          + COALESCE(sum(amount) FILTER (WHERE kind = 'surplus_swept'), 0)
          - COALESCE(sum(amount) FILTER (WHERE kind = 'fees_withdrawn'), 0))::text AS fees,
         (COALESCE(sum(amount) FILTER (WHERE kind IN ('tab_opened', 'tab_topped_up')), 0)
          - COALESCE(sum(amount) FILTER (WHERE kind IN ('watch_paid', 'tab_refunded')), 0))::text AS tabs
       FROM ledger`,
      [EARNING_KINDS],
    );
    return {
      earningsByStream: new Map(per.map((r) => [String(r.stream_id), BigInt(r.net) - BigInt(r.withdrawn)])),
      ticksByStream: new Map(per.map((r) => [String(r.stream_id), BigInt(r.ticks)])),
      fees: BigInt(g.fees),
      tabsBalance: BigInt(g.tabs),
    };
  }
}

/** RFC 4180 CSV of a creator's earnings; amounts in plancks and in the chain's unit (`decimals`). */
export function earningsCsv(rows: (LedgerItem & { title: string | null })[], o: { decimals: number; symbol: string }): string {
  const unit = (p: bigint) => {
    const s = p.toString().padStart(o.decimals + 1, '0');
    return o.decimals ? `${s.slice(0, -o.decimals)}.${s.slice(-o.decimals)}` : s;
  };
  const cell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  // Free text a spreadsheet would run as a formula (a tip's message is anyone's) is kept as text.
  const text = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  const what = { earnings_booked: 'watching (tabs)', subscription: 'subscription', tip: 'tip' } as Record<string, string>;
  const lines = [['date_utc', 'block', 'kind', 'stream_id', 'stream_title', 'from', 'gross_plancks', 'fee_plancks', 'net_plancks', `net_${o.symbol}`, 'message']];
  for (const r of rows) {
    const net = BigInt(r.amount) - BigInt(r.fee);
    lines.push([
      new Date(r.atMs).toISOString(),
      String(r.block),
      what[r.kind] ?? r.kind,
      r.streamId ?? '',
      text(r.title ?? ''),
      r.kind === 'earnings_booked' ? '' : (r.account ?? ''),
      r.amount,
      r.fee,
      net.toString(),
      unit(net),
      r.kind === 'tip' ? text(String(r.detail?.message ?? '')) : '',
    ]);
  }
  return lines.map((l) => l.map(cell).join(',')).join('\r\n') + '\r\n';
}

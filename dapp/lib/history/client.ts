/**
 * The browser's client of the history API (/api/history/…, served from the event indexer; see
 * docs/history.md). Amounts arrive as decimal strings and leave here as bigints.
 */
import type { AudienceBucket, EarningsBucket, LedgerItem, Page } from '../server/history/queries.ts';

export type { AudienceBucket, EarningsBucket, LedgerItem, Page };

export class HistoryError extends Error {
  override name = 'HistoryError';
}

/** Whether the server keeps a history now (asked once per page while off, every 5 s while starting). */
let known: { state: string; message: string; at: number } | null = null;
async function ready(f: typeof fetch): Promise<void> {
  if (!known || (known.state !== 'ready' && known.state !== 'off' && Date.now() - known.at > 5_000)) {
    const res = await f('/api/history/status').catch(() => null);
    const body = (await res?.json().catch(() => null)) as { state?: string; message?: string } | null;
    known = { state: body?.state ?? 'unreachable', message: body?.message ?? 'The history could not be reached.', at: Date.now() };
  }
  if (known.state !== 'ready') throw new HistoryError(known.message);
}

async function get<T>(path: string, f: typeof fetch = fetch): Promise<T> {
  await ready(f);
  const res = await f(path).catch(() => null);
  if (!res) throw new HistoryError('The history could not be reached.');
  const body = (await res.json().catch(() => ({}))) as T & { message?: string };
  if (!res.ok) throw new HistoryError(body.message ?? `The history answered HTTP ${res.status}.`);
  return body;
}

type Indexed = { indexedTo: { number: number; atMs: number } | null };
type Range = { span: number } | { fromMs: number; toMs: number };
const rangeQuery = (r: Range) => ('span' in r ? `span=${r.span}` : `from=${r.fromMs}&to=${r.toMs}`);

export const history = {
  activity: (address: string, before?: string, f?: typeof fetch) =>
    get<Page<LedgerItem> & Indexed>(`/api/history/accounts/${address}/activity?limit=20${before ? `&before=${before}` : ''}`, f),
  tips: (streamId: bigint, limit = 10, f?: typeof fetch) => get<Page<LedgerItem> & Indexed>(`/api/history/streams/${streamId}/tips?limit=${limit}`, f),
  /** `range`: `{ span }` (ms, ending now as the server reckons it) or `{ fromMs, toMs }`. */
  earnings: (creator: string, range: Range, bucket: 'hour' | 'day', f?: typeof fetch) =>
    get<{ fromMs: number; toMs: number; buckets: EarningsBucket[]; totals: { streamId: string; title: string | null; net: string; fees: string; withdrawn: string }[] } & Indexed>(
      `/api/history/creators/${creator}/earnings?${rangeQuery(range)}&bucket=${bucket}`,
      f,
    ),
  audience: (streamId: bigint, range: Range, bucket: 'hour' | 'day', f?: typeof fetch) =>
    get<{ fromMs: number; toMs: number; buckets: AudienceBucket[] } & Indexed>(`/api/history/streams/${streamId}/audience?${rangeQuery(range)}&bucket=${bucket}`, f),
  csvUrl: (creator: string, fromMs: number, toMs: number) => `/api/history/creators/${creator}/earnings.csv?from=${fromMs}&to=${toMs}`,
};

/** One point per bucket from `fromMs` to `toMs` (a bucket with nothing is a zero), from sparse `values`. */
export function filledSeries(values: Map<number, number>, fromMs: number, toMs: number, bucketMs: number): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  for (let t = Math.floor(fromMs / bucketMs) * bucketMs; t < toMs; t += bucketMs) out.push({ t, v: values.get(t) ?? 0 });
  return out;
}

/** What a ledger row was, in a sentence's words, for a viewer's or creator's list. */
export const KIND_LABEL: Record<LedgerItem['kind'], string> = {
  tab_opened: 'Tab opened (deposit)',
  tab_topped_up: 'Tab topped up',
  watch_paid: 'Watching',
  tab_refunded: 'Tab closed (refund)',
  subscription: 'Subscription',
  tip: 'Tip',
  earnings_booked: 'Earnings from tabs',
  earnings_withdrawn: 'Earnings withdrawn',
  fees_withdrawn: 'Fees withdrawn',
  surplus_swept: 'Surplus swept',
};

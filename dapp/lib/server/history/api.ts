/**
 * The history's REST API (read only; docs/history.md): its routes in the app's one route table
 * (router.ts); every handler parses its parameters and returns JSON (or CSV). Bad input is a 400 with
 * a named error before any query; while the history is off or starting, a 503 that says so.
 *
 *   GET /api/history/status                                   → {state: 'ready', ...IndexerStatus} (always 200: also 'off', 'starting', 'failed')
 *   GET /api/history/accounts/:address/payments?limit&before  → Page<LedgerItem> (watching, subscriptions, tips)
 *   GET /api/history/accounts/:address/activity?limit&before  → Page<LedgerItem> (every movement, tab deposits and refunds too)
 *   GET /api/history/accounts/:address/subscriptions?as=viewer|creator&limit&before → Page<LedgerItem>
 *   GET /api/history/creators/:address/earnings?from&to&bucket=hour|day → {buckets, totals}
 *   GET /api/history/creators/:address/earnings.csv?from&to   → text/csv (one row per earning, for tax records)
 *   GET /api/history/streams/:id/audience?from&to&bucket      → {buckets}
 *   GET /api/history/streams/:id/tips?limit&before            → Page<LedgerItem>
 * `from`/`to`: milliseconds since the Unix epoch; or `span` (ms): the span that ends now — "now" being
 * the later of the server's clock and the last indexed block's (a dev chain's clock may run ahead).
 * Default: the last 30 days. `limit` 1–200 (default 50).
 */
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { Refusal, type RefusalName } from '../refusals.ts';
import type { Ask, Route } from '../router.ts';
import { json } from '../media/http.ts';
import type { IndexerStatus } from './indexer.ts';
import { BUCKETS, History, earningsCsv, parseCursor, type Bucket } from './queries.ts';

export interface HistoryApiOptions {
  /** The history's queries, once its database is open and its indexer running (null until then). */
  history: () => History | null;
  /** The indexer's status (while `history` is non-null). */
  status: () => IndexerStatus;
  /** Why there is no history now: off, starting or failed, with a sentence (null: there is one). */
  unavailable?: () => { state: 'off' | 'starting' | 'failed'; message: string } | null;
  /** The chain's token, for the CSV's unit column. */
  token: () => { decimals: number; symbol: string };
  now?: () => number;
}

const DAY = 86_400_000;
/** Longest range one request may ask for, so that a query stays bounded: a year and a day. */
const MAX_RANGE_MS = 367 * DAY;

function bad(name: RefusalName, message: string): never {
  throw new Refusal(name, message);
}

/** An SS58 address in the chain's generic form (prefix 42), as the contracts' events carry it. */
function address(raw: string): string {
  try {
    return encodeAddress(decodeAddress(raw), 42);
  } catch {
    return bad('BadAddress', `"${raw}" is not an SS58 address`);
  }
}

function whole(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) bad('BadParameter', `${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return Number(raw);
}

function paging(q: URLSearchParams) {
  const limit = whole(q, 'limit', 50, 1, 200);
  const raw = q.get('before');
  const before = raw ? (parseCursor(raw) ?? bad('BadCursor', `before must be an item id like "120.3.0", got "${raw}"`)) : undefined;
  return { limit, before };
}

function range(q: URLSearchParams, now: number) {
  if (q.has('span') && (q.has('from') || q.has('to'))) bad('BadRange', 'give either span or from/to, not both');
  const span = whole(q, 'span', 30 * DAY, 1, MAX_RANGE_MS);
  const toMs = whole(q, 'to', now + 1, 0, 8_640_000_000_000_000);
  const fromMs = whole(q, 'from', toMs - span, 0, 8_640_000_000_000_000);
  if (fromMs >= toMs) bad('BadRange', `from (${fromMs}) must be before to (${toMs})`);
  if (toMs - fromMs > MAX_RANGE_MS) bad('BadRange', `a range may span at most ${MAX_RANGE_MS / DAY} days`);
  return { fromMs, toMs };
}

function bucket(q: URLSearchParams): Bucket {
  const b = q.get('bucket') ?? 'day';
  if (!(b in BUCKETS)) bad('BadParameter', `bucket must be one of ${Object.keys(BUCKETS).join(', ')}, got "${b}"`);
  return b as Bucket;
}

function streamId(raw: string): bigint {
  // Stream ids are u64 on chain; the history's BIGINT columns hold those below 2^63 (ids count up from 1).
  if (!/^\d{1,20}$/.test(raw) || BigInt(raw) >= 2n ** 63n) bad('BadStreamId', `"${raw}" is not a stream id`);
  return BigInt(raw);
}

export function historyRoutes(o: HistoryApiOptions): Route[] {
  const now = () => Math.max((o.now ?? Date.now)(), o.status().indexedTo?.atMs ?? 0);
  const withStatus = <T extends object>(body: T) => ({ ...body, indexedTo: o.status().indexedTo });
  /** A GET route whose handler runs only once the history is there, a failing query answered 503. */
  const get = (path: string, handler: (h: History, q: URLSearchParams, p: Record<string, string>) => Promise<Response>): Route => ({
    method: 'GET',
    path,
    handler: async ({ url, params }: Ask) => {
      const h = o.history();
      const u = o.unavailable?.();
      if (!h || u) {
        throw new Refusal(u?.state === 'off' ? 'HistoryOff' : 'HistoryStarting', u?.message ?? 'The history is starting; try again in a moment.');
      }
      try {
        return await handler(h, url.searchParams, params);
      } catch (e) {
        if (e instanceof Refusal) throw e;
        console.error('[history]', e);
        throw new Refusal('HistoryUnavailable', 'the history database did not answer');
      }
    },
  });
  return [
    {
      method: 'GET',
      path: '/api/history/status',
      handler: () => {
        const u = o.unavailable?.() ?? (o.history() ? null : { state: 'starting' as const, message: 'The history is starting; try again in a moment.' });
        return json(200, u ?? { state: 'ready', ...o.status() });
      },
    },
    get('/api/history/accounts/:address/payments', async (h, q, p) => json(200, withStatus(await h.payments(address(p.address), paging(q))))),
    get('/api/history/accounts/:address/activity', async (h, q, p) => json(200, withStatus(await h.activity(address(p.address), paging(q))))),
    get('/api/history/accounts/:address/subscriptions', async (h, q, p) => {
      const as = q.get('as') ?? 'viewer';
      if (as !== 'viewer' && as !== 'creator') bad('BadParameter', `as must be viewer or creator, got "${as}"`);
      return json(200, withStatus(await h.subscriptions(address(p.address), as, paging(q))));
    }),
    get('/api/history/creators/:address/earnings', async (h, q, p) => {
      const creator = address(p.address);
      const r = { ...range(q, now()), bucket: bucket(q) };
      const [buckets, totals] = await Promise.all([h.earnings(creator, r), h.earningsTotals(creator)]);
      return json(200, withStatus({ fromMs: r.fromMs, toMs: r.toMs, bucket: r.bucket, buckets, totals }));
    }),
    get('/api/history/creators/:address/earnings.csv', async (h, q, p) => {
      const creator = address(p.address);
      const r = range(q, now());
      const csv = earningsCsv(await h.earningRows(creator, r), o.token());
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      return new Response(csv, {
        status: 200,
        headers: {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="earnings-${creator.slice(0, 8)}-${day(r.fromMs)}-${day(r.toMs - 1)}.csv"`,
        },
      });
    }),
    get('/api/history/streams/:id/audience', async (h, q, p) => {
      const id = streamId(p.id);
      const r = { ...range(q, now()), bucket: bucket(q) };
      return json(200, withStatus({ fromMs: r.fromMs, toMs: r.toMs, bucket: r.bucket, buckets: await h.audience(id, r) }));
    }),
    get('/api/history/streams/:id/tips', async (h, q, p) => json(200, withStatus(await h.tips(streamId(p.id), paging(q))))),
    // Any other path under /api/history/ is the history's to refuse (not a page of the app's).
    {
      method: 'GET',
      path: '/api/history/*',
      handler: ({ url }) => {
        throw new Refusal('NotFound', `no history endpoint ${url.pathname}`);
      },
    },
  ];
}

/**
 * The history's REST API (read only; docs/history.md). One route table; every handler gets its
 * parsed parameters and returns JSON (or CSV). Bad input is a 400 with a named error before any query.
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
import { HttpError, errorResponse, json } from '../media/http.ts';
import type { IndexerStatus } from './indexer.ts';
import { BUCKETS, History, earningsCsv, parseCursor, type Bucket } from './queries.ts';

export interface HistoryApiOptions {
  history: History;
  status: () => IndexerStatus;
  /** The chain's token, for the CSV's unit column. */
  token: () => { decimals: number; symbol: string };
  now?: () => number;
}

const DAY = 86_400_000;
/** Longest range one request may ask for, so that a query stays bounded: a year and a day. */
const MAX_RANGE_MS = 367 * DAY;

type Params = { q: URLSearchParams; m: RegExpExecArray };

function bad(name: string, message: string): never {
  throw new HttpError(400, name, message);
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

export function historyApi(o: HistoryApiOptions): (req: Request) => Promise<Response | null> {
  const { history: h } = o;
  const now = () => Math.max((o.now ?? Date.now)(), o.status().indexedTo?.atMs ?? 0);
  const withStatus = <T extends object>(body: T) => ({ ...body, indexedTo: o.status().indexedTo });
  const routes: [RegExp, (p: Params) => Promise<Response>][] = [
    [/^\/api\/history\/status$/, async () => json(200, { state: 'ready', ...o.status() })],
    [/^\/api\/history\/accounts\/([^/]+)\/payments$/, async ({ q, m }) => json(200, withStatus(await h.payments(address(m[1]), paging(q))))],
    [/^\/api\/history\/accounts\/([^/]+)\/activity$/, async ({ q, m }) => json(200, withStatus(await h.activity(address(m[1]), paging(q))))],
    [
      /^\/api\/history\/accounts\/([^/]+)\/subscriptions$/,
      async ({ q, m }) => {
        const as = q.get('as') ?? 'viewer';
        if (as !== 'viewer' && as !== 'creator') bad('BadParameter', `as must be viewer or creator, got "${as}"`);
        return json(200, withStatus(await h.subscriptions(address(m[1]), as, paging(q))));
      },
    ],
    [
      /^\/api\/history\/creators\/([^/]+)\/earnings$/,
      async ({ q, m }) => {
        const creator = address(m[1]);
        const r = { ...range(q, now()), bucket: bucket(q) };
        const [buckets, totals] = await Promise.all([h.earnings(creator, r), h.earningsTotals(creator)]);
        return json(200, withStatus({ fromMs: r.fromMs, toMs: r.toMs, bucket: r.bucket, buckets, totals }));
      },
    ],
    [
      /^\/api\/history\/creators\/([^/]+)\/earnings\.csv$/,
      async ({ q, m }) => {
        const creator = address(m[1]);
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
      },
    ],
    [
      /^\/api\/history\/streams\/([^/]+)\/audience$/,
      async ({ q, m }) => {
        const id = streamId(m[1]);
        const r = { ...range(q, now()), bucket: bucket(q) };
        return json(200, withStatus({ fromMs: r.fromMs, toMs: r.toMs, bucket: r.bucket, buckets: await h.audience(id, r) }));
      },
    ],
    [/^\/api\/history\/streams\/([^/]+)\/tips$/, async ({ q, m }) => json(200, withStatus(await h.tips(streamId(m[1]), paging(q))))],
  ];

  return async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith('/api/history/')) return null;
    for (const [re, handler] of routes) {
      const m = re.exec(url.pathname);
      if (!m) continue;
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'MethodNotAllowed', message: 'the history is read only' }, { Allow: 'GET' });
      try {
        return await handler({ q: url.searchParams, m });
      } catch (e) {
        if (e instanceof HttpError) return errorResponse(e);
        console.error('[history]', e);
        return json(503, { error: 'HistoryUnavailable', message: 'the history database did not answer' });
      }
    }
    return json(404, { error: 'NotFound', message: `no history endpoint ${url.pathname}` });
  };
}

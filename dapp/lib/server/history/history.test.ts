/**
 * The ledger's rules, the history's queries and its API's refusals, on a real PGlite database (in
 * memory) written by the indexer's own writeBlock. The indexer against a chain is tested in
 * tests/e2e/history.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Sql } from './db.ts';
import { writeBlock, type FetchedBlock } from './indexer.ts';
import { toLedger, type IndexedEvent } from './ledger.ts';
import { History, earningsCsv } from './queries.ts';
import { historyRoutes } from './api.ts';
import { Router } from '../router.ts';
import { SCHEMA } from './schema.ts';
import { startPostgres, type Postgres } from '../../../../tests/postgres.ts';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const DAVE = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 1);

const ev = (index: number, contract: IndexedEvent['contract'], name: string, args: Record<string, unknown>): IndexedEvent => ({ index, contract, name, args });

/** A small history: alice registers stream 1; bob opens tab 7, watches, subscribes, tips; alice withdraws. */
function blocks(): FetchedBlock[] {
  let n = 100;
  const b = (atMs: number, events: IndexedEvent[]): FetchedBlock => {
    n += 1;
    return { number: n, hash: `0x${n.toString(16).padStart(64, '0')}`, parentHash: `0x${(n - 1).toString(16).padStart(64, '0')}`, atMs, events };
  };
  return [
    b(T0, [ev(2, 'stream_registry', 'StreamRegistered', { streamId: 1n, creator: ALICE, title: 'Cooking, live' })]),
    b(T0 + 1_000, [ev(1, 'tick_stream', 'TabOpened', { tabId: 7n, viewer: BOB, relay: DAVE, balance: 5_000_000n })]),
    b(T0 + 3_600_000, [
      ev(3, 'tick_stream', 'TabSettled', {
        tabId: 7n,
        watches: [
          { watch: 0, streamId: 1n, settled: 120n, newTicks: 120n, unpaidTicks: 0n, amount: 1_200_000n, retired: false },
          { watch: 1, streamId: 1n, settled: 0n, newTicks: 0n, unpaidTicks: 0n, amount: 0n, retired: true },
        ],
      }),
      ev(4, 'payment_handler', 'EarningsBooked', { streamId: 1n, amount: 1_200_000n, fee: 30_000n }),
    ]),
    b(T0 + DAY + 5, [ev(1, 'payment_handler', 'SubscriptionPurchased', { viewer: BOB, streamId: 1n, tier: 0, price: 2_000_000n, fee: 50_000n, expiresAtMs: BigInt(T0 + 31 * DAY) })]),
    b(T0 + DAY + 10, [ev(1, 'payment_handler', 'Tipped', { from: BOB, streamId: 1n, creator: ALICE, amount: 400_000n, fee: 10_000n, message: 'thanks, "chef"' })]),
    b(T0 + DAY + 20, [ev(1, 'tick_stream', 'TabToppedUp', { tabId: 7n, amount: 1_000_000n, balance: 4_800_000n })]),
    b(T0 + DAY + 30, [ev(2, 'payment_handler', 'EarningsWithdrawn', { streamId: 1n, creator: ALICE, amount: 3_510_000n })]),
    b(T0 + DAY + 40, [ev(1, 'tick_stream', 'TabClosed', { tabId: 7n, viewer: BOB, refund: 4_800_000n })]),
  ];
}

describe('the ledger', () => {
  it("names a settled watch's viewer and creator, and records no row for a watch that paid nothing", () => {
    const rows = toLedger(blocks()[2].events[0], { viewerOf: (t) => (t === 7n ? BOB : undefined), creatorOf: (s) => (s === 1n ? ALICE : undefined) });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'watch_paid', account: BOB, creator: ALICE, tabId: 7n, streamId: 1n, seconds: 120n, amount: 1_200_000n, part: 0 });
  });

  it('moves no money for events that carry none', () => {
    const look = { viewerOf: () => undefined, creatorOf: () => undefined };
    expect(toLedger(ev(0, 'stream_registry', 'StreamStatusChanged', { streamId: 1n, live: true }), look)).toEqual([]);
    expect(toLedger(ev(0, 'tick_stream', 'TabVoucherRefused', { tabId: 1n, error: { type: 'BadSignature' } }), look)).toEqual([]);
  });
});

let server: Postgres | undefined;
afterAll(() => server?.stop());
/** The same tests on both engines: the same schema and SQL must give the same answers. */
const engines: [string, () => string][] = [
  ['PGlite', () => 'memory://'],
  ['PostgreSQL', () => (server ??= startPostgres('history-unit')).url],
];

describe.each(engines)('the history on %s', (_, url) => {
  let db: Sql;
  let h: History;
  beforeAll(async () => {
    db = await openDatabase(url());
    await db.exec(SCHEMA);
    const known = { viewers: new Map<string, string>(), creators: new Map<string, string>() };
    for (const b of blocks()) await writeBlock(db, b, known);
    h = new History(db);
  }, 60_000);
  afterAll(() => db?.close());

  it("lists a viewer's payments newest first and pages through them", async () => {
    const first = await h.payments(BOB, { limit: 2 });
    expect(first.items.map((i) => i.kind)).toEqual(['tip', 'subscription']);
    expect(first.items[0]).toMatchObject({ amount: '400000', fee: '10000', streamId: '1', detail: { message: 'thanks, "chef"' } });
    expect(first.next).toBe(first.items[1].id);
    const second = await h.payments(BOB, { limit: 2, before: first.next!.split('.').map(Number) as [number, number, number] });
    expect(second.items.map((i) => [i.kind, i.seconds, i.amount])).toEqual([['watch_paid', '120', '1200000']]);
    expect(second.next).toBeNull();
    expect((await h.payments(ALICE, { limit: 10 })).items).toEqual([]);
  });

  it("lists every movement of a viewer's money, deposits and refunds too", async () => {
    const all = await h.activity(BOB, { limit: 50 });
    expect(all.items.map((i) => i.kind)).toEqual(['tab_refunded', 'tab_topped_up', 'tip', 'subscription', 'watch_paid', 'tab_opened']);
  });

  it("sums a creator's earnings per day and stream, net of the fee", async () => {
    const days = await h.earnings(ALICE, { fromMs: T0, toMs: T0 + 2 * DAY, bucket: 'day' });
    expect(days).toEqual([
      { startMs: T0, streamId: '1', tabs: '1200000', subscriptions: '0', tips: '0', fees: '30000', net: '1170000', seconds: '120' },
      { startMs: T0 + DAY, streamId: '1', tabs: '0', subscriptions: '2000000', tips: '400000', fees: '60000', net: '2340000', seconds: '0' },
    ]);
    // The range is half-open and filters by block time.
    expect(await h.earnings(ALICE, { fromMs: T0 + DAY, toMs: T0 + DAY + 6, bucket: 'hour' })).toEqual([
      { startMs: T0 + DAY, streamId: '1', tabs: '0', subscriptions: '2000000', tips: '0', fees: '50000', net: '1950000', seconds: '0' },
    ]);
    expect(await h.earningsTotals(ALICE)).toEqual([{ streamId: '1', title: 'Cooking, live', net: '3510000', fees: '90000', withdrawn: '3510000' }]);
  });

  it('keeps the totals the contracts keep: earnings less withdrawals, fees, what tabs hold, seconds', async () => {
    const t = await h.totals();
    expect(t.earningsByStream.get('1')).toBe(0n);
    expect(t.fees).toBe(90_000n);
    expect(t.tabsBalance).toBe(5_000_000n + 1_000_000n - 1_200_000n - 4_800_000n);
    expect(t.ticksByStream.get('1')).toBe(120n);
  });

  it("counts a stream's settled seconds and distinct viewers per hour", async () => {
    expect(await h.audience(1n, { fromMs: T0, toMs: T0 + DAY, bucket: 'hour' })).toEqual([{ startMs: T0 + 3_600_000, seconds: '120', viewers: 1 }]);
  });

  it("keeps a message that would be a spreadsheet formula as text", () => {
    const row = { id: '1.1.0', block: 1, atMs: T0, kind: 'tip' as const, account: BOB, streamId: '1', creator: ALICE, tabId: null, seconds: '0', amount: '5', fee: '0', detail: { message: '=HYPERLINK("http://x","y")' }, title: '@title' };
    const line = earningsCsv([row], { decimals: 0, symbol: 'UNIT' }).split('\r\n')[1];
    expect(line).toContain(`,'@title,`);
    expect(line.endsWith(`,"'=HYPERLINK(""http://x"",""y"")"`)).toBe(true);
  });

  it('exports earnings as CSV with the unit column and quoted text', async () => {
    const csv = earningsCsv(await h.earningRows(ALICE, { fromMs: T0, toMs: T0 + 2 * DAY }), { decimals: 12, symbol: 'UNIT' });
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('date_utc,block,kind,stream_id,stream_title,from,gross_plancks,fee_plancks,net_plancks,net_UNIT,message');
    expect(lines.slice(1)).toEqual([
      `${new Date(T0 + 3_600_000).toISOString()},103,watching (tabs),1,"Cooking, live",,1200000,30000,1170000,0.000001170000,`,
      `${new Date(T0 + DAY + 5).toISOString()},104,subscription,1,"Cooking, live",${BOB},2000000,50000,1950000,0.000001950000,`,
      `${new Date(T0 + DAY + 10).toISOString()},105,tip,1,"Cooking, live",${BOB},400000,10000,390000,0.000000390000,"thanks, ""chef"""`,
    ]);
  });

  it('a block already stored (another indexer of the same database wrote it) is not written again', async () => {
    const count = async () => (await db.query<{ n: number }>('SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM events) AS n'))[0];
    const before = await count();
    expect(await writeBlock(db, blocks()[2], { viewers: new Map([['7', BOB]]), creators: new Map() })).toBe(false);
    expect(await count()).toEqual(before);
  });

  it('a block is written whole or not at all', async () => {
    const count = async () => (await db.query<{ n: number }>('SELECT (SELECT count(*) FROM ledger) + (SELECT count(*) FROM blocks) AS n'))[0];
    const before = await count();
    // A new block whose first event writes a ledger row and whose second cannot be stored (stream 1
    // exists): nothing of the block is kept.
    const bad: FetchedBlock = {
      number: 200,
      hash: `0x${'c8'.padStart(64, '0')}`,
      parentHash: `0x${'c7'.padStart(64, '0')}`,
      atMs: T0 + 2 * DAY,
      events: [
        ev(1, 'payment_handler', 'FeesWithdrawn', { to: ALICE, amount: 1n }),
        ev(2, 'stream_registry', 'StreamRegistered', { streamId: 1n, creator: BOB, title: 'again' }),
      ],
    };
    const known = { viewers: new Map<string, string>(), creators: new Map<string, string>() };
    await expect(writeBlock(db, bad, known)).rejects.toThrow();
    expect(await count()).toEqual(before);
    expect(known.creators.size).toBe(0);
  });
});

describe('the history API', () => {
  let db: Sql;
  let api: (r: Request) => Promise<Response | null>;
  beforeAll(async () => {
    db = await openDatabase('memory://');
    await db.exec(SCHEMA);
    const known = { viewers: new Map<string, string>(), creators: new Map<string, string>() };
    for (const b of blocks()) await writeBlock(db, b, known);
    const status = { engine: 'pglite' as const, fromBlock: 101, indexedTo: { number: 108, hash: '0x', atMs: T0 }, finalized: 108, syncing: false, lastError: null };
    const history = new History(db);
    const router = new Router(historyRoutes({ history: () => history, status: () => status, token: () => ({ decimals: 12, symbol: 'UNIT' }), now: () => T0 + 2 * DAY }));
    api = (r) => router.handle(r);
  }, 60_000);
  afterAll(() => db?.close());
  const get = async (path: string) => (await api(new Request(`http://h${path}`)))!;

  it('answers a page with where the index stands', async () => {
    const r = await get(`/api/history/accounts/${BOB}/payments?limit=1`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { items: { kind: string }[]; next: string; indexedTo: { number: number } };
    expect(body.items.map((i) => i.kind)).toEqual(['tip']);
    expect(body.indexedTo.number).toBe(108);
    const next = (await (await get(`/api/history/accounts/${BOB}/payments?limit=5&before=${body.next}`)).json()) as { items: { kind: string }[] };
    expect(next.items.map((i) => i.kind)).toEqual(['subscription', 'watch_paid']);
  });

  it("takes a span as ending at the later of the server's clock and the last indexed block's", async () => {
    // The status above says block 108 is at T0; the server's clock says T0 + 2 days.
    const r = (await (await get(`/api/history/creators/${ALICE}/earnings?span=${DAY}&bucket=hour`)).json()) as { fromMs: number; toMs: number };
    expect([r.fromMs, r.toMs]).toEqual([T0 + DAY + 1, T0 + 2 * DAY + 1]);
  });

  it('lists subscriptions bought by a viewer and sold by a creator', async () => {
    const asViewer = (await (await get(`/api/history/accounts/${BOB}/subscriptions`)).json()) as { items: { kind: string; detail: { tier: number } }[] };
    expect(asViewer.items.map((i) => [i.kind, i.detail.tier])).toEqual([['subscription', 0]]);
    const asCreator = (await (await get(`/api/history/accounts/${ALICE}/subscriptions?as=creator`)).json()) as { items: { account: string }[] };
    expect(asCreator.items.map((i) => i.account)).toEqual([BOB]);
    expect((await (await get(`/api/history/accounts/${ALICE}/subscriptions`)).json()) as { items: unknown[] }).toMatchObject({ items: [] });
    const r = await get(`/api/history/accounts/${ALICE}/subscriptions?as=admin`);
    expect([r.status, ((await r.json()) as { error: string }).error]).toEqual([400, 'BadParameter']);
  });

  it("serves a stream's audience per hour", async () => {
    const r = (await (await get(`/api/history/streams/1/audience?from=${T0}&to=${T0 + DAY}&bucket=hour`)).json()) as { buckets: unknown[] };
    expect(r.buckets).toEqual([{ startMs: T0 + 3_600_000, seconds: '120', viewers: 1 }]);
  });

  it('serves the CSV as a download', async () => {
    const r = await get(`/api/history/creators/${ALICE}/earnings.csv`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(r.headers.get('content-disposition')).toMatch(/attachment; filename="earnings-5GrwvaEF-/);
    expect((await r.text()).split('\r\n')).toHaveLength(5);
  });

  it.each([
    ['/api/history/accounts/not-an-address/payments', 'BadAddress'],
    [`/api/history/accounts/${BOB}/payments?limit=0`, 'BadParameter'],
    [`/api/history/accounts/${BOB}/payments?limit=201`, 'BadParameter'],
    [`/api/history/accounts/${BOB}/payments?before=1;DROP`, 'BadCursor'],
    [`/api/history/creators/${ALICE}/earnings?bucket=week`, 'BadParameter'],
    [`/api/history/creators/${ALICE}/earnings?from=10&to=5`, 'BadRange'],
    [`/api/history/creators/${ALICE}/earnings?from=0&to=${400 * DAY}`, 'BadRange'],
    [`/api/history/creators/${ALICE}/earnings?span=${DAY}&to=${DAY}`, 'BadRange'],
    [`/api/history/creators/${ALICE}/earnings?span=0`, 'BadParameter'],
    ['/api/history/streams/18446744073709551616/tips', 'BadStreamId'],
    ['/api/history/streams/-1/audience', 'BadStreamId'],
  ])('refuses %s with %s', async (path, name) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toBe(name);
  });

  it('is read only, and says which paths it does not have', async () => {
    expect((await api(new Request(`http://h/api/history/status`, { method: 'POST' })))!.status).toBe(405);
    expect((await get('/api/history/nothing')).status).toBe(404);
    expect(await api(new Request('http://h/api/tabs/relay'))).toBeNull();
  });
});

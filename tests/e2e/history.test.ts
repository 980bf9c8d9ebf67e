/**
 * The event indexer on the local chain: after a journey through every money path (tabs on two
 * streams, a top-up, a subscription, a tip, a withdrawal, a close), the history's totals equal the
 * contracts' own getters — on PGlite and on a real PostgreSQL server. Stopping in the middle of
 * catching up and starting again loses nothing and counts nothing twice; a chain whose answers stall
 * is waited out; blocks that leave the chain (chopsticks' head set back, then other blocks built)
 * take their rows with them.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { randomAsHex } from '@polkadot/util-crypto';
import { signAndWait } from '../../scripts/lib/chain.ts';
import type { Deployment } from '../../scripts/deploy.ts';
import { openDatabase, type Sql } from '../../dapp/lib/server/history/db.ts';
import { Indexer } from '../../dapp/lib/server/history/indexer.ts';
import { History } from '../../dapp/lib/server/history/queries.ts';
import { deploymentStart } from '../../dapp/lib/server/history/boot.ts';
import type { ContractName } from '../../dapp/lib/server/history/ledger.ts';
import { connect } from '../../scripts/lib/chain.ts';
import { setupEnv, type Env } from './helpers.ts';
import { RATE, liveStream, plan } from './protocol-helpers.ts';
import { openTab, settle } from './tab-helpers.ts';
import { ownChain } from '../own-chain.ts';
import { startPostgres, type Postgres } from '../postgres.ts';
import { stallingProxy, type StallingProxy } from '../stalling-proxy.ts';
import { scratchDir } from '../scratch.ts';
import type { Chain } from '../../scripts/chain/launch.ts';
import type { Hex } from '../../dapp/lib/protocol/voucher.ts';

let env: Env;
let deployment: Deployment;
let postgres: Postgres | undefined;
const people: Record<'creator' | 'viewer' | 'subscriber' | 'tipper', KeyringPair> = {} as never;
let streams: bigint[] = [];

const addresses = (d: Deployment) => Object.fromEntries(Object.entries(d.contracts).map(([k, v]) => [k, v.address])) as Record<ContractName, string>;

/** Fresh accounts (no other test's tab or stream), funded by alice. */
async function fund(e: Env, names: (keyof typeof people)[]) {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  for (const n of names) {
    people[n] = keyring.addFromUri(`//history-${n}-${randomAsHex(4)}`);
    await signAndWait(e.api, e.api.tx.balances.transferKeepAlive(people[n].address, 1_000n * RATE * 1_000n), e.accounts.alice);
  }
}

/** Every money path, on the run's deployment. */
async function journey(e: Env) {
  const tier = { price: 40n * RATE, periodMs: 3_600_000n };
  streams = [await liveStream(e, people.creator, plan({ tiers: [tier] })), await liveStream(e, people.creator)];
  const [a, b] = streams;
  const pair = { ticks: e.ticks, payments: e.payments, genesisHash: e.api.genesisHash.toHex() as Hex };
  const relay = e.accounts.charlie;
  const tab = await openTab(pair, people.viewer, relay.address, 200n * RATE);
  await settle(pair, relay, [
    tab.sign([
      { watch: 0, streamId: a, ratePerSecond: RATE, ticks: 30n },
      { watch: 1, streamId: b, ratePerSecond: RATE, ticks: 20n },
    ]),
  ]);
  await e.ticks.tx.topUp(people.viewer, tab.tabId, { value: 50n * RATE });
  await settle(pair, relay, [
    tab.sign([
      { watch: 0, streamId: a, ratePerSecond: RATE, ticks: 60n },
      { watch: 1, streamId: b, ratePerSecond: RATE, ticks: 20n },
    ]),
  ]);
  await e.payments.tx.buySubscription(people.subscriber, a, 0, tier.periodMs, { value: tier.price });
  await e.payments.tx.tip(people.tipper, a, 'great stream, thank you', { value: 5n * RATE });
  await e.payments.tx.withdrawEarnings(people.creator, a);
  await e.ticks.tx.closeTab(people.viewer, tab.tabId);
  return tab.tabId;
}

/** The history's sums equal the contracts' getters: per stream earnings and settled seconds, the fees, what tabs hold. */
async function expectTotalsMatchChain(e: Env, db: Sql) {
  const t = await new History(db).totals();
  const caller = e.accounts.alice.address;
  expect(t.earningsByStream.size).toBeGreaterThan(0);
  for (const [id, earned] of t.earningsByStream) {
    expect([id, earned]).toEqual([id, (await e.payments.query.earningsOf(caller, BigInt(id))).value]);
    expect([id, t.ticksByStream.get(id)]).toEqual([id, (await e.ticks.query.streamTicks(caller, BigInt(id))).value]);
  }
  expect(t.fees).toBe((await e.payments.query.fees(caller)).value);
  expect(t.tabsBalance).toBe((await e.ticks.query.tabsBalance(caller)).value);
}

async function indexer(e: Env, d: Deployment, db: Sql, o: Partial<Parameters<typeof Indexer.open>[0]> = {}) {
  return Indexer.open({ api: e.api, db, contracts: addresses(d), startBlock: await deploymentStart(e.api, d), log: () => {}, ...o });
}

beforeAll(async () => {
  env = await setupEnv();
  deployment = inject('deployment');
  await fund(env, ['creator', 'viewer', 'subscriber', 'tipper']);
  await journey(env);
}, 300_000);
afterAll(async () => {
  postgres?.stop();
  await env?.api.disconnect();
});

describe.each([
  ['PGlite', () => 'memory://'],
  ['PostgreSQL', () => (postgres ??= startPostgres('history-e2e')).url],
])('the indexer on %s', (_, url) => {
  let db: Sql;
  beforeAll(async () => {
    db = await openDatabase(url());
  });
  afterAll(() => db?.close());

  it("after every money path, its totals equal the contracts' getters", async () => {
    const ix = await indexer(env, deployment, db);
    await ix.sync();
    await expectTotalsMatchChain(env, db);
    const h = new History(db);
    const [a, b] = streams.map(String);
    // The viewer paid 60 s of one stream in two settlements and 20 s of the other in the first
    // (newest first; within a settlement, its last watch first).
    const paid = await h.payments(people.viewer.address, { limit: 50 });
    expect(paid.items.map((i) => [i.kind, i.streamId, i.seconds, i.amount])).toEqual([
      ['watch_paid', a, '30', (30n * RATE).toString()],
      ['watch_paid', b, '20', (20n * RATE).toString()],
      ['watch_paid', a, '30', (30n * RATE).toString()],
    ]);
    const moves = await h.activity(people.viewer.address, { limit: 50 });
    expect(moves.items.map((i) => i.kind).reverse()).toEqual(['tab_opened', 'watch_paid', 'watch_paid', 'tab_topped_up', 'watch_paid']);
    const [tip] = (await h.tips(streams[0], { limit: 5 })).items;
    expect(tip).toMatchObject({ kind: 'tip', account: people.tipper.address, creator: people.creator.address, amount: (5n * RATE).toString(), detail: { message: 'great stream, thank you' } });
    const totals = await h.earningsTotals(people.creator.address);
    expect(totals.map((r) => r.streamId)).toEqual([a, b]);
    expect(BigInt(totals[0].withdrawn)).toBe(BigInt(totals[0].net));
    expect(BigInt(totals[1].net)).toBe((await env.payments.query.earningsOf(env.accounts.alice.address, streams[1])).value);
    await ix.stop();
  });
});

describe('the indexer resumes where it stopped', () => {
  it('stopped in the middle of catching up and started again, it loses nothing and counts nothing twice', async () => {
    const dir = scratchDir('history-restart');
    let db = await openDatabase(dir);
    const first = await indexer(env, deployment, db, { window: 2 });
    const start = first.status().fromBlock;
    const syncing = first.sync();
    while ((first.status().indexedTo?.number ?? 0) < start + 3) await new Promise((r) => setTimeout(r, 20));
    await first.stop();
    await syncing;
    const stoppedAt = first.status().indexedTo!.number;
    const finalized = (await env.api.rpc.chain.getHeader()).number.toNumber();
    expect(stoppedAt).toBeLessThan(finalized);
    await db.close();

    db = await openDatabase(dir);
    const second = await indexer(env, deployment, db);
    expect(second.status().indexedTo?.number).toBe(stoppedAt);
    await second.sync();
    const [blocks] = await db.query<{ n: string; lo: string; hi: string }>('SELECT count(*) AS n, min(number) AS lo, max(number) AS hi FROM blocks');
    expect(Number(blocks.lo)).toBe(start);
    expect(Number(blocks.n)).toBe(Number(blocks.hi) - start + 1);
    await expectTotalsMatchChain(env, db);
    await second.stop();
    await db.close();
  });
});

describe('a chain that stalls', () => {
  let proxy: StallingProxy;
  afterAll(() => proxy?.close());

  it('is waited out: a sync that gets no answer fails with RpcTimeout, the next one catches up', async () => {
    proxy = await stallingProxy(inject('chainUrl'));
    const api = await connect(proxy.url);
    const db = await openDatabase('memory://');
    const ix = await indexer({ ...env, api }, deployment, db, { rpcTimeoutMs: 1_500 });
    await ix.sync();
    await env.payments.tx.tip(people.tipper, streams[1], 'during the stall', { value: RATE });
    void proxy.stall(4_000);
    await expect(ix.sync()).rejects.toMatchObject({ name: 'RpcTimeout' });
    proxy.resume();
    await ix.sync();
    const tips = await new History(db).tips(streams[1], { limit: 5 });
    expect(tips.items.map((i) => i.detail?.message)).toEqual(['during the stall']);
    await expectTotalsMatchChain(env, db);
    await ix.stop();
    await db.close();
    await api.disconnect();
  });
});

describe('blocks that leave the chain', () => {
  let own: { chain: Chain; env: Env; deploymentFile: string; deployment: Deployment };
  let dev: WsProvider;
  beforeAll(async () => {
    const o = await ownChain('history-reorg');
    own = { ...o, deployment: JSON.parse((await import('node:fs')).readFileSync(o.deploymentFile, 'utf8')) as Deployment };
    dev = new WsProvider(o.chain.url);
    await dev.isReady;
  }, 300_000);
  afterAll(async () => {
    await dev?.disconnect();
    await own?.env.api.disconnect();
    await own?.chain.stop();
  });

  it('take their rows with them: a tip in a block that was replaced is not counted, the one after it is, once', async (ctx) => {
    // Only chopsticks can set its head back (dev_setHead); the contracts node's blocks are final.
    if (own.chain.kind !== 'chopsticks') return ctx.skip();
    const e = own.env;
    await fund(e, ['creator', 'tipper']);
    const stream = await liveStream(e, people.creator);
    const db = await openDatabase('memory://');
    const ix = await indexer(e, own.deployment, db);
    const tipped = await e.payments.tx.tip(people.tipper, stream, 'in a block that goes', { value: 3n * RATE });
    const gone = (await e.api.rpc.chain.getHeader(tipped.blockHash)).number.toNumber();
    await ix.sync();
    expect((await new History(db).tips(stream, { limit: 5 })).items).toHaveLength(1);

    // The chain's head goes back to before the tip; two other blocks take its height and the next.
    await dev.send('dev_setHead', [gone - 1]);
    await dev.send('dev_newBlock', [{ count: 2 }]);
    expect((await e.api.rpc.chain.getBlockHash(gone)).toHex()).not.toBe(tipped.blockHash);
    await e.payments.tx.tip(people.tipper, stream, 'in a block that stays', { value: 2n * RATE });
    await ix.sync();
    const tips = await new History(db).tips(stream, { limit: 5 });
    expect(tips.items.map((i) => [i.detail?.message, i.amount])).toEqual([['in a block that stays', (2n * RATE).toString()]]);
    const [row] = await db.query<{ hash: string }>('SELECT hash FROM blocks WHERE number = $1', [gone]);
    expect(row.hash).toBe((await e.api.rpc.chain.getBlockHash(gone)).toHex());
    await expectTotalsMatchChain(e, db);
    await ix.stop();
    await db.close();
  });
});

/**
 * Several transactions in one block, as a real chain makes them: outcomes come from the block's
 * events, never from the dry run before signing. On a chopsticks chain of its own, switched to manual
 * block building (dev_setBlockBuildMode) around the transactions that must share a block.
 *
 * 1. Ten viewers open tabs in one block: the dry runs all predict the same tab id; each viewer gets
 *    its own tab from TabOpened, and the media server accepts each one's first watch.
 * 2. The tab relay's settlement shares a block with five of those tabs closing: every watch settled
 *    as the block states, nothing paid twice, money conserved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Chain } from '../../scripts/chain/launch.ts';
import type { Env } from './helpers.ts';
import { ownChain } from '../own-chain.ts';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import { toTabWire } from '../../dapp/lib/media/tab-wire.ts';
import { signTabVoucher } from '../../dapp/lib/protocol/tab.ts';
import { RATE, expectConserved, liveStream } from './protocol-helpers.ts';
import { startApp, type App } from '../browser/harness.ts';
import { until, untilChain } from '../browser/media-helpers.ts';
import { scratchDir } from '../scratch.ts';

/** Tabs opened in one block. */
const TAB_VIEWERS = 10;
let chain: Chain;
let env: Env;
let app: App;

// chopsticks' dev_* methods, which @polkadot/api does not decorate: sent over a provider of their own.
let devRpc: WsProvider;
const rpc = (method: string, params: unknown[] = []) => devRpc.send(method, params);

/** Runs `submit` with block building paused, waits until `count` transactions are in the pool, then builds one block. */
async function inOneBlock<T>(count: number, submit: () => Promise<T>): Promise<T> {
  await rpc('dev_setBlockBuildMode', ['Manual']);
  try {
    const done = submit();
    done.catch(() => {});
    await until(async () => (await env.api.rpc.author.pendingExtrinsics()).length >= count, 60_000, `${count} transactions in the pool`);
    await rpc('dev_newBlock', [{ count: 1 }]);
    return await done;
  } finally {
    await rpc('dev_setBlockBuildMode', ['Batch']);
  }
}

/** Sends each of `accounts` 1 000 UNIT from Alice, in one extrinsic. */
async function fundAll(accounts: KeyringPair[]) {
  const fund = env.api.tx.utility.batchAll(accounts.map((v) => env.api.tx.balances.transferKeepAlive(v.address, 10n ** 15n)));
  await new Promise<void>((ok, fail) => {
    fund
      .signAndSend(env.accounts.alice, (r) => {
        if (r.dispatchError) fail(new Error(r.dispatchError.toString()));
        else if (r.status.isInBlock) ok();
      })
      .catch(fail);
  });
}

beforeAll(async () => {
  let deploymentFile: string;
  ({ chain, env, deploymentFile } = await ownChain('same-block', { ...process.env, VILO_CHAIN: 'chopsticks', VILO_BLOCK_MODE: 'Batch' }));
  devRpc = new WsProvider(chain.url);
  await devRpc.isReady;
  // A tab is settled 8 s after its vouchers stop (default 60 s): long beside the posting of ten
  // vouchers at once even on a loaded machine, so one relay round finds all ten due.
  app = await startApp(chain.url, deploymentFile, { VILO_RELAY_DB: join(scratchDir('same-block'), 'relay.sqlite'), VILO_SETTLE_INTERVAL_MS: '2000', VILO_TAB_QUIET_MS: '8000' });
}, 300_000);

afterAll(async () => {
  await app?.stop();
  await devRpc?.disconnect();
  await env?.api.disconnect();
  await chain?.stop();
}, 60_000);

// The tabs of the tab tests (opened in one block by the first, closed beside a settlement by the second).
let tabbers: KeyringPair[] = [];
let tabKeys: SessionKey[] = [];
let tabIds: bigint[] = [];
let tabStream: bigint;
let genesisHash: `0x${string}`;

describe('several transactions in one block', () => {
  it('ten viewers opening tabs in one block each get their own tab, from the block, and are served', async () => {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    tabbers = Array.from({ length: TAB_VIEWERS }, (_, i) => keyring.addFromUri(`//Alice//same-block-tab//${i}`));
    await fundAll(tabbers);
    const relay = env.accounts.charlie.address; // the app's dev relay account
    tabStream = await liveStream(env, env.accounts.bob);
    tabKeys = tabbers.map(() => SessionKey.generate());
    const results = await inOneBlock(TAB_VIEWERS, () =>
      Promise.all(tabbers.map((v, i) => env.ticks.tx.openTab(v, tabKeys[i].publicKey, relay, { value: RATE * 600n }))),
    );
    expect(new Set(results.map((r) => r.blockHash)).size).toBe(1);
    expect(new Set(results.map((r) => r.dryRun)).size).toBe(1); // every dry run predicted the same id
    tabIds = results.map((r) => r.one('TabOpened').tabId);
    expect(new Set(tabIds).size).toBe(TAB_VIEWERS);
    [genesisHash] = (await env.ticks.query.tabTerms(relay)).value;
    for (const [i, v] of tabbers.entries()) {
      expect((await env.ticks.query.tabOf(v.address, v.address)).value?.id).toBe(tabIds[i]);
      const first = signTabVoucher(tabKeys[i], { genesisHash, contract: env.ticks.address, tabId: tabIds[i] }, [{ watch: 0, streamId: tabStream, ratePerSecond: RATE, ticks: 1n }]);
      const res = await fetch(`${app.url}/api/tab-vouchers`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(toTabWire(first)) });
      expect(res.status, await res.clone().text()).toBe(202);
    }
  });

  it('a tab relay settlement sharing a block with five tab closes: each voucher as the block says, nothing paid twice', async () => {
    // A second watch of each tab (the first, quiet since the test above, is settled and may be retired).
    const voucherAt = (i: number, n: bigint) => signTabVoucher(tabKeys[i], { genesisHash, contract: env.ticks.address, tabId: tabIds[i] }, [{ watch: 1, streamId: tabStream, ratePerSecond: RATE, ticks: n }]);
    const tabOf = async (i: number) => (await env.ticks.query.tab(tabbers[i].address, tabIds[i])).value!;
    // The relay has settled each tab's first second (its vouchers went quiet): nothing is pending.
    for (const i of tabbers.keys()) await untilChain(env.api, async () => (await tabOf(i)).balance === RATE * 599n, 60_000, `tab ${tabIds[i]} settled at 1`);
    const earningsBefore = (await env.payments.query.earningsOf(env.accounts.bob.address, tabStream)).value;
    const closers = tabbers.slice(0, 5);
    // One block: five closes, and the relay's settle_tabs of every tab's new watch at 5 s (due once
    // the vouchers are quiet for 8 s; blocks wait meanwhile).
    const closes = await inOneBlock(closers.length + 1, async () => {
      // All at once, well inside the quiet period (on a loaded chain the server's reads may still
    // record some later than others).
      const posted = await Promise.all(
        tabbers.map((_, i) => fetch(`${app.url}/api/tab-vouchers`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(toTabWire(voucherAt(i, 5n))) })),
      );
      for (const res of posted) expect(res.status, await res.clone().text()).toBe(202);
      return Promise.all(closers.map((v, i) => env.ticks.tx.closeTab(v, tabIds[i])));
    });
    expect(new Set(closes.map((r) => r.blockHash)).size).toBe(1);
    const block = await env.api.rpc.chain.getBlock(closes[0].blockHash);
    expect(block.block.extrinsics.filter((x) => x.method.section === 'contracts').length).toBe(closers.length + 1);
    // Every tab pays its 5 s, closing or not — in that block, or (a tab whose first voucher the
    // loaded server recorded late) in the relay's next round; a watch retired with its settlement
    // was paid in full. The closers are closing.
    for (const i of tabbers.keys()) {
      await untilChain(env.api, async () => (await tabOf(i)).balance <= RATE * 594n, 60_000, `tab ${tabIds[i]} to pay its 5 s`);
      const t = await tabOf(i);
      expect(t.balance).toBe(RATE * 600n - RATE * 6n);
      const w = t.watches.find((x) => x.number === 1);
      expect(w ? w.settled : t.nextWatch > 1).toBe(w ? 5n : true);
    }
    for (const i of closers.keys()) expect((await tabOf(i)).closingSinceMs).not.toBeNull();
    // Paid: 5 seconds per tab, not one twice.
    expect((await env.payments.query.earningsOf(env.accounts.bob.address, tabStream)).value - earningsBefore).toBe(RATE * 5n * BigInt(TAB_VIEWERS));
    // The relay took every voucher's outcome from the block and submits nothing more for these tabs.
    const rounds = () => app.output().split('\n').filter((l) => l.includes('[relay]') && l.includes('tab voucher') && l.includes('settled in')).length;
    const after = rounds();
    await new Promise((r) => setTimeout(r, 6_000));
    expect(rounds()).toBe(after);
    expect(app.output()).not.toMatch(/tab \d+ voucher refused|tab \d+: the block states no outcome/);
    await expectConserved(env);
  });
});

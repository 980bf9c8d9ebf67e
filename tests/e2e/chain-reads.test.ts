/**
 * The media server reads a tab from tick_stream's storage (one child-trie value, no contract run):
 * on the local chain it must be what the contract's own `tab` getter says, in every state a tab goes
 * through — just opened, holding watches, closing — and for an id never opened (a closed tab's entry is deleted: the same).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freeBalance, setupEnv, type Env } from './helpers.ts';
import { isStaleNonce } from '../../dapp/lib/format/errors.ts';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import { contractChain, toChainTab, type TabChain } from '../../dapp/lib/server/media/chain.ts';
import { RATE, liveStream } from './protocol-helpers.ts';
import { deployTabPair, openTab, settle, type TabPair } from './tab-helpers.ts';

let env: Env;
let pair: TabPair;
let chain: TabChain;

beforeAll(async () => {
  env = await setupEnv();
  pair = await deployTabPair(env.api, env.accounts.alice, inject('deployment'), 250, 30_000);
  const c = inject('deployment').contracts;
  chain = contractChain(env.api, { stream_registry: c.stream_registry.address, tick_stream: pair.ticks.address, payment_handler: pair.payments.address });
});
afterAll(async () => {
  await env?.api.disconnect();
});

/** What the contract's getter says of the tab, in the shape the media server uses. */
const getter = async (tabId: bigint) => toChainTab((await pair.ticks.query.tab(env.accounts.alice.address, tabId)).value);

describe('a tab read from storage is the contract getter’s tab', () => {
  it('opened, with watches settled, closing, and never opened', async () => {
    const viewer = env.accounts.ferdie;
    const relay = env.accounts.charlie;
    const streams = [await liveStream(env, env.accounts.bob), await liveStream(env, env.accounts.bob)];
    const tab = await openTab(pair, viewer, relay.address, RATE * 100n);

    const opened = await chain.tab(tab.tabId);
    expect(opened).toMatchObject({ id: tab.tabId, viewer: viewer.address, relay: relay.address, balance: RATE * 100n, watches: [], closing: false });
    expect(opened).toEqual(await getter(tab.tabId));

    await settle(pair, relay, [
      tab.sign([
        { watch: 0, streamId: streams[0], ratePerSecond: RATE, ticks: 7n },
        { watch: 1, streamId: streams[1], ratePerSecond: RATE, ticks: 3n },
      ]),
    ]);
    const watching = await chain.tab(tab.tabId);
    expect(watching?.watches).toEqual([
      { number: 0, streamId: streams[0], ratePerSecond: RATE, settled: 7n },
      { number: 1, streamId: streams[1], ratePerSecond: RATE, settled: 3n },
    ]);
    expect(watching).toEqual(await getter(tab.tabId));

    await pair.ticks.tx.closeTab(viewer, tab.tabId);
    const closing = await chain.tab(tab.tabId);
    expect(closing?.closing).toBe(true);
    expect(closing).toEqual(await getter(tab.tabId));

    expect(await chain.tab(tab.tabId + 1_000n)).toBeNull();
    expect(await getter(tab.tabId + 1_000n)).toBeNull();
  });
});

describe('a transaction signed with the nonce read from storage (the watch page opens a tab so)', () => {
  it('lands; signed again with that nonce it is refused before any block, as a stale nonce, and charges nothing', async () => {
    const viewer = env.accounts.dave;
    const nonceOf = async () => ((await env.api.query.system.account(viewer.address)) as unknown as { nonce: { toNumber(): number } }).nonce.toNumber();
    const stored = await nonceOf();
    const opened = await pair.ticks.tx.openTab(viewer, SessionKey.generate().publicKey, env.accounts.charlie.address, { value: RATE * 100n, nonce: stored });
    const tabId = opened.one('TabOpened').tabId;
    expect(await nonceOf()).toBe(stored + 1);

    const before = await freeBalance(env.api, viewer.address);
    const refused = await pair.ticks.tx.topUp(viewer, tabId, { value: RATE, nonce: stored }).then(
      () => null,
      (e: Error) => e,
    );
    expect(refused?.name).toBe('ChainError');
    // The page's test for signing again with the node's nonce.
    expect(isStaleNonce(refused)).toBe(true);
    expect(await freeBalance(env.api, viewer.address)).toBe(before);
    expect(await nonceOf()).toBe(stored + 1);
    expect((await chain.tab(tabId))?.balance).toBe(RATE * 100n);
  });
});

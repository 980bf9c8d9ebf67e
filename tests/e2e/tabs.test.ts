/**
 * Protocol v2 on the local chain: a tab (one wallet approval) pays for several streams through
 * session-key vouchers settled in batches; closing takes a dispute window. One test per v2 threat
 * (old voucher at close, withdrawal during a watch, double spend across streams, dispute after the
 * window, replay across tabs) and per audit hole v2 closes (fee floor per charge, the relay's
 * deposit drain). Outcomes are read from the block's events; money is checked to be conserved.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KeyringPair } from '@polkadot/keyring/types';
import { setupEnv, freeBalance, type Env } from './helpers.ts';
import { signAndWait } from '../../scripts/lib/chain.ts';
import type { TickStreamEvent } from '../../typechain/tick_stream.ts';
import { RATE, expectConserved, liveStream, plan } from './protocol-helpers.ts';
import { deployTabPair, depositPaid, openTab, passChainTime, settle, tabsHeld, type TabPair } from './tab-helpers.ts';

/** Long enough for a relay's settlement to land in the window on either local chain, short enough to wait out. */
const WINDOW_MS = 30_000;
const FEE_BPS = 250;

let env: Env;
let pair: TabPair;
let relay: KeyringPair;
let streams: bigint[];
/** Open tabs by viewer name, for the tests that go on with an earlier test's tab. */
const tabs = new Map<string, Awaited<ReturnType<typeof openTab>>>();

beforeAll(async () => {
  env = await setupEnv();
  relay = env.accounts.charlie;
  pair = await deployTabPair(env.api, env.accounts.alice, inject('deployment'), FEE_BPS, WINDOW_MS);
  streams = [];
  for (let i = 0; i < 3; i++) streams.push(await liveStream(env, env.accounts.bob));
});
afterAll(async () => {
  await env?.api.disconnect();
});

async function expectTabsConserved() {
  const { held, owed } = await tabsHeld(env.api, pair, env.accounts.alice.address);
  expect(held).toBe(owed);
  await expectConserved({ ...env, payments: pair.payments });
}

const nonce = async (who: KeyringPair) => (await env.api.rpc.system.accountNextIndex(who.address)).toBigInt();
const tabOf = async (who: KeyringPair) => (await pair.ticks.query.tabOf(who.address, who.address)).value;
/** The entries of the settled vouchers of a settle_tabs transaction, and the refusals, from its events. */
const settledOf = (res: { outcome: TickStreamEvent[] }) => res.outcome.flatMap((e) => (e.name === 'TabSettled' ? e.args.watches : []));
const refusedOf = (res: { outcome: TickStreamEvent[] }) => res.outcome.flatMap((e) => (e.name === 'TabVoucherRefused' ? [e.args.error] : []));
const watch = (w: number, stream: bigint, ticks: bigint) => ({ watch: w, streamId: stream, ratePerSecond: RATE, ticks });

describe('a tab pays for several streams with one wallet approval', () => {
  it('three streams, one approval, one relay call settles all three watches (one signature)', async () => {
    const viewer = env.accounts.ferdie;
    const before = await nonce(viewer);
    const tab = await openTab(pair, viewer, relay.address, RATE * 100n);
    tabs.set('ferdie', tab);
    const earningsBefore = await Promise.all(streams.map((s) => pair.payments.query.earningsOf(viewer.address, s).then((r) => r.value)));

    const res = await settle(pair, relay, [tab.sign([watch(0, streams[0], 10n), watch(1, streams[1], 20n), watch(2, streams[2], 30n)])]);

    expect(await nonce(viewer)).toBe(before + 1n); // the viewer signed one transaction: open_tab
    expect(settledOf(res).map((w) => [w.streamId, w.newTicks, w.amount])).toEqual([
      [streams[0], 10n, 10n * RATE],
      [streams[1], 20n, 20n * RATE],
      [streams[2], 30n, 30n * RATE],
    ]);
    expect((await tabOf(viewer))!.balance).toBe(RATE * 40n);
    const earnings = await Promise.all(streams.map((s) => pair.payments.query.earningsOf(viewer.address, s).then((r) => r.value)));
    // Each stream: its seconds at the signed rate, less the platform fee.
    [10n, 20n, 30n].forEach((t, i) => expect(earnings[i] - earningsBefore[i]).toBe(t * RATE - (t * RATE * BigInt(FEE_BPS)) / 10_000n));
    await expectTabsConserved();
  });

  it('a later voucher charges only the seconds above the settled count; an old one charges nothing', async () => {
    const tab = tabs.get('ferdie')!;
    const res = await settle(pair, relay, [tab.sign([watch(1, streams[1], 15n), watch(2, streams[2], 45n)])]);
    expect(settledOf(res).map((w) => [w.newTicks, w.settled])).toEqual([[0n, 20n], [15n, 45n]]);
    expect((await tabOf(env.accounts.ferdie))!.balance).toBe(RATE * 25n);
    await expectTabsConserved();
  });
});

describe('v2 threats, each refused on the local chain', () => {
  it('closing with an old voucher gains the viewer nothing: the relay settles the higher one in the window', async () => {
    const viewer = env.accounts.eve;
    const tab = await openTab(pair, viewer, relay.address, RATE * 100n);
    tabs.set('eve', tab);
    await settle(pair, relay, [tab.sign([watch(0, streams[0], 10n)])]);
    const signedLater = tab.sign([watch(0, streams[0], 40n)]); // the relay holds this one
    const old = tab.sign([watch(0, streams[0], 10n)]);

    const closing = (await pair.ticks.tx.closeTab(viewer, tab.tabId)).one('TabClosing');
    const own = await settle(pair, viewer, [old]); // the viewer's own, older voucher
    expect(settledOf(own).map((w) => w.newTicks)).toEqual([0n]);
    const dispute = await settle(pair, relay, [signedLater]);
    expect(settledOf(dispute).map((w) => w.newTicks)).toEqual([30n]);
    expect((await tabOf(viewer))!.balance).toBe(RATE * 60n);

    await expect(pair.ticks.tx.finishClose(viewer, tab.tabId)).rejects.toMatchObject({ error: { type: 'DisputeWindowOpen', endsAtMs: closing.endsAtMs } });
    await passChainTime(env.api, env.accounts.alice, closing.endsAtMs);
    const balanceBefore = await freeBalance(env.api, viewer.address);
    const finished = await pair.ticks.tx.finishClose(viewer, tab.tabId);
    expect(finished.one('TabClosed').refund).toBe(RATE * 60n);
    expect(await freeBalance(env.api, viewer.address)).toBe(balanceBefore + RATE * 60n - finished.fee + -depositPaid(env.api, finished.records));
    expect(await tabOf(viewer)).toBeNull();
    await expectTabsConserved();
  });

  it('a viewer cannot take the balance out while watching: only a close, a dispute window later', async () => {
    const viewer = env.accounts.dave;
    const tab = await openTab(pair, viewer, relay.address, RATE * 50n);
    tabs.set('dave', tab);
    // Watching: the key has signed 20 s; nothing is settled yet.
    const watching = tab.sign([watch(0, streams[1], 20n)]);
    await expect(pair.ticks.tx.finishClose(viewer, tab.tabId)).rejects.toMatchObject({ error: { type: 'NotClosing' } });
    await pair.ticks.tx.closeTab(viewer, tab.tabId);
    await expect(pair.ticks.tx.finishClose(viewer, tab.tabId)).rejects.toMatchObject({ error: { type: 'DisputeWindowOpen' } });
    await expect(pair.ticks.tx.topUp(viewer, tab.tabId, { value: RATE })).rejects.toMatchObject({ error: { type: 'TabClosing' } });
    // The gate stops serving a closing tab; the relay settles what was watched within the window.
    const res = await settle(pair, relay, [watching]);
    expect(settledOf(res).map((w) => w.amount)).toEqual([20n * RATE]);
    expect((await tabOf(viewer))!.balance).toBe(30n * RATE);
    await expectTabsConserved();
  });

  it('no double spend across streams: three watches never charge more than the balance, and no debt', async () => {
    const viewer = env.accounts.bob;
    const tab = await openTab(pair, viewer, relay.address, RATE * 10n);
    const res = await settle(pair, relay, [tab.sign([watch(0, streams[0], 10n), watch(1, streams[1], 10n), watch(2, streams[2], 10n)])]);
    const settled = settledOf(res).map((w) => [w.newTicks, w.unpaidTicks]);
    expect(settled).toEqual([[10n, 0n], [0n, 10n], [0n, 10n]]);
    expect((await tabOf(viewer))!.balance).toBe(0n);
    // A top-up makes the signed, unpaid seconds payable; nothing more.
    await pair.ticks.tx.topUp(env.accounts.alice, tab.tabId, { value: RATE * 5n });
    const again = await settle(pair, relay, [tab.sign([watch(1, streams[1], 10n), watch(2, streams[2], 10n)])]);
    expect(settledOf(again).map((w) => w.newTicks)).toEqual([5n, 0n]);
    await expectTabsConserved();
  });

  it('a dispute after the window is refused (DisputeWindowOver), and after the close the tab is gone (NoTab)', async () => {
    const viewer = env.accounts.dave; // its tab is closing (test above), 20 s settled
    const tab = tabs.get('dave')!;
    const t = (await tabOf(viewer))!;
    const endedAtMs = t.closingSinceMs! + BigInt(WINDOW_MS);
    await passChainTime(env.api, env.accounts.alice, endedAtMs);
    const late = tab.sign([watch(0, streams[1], 45n)]); // a real, higher voucher, too late
    const res = await settle(pair, relay, [late]);
    expect(refusedOf(res)).toEqual([{ type: 'DisputeWindowOver', tabId: t.id, endedAtMs }]);
    expect((await tabOf(viewer))!.balance).toBe(30n * RATE);
    const before = await freeBalance(env.api, viewer.address);
    await pair.ticks.tx.finishClose(relay, t.id); // anyone may finish; the refund goes to the viewer
    expect(await freeBalance(env.api, viewer.address)).toBe(before + 30n * RATE);
    const gone = await settle(pair, relay, [late]);
    expect(refusedOf(gone)).toEqual([{ type: 'NoTab', tabId: t.id }]);
    await expectTabsConserved();
  });

  it('a voucher of one tab is worthless on another: replay across tabs (BadSignature) and on a closed tab (NoTab)', async () => {
    const viewer = env.accounts.eve; // its first tab closed (test above)
    const first = tabs.get('eve')!;
    const second = await openTab(pair, viewer, relay.address, RATE * 100n);
    expect(second.tabId).not.toBe(first.tabId);
    const old = first.sign([watch(0, streams[0], 90n)]);
    const replayed = { ...old, tabId: second.tabId };
    const res = await settle(pair, relay, [replayed, old]);
    expect(refusedOf(res)).toEqual([{ type: 'BadSignature' }, { type: 'NoTab', tabId: first.tabId }]);
    expect((await tabOf(viewer))!.balance).toBe(RATE * 100n);
    await expectTabsConserved();
  });
});

describe('audit holes v2 closes', () => {
  it('settling in small pieces pays the same platform fee as settling at once (audit 10)', async () => {
    // 10 plancks a second at 2.5 %: each one-second charge's fee floors to 0 when floored per charge.
    const cheap = await liveStream(env, env.accounts.bob, plan({ ratePerSecond: 10n }));
    const tab = tabs.get('ferdie')!;
    const fees = async () => (await pair.payments.query.fees(relay.address)).value;
    const before = await fees();
    for (let t = 1n; t <= 4n; t++) await settle(pair, relay, [tab.sign([{ watch: 3, streamId: cheap, ratePerSecond: 10n, ticks: t }])]);
    // 4 × 10 plancks at 250 bps = 1 planck, however it is cut.
    expect((await fees()) - before).toBe(1n);
    await expectTabsConserved();
  });

  it('a plain transfer to the payment handler is owed to nobody: the admin sweeps it into the fees, and the books balance again', async () => {
    const { alice, eve } = env.accounts;
    const fees = async () => (await pair.payments.query.fees(alice.address)).value;
    const before = await fees();
    await signAndWait(env.api, env.api.tx.balances.transferKeepAlive(pair.payments.address, 7n * RATE), eve);
    expect((await pair.payments.query.surplus(alice.address)).value).toBe(7n * RATE);
    await expect(pair.payments.tx.sweepSurplus(eve)).rejects.toMatchObject({ error: { type: 'NotAdmin' } });
    expect((await pair.payments.tx.sweepSurplus(alice)).one('SurplusSwept').amount).toBe(7n * RATE);
    expect((await fees()) - before).toBe(7n * RATE);
    expect((await pair.payments.query.surplus(alice.address)).value).toBe(0n);
    await expectTabsConserved();
  });

  it('a creator withdrawing does not make the relay pay a fresh storage deposit at its next settlement (audit 5)', async () => {
    const tab = tabs.get('ferdie')!;
    await settle(pair, relay, [tab.sign([watch(2, streams[2], 46n)])]);
    const withdrawal = await pair.payments.tx.withdrawEarnings(env.accounts.bob, streams[2]);
    expect(depositPaid(env.api, withdrawal.records)).toBe(0n); // the entry stays: no deposit handed to the creator
    const next = await settle(pair, relay, [tab.sign([watch(2, streams[2], 47n)])]);
    expect(depositPaid(env.api, next.records)).toBe(0n);
    await expectTabsConserved();
  });
});

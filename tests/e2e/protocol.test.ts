/**
 * What a viewer agrees to, on the local chain through the generated bindings: a watch (protocol v2:
 * one stream watched from a tab) keeps the rate its session key signed when it began, whatever the
 * creator sets later, while a new watch agrees to the new rate (`quote`, `rates`); a subscriber's
 * watch signs rate 0 and is charged nothing; a subscription purchase names the period it expects.
 * Outcomes are read from the block's events; money is checked to the planck.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KeyringPair } from '@polkadot/keyring/types';
import { freeBalance, setupEnv, type Env } from './helpers.ts';
import { RATE, expectConserved, liveStream, plan } from './protocol-helpers.ts';
import { deployTabPair, openTab, settle, tabsHeld, type TabPair } from './tab-helpers.ts';
import { toEntries } from '../../dapp/lib/protocol/tab.ts';
import type { TickStreamEvent } from '../../typechain/tick_stream.ts';

let env: Env;
/** Tabs of this file's own (no fee: amounts are exact), so that no other file's open tab is in the way. */
let pair: TabPair;
let relay: KeyringPair;

beforeAll(async () => {
  env = await setupEnv();
  relay = env.accounts.dave;
  pair = await deployTabPair(env.api, env.accounts.alice, inject('deployment'), 0, 30_000);
});
afterAll(async () => {
  await env?.api.disconnect();
});

const settledOf = (res: { outcome: TickStreamEvent[] }) => res.outcome.flatMap((e) => (e.name === 'TabSettled' ? e.args.watches : []));
const refusedOf = (res: { outcome: TickStreamEvent[] }) => res.outcome.flatMap((e) => (e.name === 'TabVoucherRefused' ? [e.args.error] : []));
const balanceOf = async (viewer: KeyringPair) => (await pair.ticks.query.tabOf(viewer.address, viewer.address)).value!.balance;

async function expectAllConserved() {
  const { held, owed } = await tabsHeld(env.api, pair, env.accounts.alice.address);
  expect(held).toBe(owed);
  await expectConserved({ ...env, payments: pair.payments });
}

describe('a watch keeps its price', () => {
  it('keeps the rate a watch began with when the creator changes the price; a new watch agrees to the new rate', async () => {
    const { bob: creator, eve: viewer } = env.accounts;
    const streamId = await liveStream(env, creator);
    const began = (await pair.ticks.query.quote(viewer.address, streamId, 1n)).value;
    expect(began).toBe(RATE);
    const tab = await openTab(pair, viewer, relay.address, RATE * 100n);
    const first = await settle(pair, relay, [tab.sign([{ watch: 0, streamId, ratePerSecond: began, ticks: 5n }])]);
    expect(settledOf(first).map((w) => [w.newTicks, w.amount])).toEqual([[5n, 5n * RATE]]);

    // The creator raises the price tenfold while the watch goes on.
    await env.pricing.tx.setPricePlan(creator, streamId, plan({ ratePerSecond: RATE * 10n }));
    const now = (await pair.ticks.query.rates(viewer.address, [streamId])).value;
    expect(now).toEqual([{ ok: RATE * 10n }]);
    expect((await pair.ticks.query.quote(viewer.address, streamId, 60n)).value).toBe(RATE * 600n);

    // The old watch goes on at its signed rate; a watch begun now signs the new one.
    const later = tab.sign([
      { watch: 0, streamId, ratePerSecond: began, ticks: 9n },
      { watch: 1, streamId, ratePerSecond: RATE * 10n, ticks: 2n },
    ]);
    const res = await settle(pair, relay, [later]);
    expect(settledOf(res).map((w) => [w.watch, w.newTicks, w.amount])).toEqual([
      [0, 4n, 4n * RATE],
      [1, 2n, 20n * RATE],
    ]);
    // Not even a voucher the viewer's own key signs at the new rate re-prices the old watch.
    const repriced = tab.sign([{ watch: 0, streamId, ratePerSecond: RATE * 10n, ticks: 12n }]);
    const refused = await pair.ticks.tx.settleTabs(relay, [toEntries(repriced, new Set())]);
    expect(refusedOf(refused)).toEqual([{ type: 'WatchTermsChanged', watch: 0 }]);

    expect(await balanceOf(viewer)).toBe(RATE * (100n - 5n - 4n - 20n));
    expect((await pair.payments.query.earningsOf(creator.address, streamId)).value).toBe(RATE * 29n);
    await expectAllConserved();
  });
});

describe('subscriptions', () => {
  it('a subscriber watches without per-second charges while the subscription lasts', async () => {
    const { accounts } = env;
    const payments = pair.payments;
    const tier = { price: RATE * 1_000n, periodMs: 3_600_000n };
    const streamId = await liveStream(env, accounts.bob, plan({ tiers: [tier] }));
    const viewer = accounts.ferdie;

    await expect(payments.tx.buySubscription(viewer, streamId, 0, tier.periodMs, { value: tier.price - 1n })).rejects.toMatchObject({
      error: { type: 'WrongPayment', expected: tier.price, received: tier.price - 1n },
    });
    const bought = await payments.tx.buySubscription(viewer, streamId, 0, tier.periodMs, { value: tier.price });
    expect(bought.events.map((e) => e.name)).toEqual(['SubscriptionPurchased']);
    expect((await payments.query.hasSubscription(viewer.address, viewer.address, streamId)).value).toBe(true);
    expect((await payments.query.earningsOf(viewer.address, streamId)).value).toBe(tier.price);

    // The stream still costs RATE a second; the subscriber's watch signs rate 0 (the relay takes a
    // rate-0 watch only behind a live subscription: dapp/lib/server/media/tab-relay.ts). It counts
    // watch time and charges nothing.
    expect((await pair.ticks.query.quote(viewer.address, streamId, 1n)).value).toBe(RATE);
    const tab = await openTab(pair, viewer, relay.address, RATE);
    const res = await settle(pair, relay, [tab.sign([{ watch: 0, streamId, ratePerSecond: 0n, ticks: 30n }])]);
    expect(settledOf(res).map((w) => [w.newTicks, w.unpaidTicks, w.amount])).toEqual([[30n, 0n, 0n]]);
    expect(await balanceOf(viewer)).toBe(RATE);
    expect((await pair.ticks.query.streamTicks(viewer.address, streamId)).value).toBe(30n);
    expect((await payments.query.earningsOf(viewer.address, streamId)).value).toBe(tier.price);
    await expectAllConserved();
  });

  // Audit finding 6: the creator shortens a tier between the viewer reading it and the purchase landing.
  it('a purchase names the period it expects: a tier changed meanwhile is refused (TermsChanged) and nothing is paid', async () => {
    const { accounts, payments, pricing } = env;
    const tier = { price: RATE * 1_000n, periodMs: 3_600_000n };
    const streamId = await liveStream(env, accounts.bob, plan({ tiers: [tier] }));
    const read = (await pricing.query.pricePlan(accounts.eve.address, streamId)).value!.tiers[0];
    await pricing.tx.setPricePlan(accounts.bob, streamId, plan({ tiers: [{ ...tier, periodMs: 1n }] }));
    const before = await freeBalance(env.api, accounts.eve.address);
    await expect(payments.tx.buySubscription(accounts.eve, streamId, 0, read.periodMs, { value: read.price })).rejects.toMatchObject({
      error: { type: 'TermsChanged', periodMs: 1n, expectedPeriodMs: 3_600_000n },
    });
    expect(await freeBalance(env.api, accounts.eve.address)).toBe(before); // refused at the dry run: not even a fee
    expect((await payments.query.earningsOf(accounts.eve.address, streamId)).value).toBe(0n);
    expect((await payments.query.hasSubscription(accounts.eve.address, accounts.eve.address, streamId)).value).toBe(false);
    await expectConserved(env);
  });
});

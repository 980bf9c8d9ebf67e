/**
 * The full viewer and creator journeys on the local chain, through the generated bindings:
 * register → price → deposit + join (one approval) → vouchers every second → batched settlement →
 * withdraw earnings → leave → refund; and a subscription journey. Money is checked to the planck.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBalance, setupEnv, type Env } from './helpers.ts';
import { RATE, expectConserved, join, liveStream, plan } from './protocol-helpers.ts';
import { batchOutcome } from '../../dapp/lib/protocol/settlement.ts';

let env: Env;
beforeAll(async () => {
  env = await setupEnv();
});
afterAll(async () => {
  await env.api.disconnect();
});

describe('pay-per-second journey', () => {
  it('charges exactly rate × seconds watched, pays the creator, and refunds the rest', async () => {
    const { accounts, ticks, payments } = env;
    const creator = accounts.bob;
    const viewer = accounts.charlie;
    const relay = accounts.dave;
    const streamId = await liveStream(env, creator);
    const deposit = RATE * 600n; // ten minutes

    // One wallet approval: deposit + join + session key.
    const escrowBefore = (await payments.query.escrowOf(viewer.address, viewer.address)).value;
    const session = await join(env, viewer, streamId, deposit);
    expect((await payments.query.escrowOf(viewer.address, viewer.address)).value).toBe(escrowBefore + deposit);
    expect((await ticks.query.liveViewers(viewer.address, streamId)).value).toBe(1);
    await expectConserved(env);

    // The browser signs a cumulative voucher each second; the relay settles the latest in batches.
    const vouchers = [1n, 2n, 3n, 4n, 5n, 6n, 7n].map((n) => session.voucher(n));
    const settle = async (batch: typeof vouchers) => batchOutcome(batch.map((v) => v.voucher), (await ticks.tx.recordTicksBatch(relay, batch)).events);
    expect(await settle([vouchers[2]])).toEqual([{ ok: { newTicks: 3n, amount: 3n * RATE, sessionEnded: false } }]);
    const second = await ticks.tx.recordTicksBatch(relay, [vouchers[6], vouchers[4]]);
    expect(batchOutcome([vouchers[6].voucher, vouchers[4].voucher], second.events)).toEqual([
      { ok: { newTicks: 4n, amount: 4n * RATE, sessionEnded: false } },
      { ok: { newTicks: 0n, amount: 0n, sessionEnded: false } }, // older than the settled count
    ]);
    // The block states both: 7 settled with 4 new, then the older voucher settled with nothing new.
    expect(second.outcome.map((e) => [e.name, 'cumulativeTicks' in e.args && e.args.cumulativeTicks, 'newTicks' in e.args && e.args.newTicks])).toEqual([
      ['TicksRecorded', 7n, 4n],
      ['TicksRecorded', 7n, 0n],
    ]);
    expect((await payments.query.escrowOf(viewer.address, viewer.address)).value).toBe(escrowBefore + deposit - 7n * RATE);
    expect((await payments.query.earningsOf(creator.address, streamId)).value).toBe(7n * RATE);
    expect((await ticks.query.streamTicks(creator.address, streamId)).value).toBe(7n);
    expect((await ticks.query.quote(viewer.address, streamId, viewer.address, 60n)).value).toBe(60n * RATE);
    await expectConserved(env);

    // The creator withdraws: the money really arrives. (Freeing the earnings entry also refunds its
    // storage deposit to the caller: `storageDeposit` is negative then.)
    const creatorBefore = await freeBalance(env.api, creator.address);
    const withdrawal = await payments.tx.withdrawEarnings(creator, streamId);
    expect(withdrawal.one('EarningsWithdrawn')).toMatchObject({ streamId, creator: creator.address, amount: 7n * RATE });
    expect(await freeBalance(env.api, creator.address)).toBe(creatorBefore + 7n * RATE - withdrawal.fee - withdrawal.storageDeposit);
    expect((await payments.query.earningsOf(creator.address, streamId)).value).toBe(0n);
    await expectConserved(env);

    // Leaving settles the final voucher, deletes the session and refunds the unspent escrow.
    const viewerBefore = await freeBalance(env.api, viewer.address);
    const leave = await ticks.tx.leaveStream(viewer, streamId, session.voucher(9n), true);
    const refund = escrowBefore + deposit - 9n * RATE;
    expect(payments.decodeEvents(leave.records).filter((e) => e.name === 'Withdrawn')).toEqual([
      { contract: 'payment_handler', name: 'Withdrawn', args: { viewer: viewer.address, amount: refund } },
    ]);
    expect(leave.one('ViewerLeft')).toMatchObject({ streamId, viewer: viewer.address, sessionId: session.sessionId, ticks: 9n, reason: { type: 'Left' } });
    expect(await freeBalance(env.api, viewer.address)).toBe(viewerBefore + refund - leave.fee - leave.storageDeposit);
    expect((await ticks.query.sessionOf(viewer.address, streamId, viewer.address)).value).toBeNull();
    expect((await ticks.query.liveViewers(viewer.address, streamId)).value).toBe(0);
    expect((await payments.query.escrowOf(viewer.address, viewer.address)).value).toBe(0n);
    expect((await ticks.query.viewerTicks(viewer.address, streamId, viewer.address)).value).toBe(9n);
    await expectConserved(env);
  });

  it('keeps the rate locked at join when the creator changes the price', async () => {
    const { accounts, ticks, pricing } = env;
    const streamId = await liveStream(env, accounts.bob);
    const session = await join(env, accounts.eve, streamId, RATE * 100n);

    await pricing.tx.setPricePlan(accounts.bob, streamId, plan({ ratePerSecond: RATE * 10n }));
    const res = await ticks.tx.recordTicks(accounts.dave, session.voucher(5n));

    expect(res.one('TicksRecorded')).toMatchObject({ newTicks: 5n, amount: 5n * RATE });
    await ticks.tx.leaveStream(accounts.eve, streamId, null, true);
  });
});

describe('subscriptions', () => {
  it('a subscriber watches without per-second charges while the subscription lasts', async () => {
    const { accounts, ticks, payments } = env;
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

    // No escrow needed to join; vouchers count watch time but charge nothing.
    const session = await join(env, viewer, streamId, 0n);
    const res = await ticks.tx.recordTicks(accounts.dave, session.voucher(30n));
    expect(res.one('TicksRecorded')).toMatchObject({ newTicks: 30n, amount: 0n });
    expect((await ticks.query.streamTicks(viewer.address, streamId)).value).toBe(30n);
    await ticks.tx.leaveStream(viewer, streamId, null, false);
    await expectConserved(env);
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

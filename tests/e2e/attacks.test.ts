/**
 * One test per attack on the protocol, on the local chain. Each asserts the named error and that no
 * money moved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import { setupEnv, type Env } from './helpers.ts';
import { RATE, expectConserved, join, liveStream, plan, type Joined } from './protocol-helpers.ts';
import { batchOutcome } from '../../dapp/lib/protocol/settlement.ts';

let env: Env;
let streamId: bigint;
let otherStream: bigint;
let session: Joined;
const escrow = () => env.payments.query.escrowOf(env.accounts.charlie.address, env.accounts.charlie.address).then((r) => r.value);

beforeAll(async () => {
  env = await setupEnv();
  streamId = await liveStream(env, env.accounts.bob);
  otherStream = await liveStream(env, env.accounts.bob);
  session = await join(env, env.accounts.charlie, streamId, RATE * 50n);
  await join(env, env.accounts.charlie, otherStream, RATE);
});
afterAll(async () => {
  await env.api.disconnect();
});

/** Submits one voucher through the batch call and returns its outcome, read from the block's events. */
async function submit(v: ReturnType<Joined['voucher']>) {
  return batchOutcome([v.voucher], (await env.ticks.tx.recordTicksBatch(env.accounts.dave, [v])).events)[0];
}

describe('nobody is charged for a second they did not authorize', () => {
  it('a voucher signed by any other key is refused (BadSignature)', async () => {
    const before = await escrow();
    const forged = SessionKey.generate().sign(env.ticks.address, { streamId, viewer: env.accounts.charlie.address, sessionId: session.sessionId, cumulativeTicks: 10n });
    expect(await submit(forged)).toEqual({ err: { type: 'BadSignature' } });
    expect(await escrow()).toBe(before);
  });

  it('a raised count on a real voucher is refused (BadSignature)', async () => {
    const before = await escrow();
    const v = session.voucher(2n);
    expect(await submit({ ...v, voucher: { ...v.voucher, cumulativeTicks: 40n } })).toEqual({ err: { type: 'BadSignature' } });
    expect(await escrow()).toBe(before);
  });

  it('a voucher replayed on another stream is refused', async () => {
    const before = await escrow();
    const v = session.voucher(3n);
    const replay = { ...v, voucher: { ...v.voucher, streamId: otherStream } };
    const res = await submit(replay);
    expect(res).toHaveProperty('err');
    expect(await escrow()).toBe(before);
  });

  it('a voucher signed for another contract is refused (BadSignature)', async () => {
    const before = await escrow();
    const wrongContract = session.key.sign(env.payments.address, { streamId, viewer: env.accounts.charlie.address, sessionId: session.sessionId, cumulativeTicks: 4n });
    expect(await submit(wrongContract)).toEqual({ err: { type: 'BadSignature' } });
    expect(await escrow()).toBe(before);
  });

  it('a garbage signature (r = s = 0) is refused without trapping', async () => {
    const v = session.voucher(5n);
    expect(await submit({ ...v, signature: `0x${'00'.repeat(64)}00` })).toEqual({ err: { type: 'BadSignature' } });
  });

  it('a voucher of an ended session is refused after the viewer rejoins (WrongSession)', async () => {
    const viewer = env.accounts.eve;
    const s = await liveStream(env, env.accounts.bob);
    const old = await join(env, viewer, s, RATE * 10n);
    const oldVoucher = old.voucher(5n);
    await env.ticks.tx.leaveStream(viewer, s, null, false);
    const fresh = await join(env, viewer, s, 0n);
    expect(await submit(oldVoucher)).toEqual({ err: { type: 'WrongSession', expected: fresh.sessionId, got: old.sessionId } });
    await env.ticks.tx.leaveStream(viewer, s, null, true);
  });

  it('settling the same voucher twice charges once', async () => {
    const before = await escrow();
    const v = session.voucher(6n);
    expect(await submit(v)).toEqual({ ok: { newTicks: 6n, amount: 6n * RATE, sessionEnded: false } });
    expect(await submit(v)).toEqual({ ok: { newTicks: 0n, amount: 0n, sessionEnded: false } });
    expect(await escrow()).toBe(before - 6n * RATE);
  });
});

describe('charges never exceed the escrow', () => {
  it('a voucher past the runway is paid only up to the escrow and the session stops', async () => {
    const viewer = env.accounts.ferdie;
    const s = await liveStream(env, env.accounts.bob);
    const joined = await join(env, viewer, s, RATE * 10n + RATE / 2n);
    const res = await submit(joined.voucher(1_000n));
    expect(res).toEqual({ ok: { newTicks: 10n, amount: 10n * RATE, sessionEnded: true } });
    expect((await env.ticks.query.sessionOf(viewer.address, s, viewer.address)).value).toBeNull();
    expect((await env.payments.query.escrowOf(viewer.address, viewer.address)).value).toBe(RATE / 2n);
    await env.payments.tx.withdraw(viewer, RATE / 2n);
    await expectConserved(env);
  });

  it('joining without escrow for one second is refused (InsufficientEscrow)', async () => {
    const s = await liveStream(env, env.accounts.bob);
    await expect(join(env, env.accounts.dave, s, RATE - 1n)).rejects.toMatchObject({ error: { type: 'InsufficientEscrow', needed: RATE } });
  });

  it('joining at a rate above the viewer’s limit is refused (RateAboveLimit)', async () => {
    const s = await liveStream(env, env.accounts.bob, plan({ ratePerSecond: RATE * 3n }));
    await expect(join(env, env.accounts.dave, s, RATE * 10n, RATE * 2n)).rejects.toMatchObject({ error: { type: 'RateAboveLimit', rate: RATE * 3n, max: RATE * 2n } });
  });
});

describe('access control', () => {
  it('only tick_stream can charge escrow (NotTickStream)', async () => {
    const charge = { viewer: env.accounts.charlie.address, streamId, creator: env.accounts.dave.address, ticks: 10n, ratePerSecond: RATE };
    await expect(env.payments.tx.settle(env.accounts.dave, charge)).rejects.toMatchObject({ error: { type: 'NotTickStream' } });
  });

  it('only the stream’s creator sets its prices (NotCreator)', async () => {
    await expect(env.pricing.tx.setPricePlan(env.accounts.eve, streamId, plan({ ratePerSecond: 1n }))).rejects.toMatchObject({ error: { type: 'NotCreator', streamId } });
  });

  it('only the stream’s creator withdraws its earnings (NotCreator)', async () => {
    await expect(env.payments.tx.withdrawEarnings(env.accounts.eve, streamId)).rejects.toMatchObject({ error: { type: 'NotCreator', streamId } });
  });

  it('only the admin sets the platform fee, and never above the cap', async () => {
    await expect(env.payments.tx.setFeeBps(env.accounts.eve, 10)).rejects.toMatchObject({ error: { type: 'NotAdmin' } });
    await expect(env.payments.tx.setFeeBps(env.accounts.alice, 1_001)).rejects.toMatchObject({ error: { type: 'FeeTooHigh', max: 1_000 } });
  });

  it('money is conserved after all of the above', async () => {
    await expectConserved(env);
  });
});

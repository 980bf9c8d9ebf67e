/**
 * One test per attack on the protocol, on the local chain. Each asserts the named error and that no
 * money moved.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { instantiateContract } from '../../scripts/deploy.ts';
import { PaymentHandlerContract } from '../../typechain/index.ts';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { SECP256K1_ORDER, SessionKey } from '../../dapp/lib/protocol/voucher.ts';
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

  it('the high-s twin of a real voucher is refused (NonCanonicalSignature): one signature per voucher', async () => {
    const before = await escrow();
    const v = session.voucher(4n);
    const sig = hexToU8a(v.signature);
    const s = BigInt(u8aToHex(sig.subarray(32, 64)));
    const twin = u8aConcat(sig.subarray(0, 32), hexToU8a('0x' + (SECP256K1_ORDER - s).toString(16).padStart(64, '0')), new Uint8Array([sig[64] ^ 1]));
    expect(await submit({ ...v, signature: u8aToHex(twin) as `0x${string}` })).toEqual({ err: { type: 'NonCanonicalSignature' } });
    const eth = u8aConcat(sig.subarray(0, 64), new Uint8Array([sig[64] + 27]));
    expect(await submit({ ...v, signature: u8aToHex(eth) as `0x${string}` })).toEqual({ err: { type: 'NonCanonicalSignature' } });
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

  it('the payment handler wires only a contract running the named tick_stream code (NotTickStreamCode)', async () => {
    const { alice, eve } = env.accounts;
    const tickStream = inject('deployment').contracts.tick_stream;
    expect((await env.payments.query.tickStreamCodeHash(eve.address)).value).toBe(tickStream.codeHash);
    // A payment handler not yet wired, as the deployer has it between two steps.
    const fresh = await instantiateContract(env.api, alice, 'payment_handler', [inject('deployment').contracts.pricing_engine.address, 0]);
    const payments = new PaymentHandlerContract(env.api, fresh.address);
    const code = tickStream.codeHash as `0x${string}`;
    // An ordinary account would be able to charge every escrow.
    await expect(payments.tx.setTickStream(alice, eve.address, code)).rejects.toMatchObject({ error: { type: 'NotTickStreamCode', expected: code, found: null } });
    // A contract running other code (the registry), named as tick_stream.
    await expect(payments.tx.setTickStream(alice, env.registry.address, code)).rejects.toMatchObject({
      error: { type: 'NotTickStreamCode', found: inject('deployment').contracts.stream_registry.codeHash },
    });
    expect((await payments.query.tickStream(eve.address)).value).toBeNull();
    await payments.tx.setTickStream(alice, tickStream.address, code);
    expect((await payments.query.tickStream(eve.address)).value).toBe(tickStream.address);
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

});

// Audit finding 14: a refusal must name its real cause.
describe('errors are named for their cause', () => {
  it('a dynamic rule whose rate overflows is RateOverflow, not NoPricePlan', async () => {
    const MAX = (1n << 128n) - 1n;
    const surging = await liveStream(env, env.accounts.bob, plan({ dynamic: { stepPerViewer: MAX, floor: 0n, ceiling: MAX } }));
    // Nobody watching: the rate is the base rate. With one viewer, base + step overflows u128.
    await join(env, env.accounts.ferdie, surging, RATE * 10n);
    await expect(env.ticks.query.quote(env.accounts.eve.address, surging, env.accounts.eve.address, 1n)).rejects.toMatchObject({
      error: { type: 'RateOverflow', streamId: surging },
    });
    await expect(env.ticks.tx.joinStream(env.accounts.eve, surging, SessionKey.generate().publicKey, MAX, false, { value: RATE * 10n })).rejects.toMatchObject({
      error: { type: 'RateOverflow', streamId: surging },
    });
    await env.ticks.tx.leaveStream(env.accounts.ferdie, surging, null, true);
  });

  it("leaving with a final voucher of another stream is FinalVoucherMismatch, not BadSignature", async () => {
    const other = await join(env, env.accounts.eve, otherStream, RATE * 10n);
    await join(env, env.accounts.eve, streamId, RATE * 10n);
    await expect(env.ticks.tx.leaveStream(env.accounts.eve, streamId, other.voucher(1n), true)).rejects.toMatchObject({
      error: { type: 'FinalVoucherMismatch', streamId },
    });
    await env.ticks.tx.leaveStream(env.accounts.eve, streamId, null, true);
    await env.ticks.tx.leaveStream(env.accounts.eve, otherStream, null, true);
  });
});

describe('after all of the above', () => {
  it('money is conserved after all of the above', async () => {
    await expectConserved(env);
  });
});

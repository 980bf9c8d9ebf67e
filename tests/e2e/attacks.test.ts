/**
 * One test per attack on the protocol (v2: tabs), on the local chain. Forged and mangled tab vouchers
 * (another key, a raised count or changed terms, another contract or chain, the twin forms of a real
 * signature, garbage), replays and overspending are settled through `settle_tabs` and each outcome
 * is read from the block's events (TabSettled / TabVoucherRefused) with the balance checked; access
 * control and errors named for their cause are checked on the messages themselves. The dynamic
 * price's audience (audit 7: sybil tabs must not move it) is tested on a chopsticks chain of its own,
 * whose clock the test moves an hour at a time. Money is checked to be conserved at the end.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { instantiateContract } from '../../scripts/deploy.ts';
import { signAndWait } from '../../scripts/lib/chain.ts';
import type { Chain } from '../../scripts/chain/launch.ts';
import { PaymentHandlerContract } from '../../typechain/index.ts';
import type { TickStreamEvent } from '../../typechain/tick_stream.ts';
import { SECP256K1_ORDER, SessionKey, type Hex } from '../../dapp/lib/protocol/voucher.ts';
import { signTabVoucher, type Claim, type SignedTabVoucher } from '../../dapp/lib/protocol/tab.ts';
import { ownChain } from '../own-chain.ts';
import { setupEnv, type Env } from './helpers.ts';
import { RATE, expectConserved, liveStream, plan } from './protocol-helpers.ts';
import { chainTime, deployTabPair, openTab, settle, tabsHeld, timeTravel, type OpenTab, type TabPair } from './tab-helpers.ts';

const MAX = (1n << 128n) - 1n;

let env: Env;
/** A tick_stream + payment handler of this file's own (no fee: amounts are exact). */
let pair: TabPair;
let relay: KeyringPair;
let streamId: bigint;
let otherStream: bigint;
/** Charlie's tab: the one every forged voucher aims at. */
let tab: OpenTab;

beforeAll(async () => {
  env = await setupEnv();
  relay = env.accounts.dave;
  pair = await deployTabPair(env.api, env.accounts.alice, inject('deployment'), 0, 30_000);
  streamId = await liveStream(env, env.accounts.bob);
  otherStream = await liveStream(env, env.accounts.bob);
  tab = await openTab(pair, env.accounts.charlie, relay.address, RATE * 50n);
});
afterAll(async () => {
  await env?.api.disconnect();
});

const settledOf = (res: { outcome: TickStreamEvent[] }) => res.outcome.flatMap((e) => (e.name === 'TabSettled' ? e.args.watches : []));
const refusedOf = (res: { outcome: TickStreamEvent[] }) => res.outcome.flatMap((e) => (e.name === 'TabVoucherRefused' ? [e.args.error] : []));
const balance = async (t: OpenTab = tab) => (await pair.ticks.query.tab(relay.address, t.tabId)).value!.balance;
const watch0 = (ticks: bigint): Claim => ({ watch: 0, streamId, ratePerSecond: RATE, ticks });

/** Settles `vouchers` from the relay in one transaction: the block's refusals and settled entries. */
async function submit(...vouchers: SignedTabVoucher[]) {
  const res = await settle(pair, relay, vouchers);
  return { refused: refusedOf(res), settled: settledOf(res).map((w) => [w.newTicks, w.amount]) };
}

describe('nobody is charged for a second they did not authorize', () => {
  it('a voucher signed by any other key is refused (BadSignature)', async () => {
    const before = await balance();
    const forged = signTabVoucher(SessionKey.generate(), { genesisHash: pair.genesisHash, contract: pair.ticks.address, tabId: tab.tabId }, [watch0(10n)]);
    expect(await submit(forged)).toEqual({ refused: [{ type: 'BadSignature' }], settled: [] });
    expect(await balance()).toBe(before);
  });

  it('a raised count, a lower rate or another stream on a real voucher is refused (BadSignature)', async () => {
    const before = await balance();
    const real = tab.sign([watch0(2n)]);
    const raised = { ...real, claims: [{ ...real.claims[0], ticks: 40n }] };
    const cheaper = { ...real, claims: [{ ...real.claims[0], ratePerSecond: 1n }] };
    const moved = { ...real, claims: [{ ...real.claims[0], streamId: otherStream }] };
    expect(await submit(raised, cheaper, moved)).toEqual({ refused: Array(3).fill({ type: 'BadSignature' }), settled: [] });
    expect(await balance()).toBe(before);
  });

  it('a voucher signed for another contract or another chain is refused (BadSignature)', async () => {
    const before = await balance();
    // The suite's own tick_stream (another deployment, a tab of the same number), and another genesis.
    const otherContract = signTabVoucher(tab.key, { genesisHash: pair.genesisHash, contract: env.ticks.address, tabId: tab.tabId }, [watch0(4n)]);
    const otherChain = signTabVoucher(tab.key, { genesisHash: `0x${'ab'.repeat(32)}`, contract: pair.ticks.address, tabId: tab.tabId }, [watch0(4n)]);
    expect(await submit(otherContract, otherChain)).toEqual({ refused: [{ type: 'BadSignature' }, { type: 'BadSignature' }], settled: [] });
    expect(await balance()).toBe(before);
  });

  it('the high-s twin and the v = 27/28 form of a real voucher are refused (NonCanonicalSignature): one signature per voucher', async () => {
    const before = await balance();
    const real = tab.sign([watch0(4n)]);
    const sig = hexToU8a(real.signature);
    const s = BigInt(u8aToHex(sig.subarray(32, 64)));
    const twin = u8aConcat(sig.subarray(0, 32), hexToU8a('0x' + (SECP256K1_ORDER - s).toString(16).padStart(64, '0')), new Uint8Array([sig[64] ^ 1]));
    const eth = u8aConcat(sig.subarray(0, 64), new Uint8Array([sig[64] + 27]));
    const res = await submit({ ...real, signature: u8aToHex(twin) as Hex }, { ...real, signature: u8aToHex(eth) as Hex });
    expect(res).toEqual({ refused: [{ type: 'NonCanonicalSignature' }, { type: 'NonCanonicalSignature' }], settled: [] });
    expect(await balance()).toBe(before);
    // The voucher they were made from is good, and pays once.
    expect(await submit(real)).toEqual({ refused: [], settled: [[4n, 4n * RATE]] });
    expect(await balance()).toBe(before - 4n * RATE);
  });

  it('a garbage signature (r = s = 0) is refused without trapping: the rest of the batch settles', async () => {
    const before = await balance();
    const other = await openTab(pair, env.accounts.eve, relay.address, RATE * 10n);
    const garbage = { ...tab.sign([watch0(5n)]), signature: `0x${'00'.repeat(65)}` as Hex };
    expect(await submit(garbage, other.sign([{ watch: 0, streamId, ratePerSecond: RATE, ticks: 3n }]))).toEqual({
      refused: [{ type: 'BadSignature' }],
      settled: [[3n, 3n * RATE]],
    });
    expect(await balance()).toBe(before);
    expect(await balance(other)).toBe(RATE * 7n);
  });

  it('settling the same voucher twice charges once (in one batch, and again later)', async () => {
    const before = await balance();
    const v = tab.sign([watch0(10n)]);
    expect(await submit(v, v)).toEqual({ refused: [], settled: [[6n, 6n * RATE], [0n, 0n]] });
    expect(await submit(v)).toEqual({ refused: [], settled: [[0n, 0n]] });
    expect(await balance()).toBe(before - 6n * RATE);
  });
});

describe('charges never exceed the tab', () => {
  it('a voucher past the balance pays only the whole seconds it covers, and leaves no debt', async () => {
    const viewer = env.accounts.ferdie;
    const small = await openTab(pair, viewer, relay.address, RATE * 10n + RATE / 2n);
    const res = await settle(pair, relay, [small.sign([{ watch: 0, streamId, ratePerSecond: RATE, ticks: 1_000n }])]);
    expect(settledOf(res).map((w) => [w.newTicks, w.unpaidTicks, w.amount])).toEqual([[10n, 990n, 10n * RATE]]);
    expect(await balance(small)).toBe(RATE / 2n);
    // Another stream's watch finds nothing to pay with; the half second stays the viewer's.
    const more = await settle(pair, relay, [small.sign([{ watch: 0, streamId, ratePerSecond: RATE, ticks: 1_000n }, { watch: 1, streamId: otherStream, ratePerSecond: RATE, ticks: 5n }])]);
    expect(settledOf(more).map((w) => [w.newTicks, w.unpaidTicks, w.amount])).toEqual([[0n, 990n, 0n], [0n, 5n, 0n]]);
    expect(await balance(small)).toBe(RATE / 2n);
    const { held, owed } = await tabsHeld(env.api, pair, viewer.address);
    expect(held).toBe(owed);
  });
});

describe('access control', () => {
  it('only tick_stream can book earnings (NotTickStream): nothing is booked', async () => {
    const { dave } = env.accounts;
    const earnings = async () => (await pair.payments.query.earningsOf(dave.address, streamId)).value;
    const before = await earnings();
    const booking = { streamId, creator: dave.address, amount: 10n * RATE };
    await expect(pair.payments.tx.bookTabEarnings(dave, [booking], { value: 10n * RATE })).rejects.toMatchObject({ error: { type: 'NotTickStream' } });
    await expect(pair.payments.tx.bookTabEarnings(dave, [booking])).rejects.toMatchObject({ error: { type: 'NotTickStream' } });
    expect(await earnings()).toBe(before);
  });

  it('the payment handler wires only a contract running the named tick_stream code (NotTickStreamCode)', async () => {
    const { alice, eve } = env.accounts;
    const tickStream = inject('deployment').contracts.tick_stream;
    expect((await env.payments.query.tickStreamCodeHash(eve.address)).value).toBe(tickStream.codeHash);
    // A payment handler not yet wired, as the deployer has it between two steps.
    const fresh = await instantiateContract(env.api, alice, 'payment_handler', [inject('deployment').contracts.pricing_engine.address, 0]);
    const payments = new PaymentHandlerContract(env.api, fresh.address);
    const code = tickStream.codeHash as Hex;
    // An ordinary account in tick_stream's place would book earnings no voucher paid for.
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
    expect((await pair.ticks.query.quote(env.accounts.eve.address, streamId, 1n)).value).toBe(RATE);
  });

  it('only the stream’s creator withdraws its earnings (NotCreator)', async () => {
    const earned = (await pair.payments.query.earningsOf(env.accounts.eve.address, streamId)).value;
    expect(earned).toBeGreaterThan(0n); // the vouchers above paid the stream
    await expect(pair.payments.tx.withdrawEarnings(env.accounts.eve, streamId)).rejects.toMatchObject({ error: { type: 'NotCreator', streamId } });
    expect((await pair.payments.query.earningsOf(env.accounts.eve.address, streamId)).value).toBe(earned);
  });

  it('only the admin sets the platform fee, and never above the cap', async () => {
    await expect(pair.payments.tx.setFeeBps(env.accounts.eve, 10)).rejects.toMatchObject({ error: { type: 'NotAdmin' } });
    await expect(pair.payments.tx.setFeeBps(env.accounts.alice, 1_001)).rejects.toMatchObject({ error: { type: 'FeeTooHigh', max: 1_000 } });
    expect((await pair.payments.query.feeBps(env.accounts.eve.address)).value).toBe(0);
  });
});

// Audit finding 14: a refusal must name its real cause. (A dynamic rule overflowing is RateOverflow:
// tested below, where an hour of paying audience can be made.)
describe('errors are named for their cause', () => {
  it('a rate list names each stream’s own refusal, and refuses more than MAX_RATES streams (BatchTooLarge)', async () => {
    const unknown = 1n << 60n;
    expect((await pair.ticks.query.rates(relay.address, [streamId, unknown])).value).toEqual([{ ok: RATE }, { err: { type: 'NoPricePlan', streamId: unknown } }]);
    await expect(pair.ticks.query.rates(relay.address, Array(201).fill(streamId))).rejects.toMatchObject({ error: { type: 'BatchTooLarge', max: 200 } });
  });
});

describe('after all of the above', () => {
  it('money is conserved after all of the above', async () => {
    const { held, owed } = await tabsHeld(env.api, pair, env.accounts.alice.address);
    expect(held).toBe(owed);
    await expectConserved({ ...env, payments: pair.payments });
    await expectConserved(env);
  });
});

/**
 * Audit 7: the dynamic rule's audience was the number of open sessions, so one-second sybil sessions
 * raised everyone's price. Now it is the plancks paid for the stream in the previous clock hour ÷
 * (base rate × 3 600). On a chopsticks chain of this file's own: its clock is moved to the start of
 * each hour the test needs (dev_timeTravel), which no other file's chain must see.
 */
describe('the dynamic price moves only with the paying audience (audit 7), on a chain whose clock the test moves', () => {
  const HOUR = 3_600_000n;
  const SYBILS = 8;
  const WATCHES = 8; // a tab's most
  let chain: Chain;
  let own: Env;
  let dev: WsProvider;
  let sybils: { tab: OpenTab; signer: KeyringPair }[];
  let ownPair: TabPair;
  /** Base RATE, one RATE more per viewer of paying audience, at most 100 × RATE. */
  let dynamic: bigint;
  /** A dynamic rule whose step overflows u128 at the first viewer of paying audience. */
  let surging: bigint;
  /** The clock hour the test is in (ms since the epoch ÷ HOUR). */
  let hour: bigint;

  const quote = async (s: bigint) => (await own.ticks.query.quote(own.accounts.alice.address, s, 1n)).value;
  const audience = async (s: bigint) => (await own.ticks.query.audience(own.accounts.alice.address, s)).value;
  const nextHour = async () => {
    hour += 1n;
    await timeTravel(own.api, dev, hour * HOUR);
  };
  /** Every sybil tab signs WATCHES new watches of `dynamic` for an hour each, half at 1 planck/s and half at 0, and settles them itself. */
  const sybilHour = async (firstWatch: number) => {
    const vouchers = sybils.map(({ tab: t }) =>
      t.sign(Array.from({ length: WATCHES }, (_, i) => ({ watch: firstWatch + i, streamId: dynamic, ratePerSecond: i % 2 === 0 ? 1n : 0n, ticks: 3_600n }))),
    );
    const res = await settle(ownPair, sybils[0].signer, vouchers);
    expect(refusedOf(res)).toEqual([]);
    const entries = settledOf(res);
    expect(entries.length).toBe(SYBILS * WATCHES);
    expect(entries.every((w) => w.newTicks === 3_600n)).toBe(true);
  };

  beforeAll(async () => {
    // chopsticks even where a node is built or running (CONTRACTS_NODE_URL): only it has dev_timeTravel.
    const { CONTRACTS_NODE_URL: _running, ...rest } = process.env;
    ({ chain, env: own } = await ownChain('attacks-audience', { ...rest, VILO_CHAIN: 'chopsticks' }));
    expect(chain.kind).toBe('chopsticks');
    dev = new WsProvider(chain.url);
    await dev.isReady;
    ownPair = { ticks: own.ticks, payments: own.payments, genesisHash: own.api.genesisHash.toHex() as Hex };
    dynamic = await liveStream(own, own.accounts.bob, plan({ dynamic: { stepPerViewer: RATE, floor: RATE, ceiling: RATE * 100n } }));
    surging = await liveStream(own, own.accounts.bob, plan({ dynamic: { stepPerViewer: MAX, floor: 0n, ceiling: MAX } }));
    // Sybil accounts of their own (a viewer has one open tab), funded in one extrinsic.
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const signers = Array.from({ length: SYBILS }, (_, i) => keyring.addFromUri(`//Alice//sybil//${i}`));
    await signAndWait(own.api, own.api.tx.utility.batchAll(signers.map((s) => own.api.tx.balances.transferKeepAlive(s.address, 10n ** 13n))), own.accounts.alice);
    sybils = [];
    for (const signer of signers) sybils.push({ signer, tab: await openTab(ownPair, signer, signer.address, RATE) });
    hour = (await chainTime(own.api)) / HOUR;
    await nextHour();
  }, 300_000);
  afterAll(async () => {
    await dev?.disconnect();
    await own?.api.disconnect();
    await chain?.stop();
  }, 60_000);

  it('sybil tabs watching for hours at 1 planck/s or for free leave the audience at 0 and the rate at base', async () => {
    const ticksBefore = (await own.ticks.query.streamTicks(own.accounts.alice.address, dynamic)).value;
    await sybilHour(0);
    // 64 watches of an hour each: a count of seconds, tabs or watches would say 64 viewers.
    expect((await own.ticks.query.streamTicks(own.accounts.alice.address, dynamic)).value - ticksBefore).toBe(BigInt(SYBILS * WATCHES) * 3_600n);
    await nextHour();
    expect(await audience(dynamic)).toBe(0);
    expect(await quote(dynamic)).toBe(RATE);
    await expectConserved(own);
  });

  it('an hour paid at the base rate raises the rate one step, once the next clock hour begins', async () => {
    const honest = await openTab(ownPair, own.accounts.charlie, own.accounts.dave.address, RATE * 7_200n);
    const res = await settle(ownPair, own.accounts.dave, [
      honest.sign([
        { watch: 0, streamId: dynamic, ratePerSecond: RATE, ticks: 3_600n },
        { watch: 1, streamId: surging, ratePerSecond: RATE, ticks: 3_600n },
      ]),
    ]);
    expect(settledOf(res).map((w) => w.amount)).toEqual([RATE * 3_600n, RATE * 3_600n]);
    await sybilHour(WATCHES); // the sybils go on beside it (their first watches' slots are free after a window)
    // Within the hour the rate is the previous hour's: the sybils' hour, 0 viewers.
    expect(await audience(dynamic)).toBe(0);
    expect(await quote(dynamic)).toBe(RATE);
    await nextHour();
    expect(await audience(dynamic)).toBe(1);
    expect(await quote(dynamic)).toBe(RATE * 2n);
    await expectConserved(own);
  });

  it('a dynamic rule whose rate overflows is RateOverflow, not NoPricePlan', async () => {
    // One viewer of paying audience last hour: base + u128::MAX × 1 does not fit.
    expect(await audience(surging)).toBe(1);
    await expect(own.ticks.query.quote(own.accounts.eve.address, surging, 1n)).rejects.toMatchObject({ error: { type: 'RateOverflow', streamId: surging } });
    expect((await own.ticks.query.rates(own.accounts.eve.address, [dynamic, surging])).value).toEqual([
      { ok: RATE * 2n },
      { err: { type: 'RateOverflow', streamId: surging } },
    ]);
  });

  it('the audience is the previous hour’s alone: an hour nobody pays brings the rate back to base', async () => {
    await nextHour();
    expect(await audience(dynamic)).toBe(0);
    expect(await quote(dynamic)).toBe(RATE);
    expect(await quote(surging)).toBe(RATE);
  });
});

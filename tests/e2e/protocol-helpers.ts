/** Steps the protocol tests share: a priced live stream, a joined viewer, the conservation check. */
import { expect } from 'vitest';
import type { KeyringPair } from '@polkadot/keyring/types';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import type { PlanInput } from '../../typechain/pricing_engine.ts';
import { freeBalance, type Env } from './helpers.ts';

/** Reference rate: 1 µUNIT per second = 10^6 plancks (UNIT = 10^12). */
export const RATE = 1_000_000n;

export function plan(over: Partial<PlanInput> = {}): PlanInput {
  return { ratePerSecond: RATE, premiumRatePerSecond: null, tiers: [], dynamic: null, ...over };
}

/** Registers a stream for `creator`, prices it and sets it live. Returns its id. */
export async function liveStream(env: Env, creator: KeyringPair, p: PlanInput = plan()): Promise<bigint> {
  const details = { title: `Test ${Date.now()}`, description: '', category: 'test', thumbnailCid: null };
  const id = (await env.registry.tx.registerStream(creator, details)).one('StreamRegistered').streamId;
  await env.pricing.tx.setPricePlan(creator, id, p);
  await env.registry.tx.setLive(creator, id, true);
  return id;
}

export interface Joined {
  sessionId: bigint;
  key: SessionKey;
  /** Signs a voucher for `cumulative` ticks of this session. */
  voucher(cumulative: bigint): { voucher: { streamId: bigint; viewer: string; sessionId: bigint; cumulativeTicks: bigint }; signature: `0x${string}` };
}

/** Deposit + join in one signed transaction, with a fresh session key. */
export async function join(env: Env, viewer: KeyringPair, streamId: bigint, deposit: bigint, maxRate = RATE): Promise<Joined> {
  const key = SessionKey.generate();
  const res = await env.ticks.tx.joinStream(viewer, streamId, key.publicKey, maxRate, false, { value: deposit });
  const sessionId = res.one('ViewerJoined').sessionId;
  return {
    sessionId,
    key,
    voucher: (cumulative) => key.sign(env.ticks.address, { streamId, viewer: viewer.address, sessionId, cumulativeTicks: cumulative }),
  };
}

/** Asserts the payment handler's balance is exactly Σ escrow + Σ earnings + fees (above its ED). */
export async function expectConserved(env: Env): Promise<void> {
  const { value: [escrow, earnings, fees] } = await env.payments.query.liabilities(env.accounts.alice.address);
  const ed = env.api.consts.balances.existentialDeposit.toBigInt();
  const held = (await freeBalance(env.api, env.payments.address)) - ed;
  expect(held).toBe(escrow + earnings + fees);
}

/** Steps the protocol tests share: a priced live stream, and the payment handler's conservation check. */
import { expect } from 'vitest';
import type { KeyringPair } from '@polkadot/keyring/types';
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

/**
 * Asserts the payment handler owes no more than it holds, and that its balance (above its existential
 * deposit) is exactly Σ earnings + fees + surplus (what plain transfers sent, owed to nobody).
 */
export async function expectConserved(env: Env): Promise<void> {
  const caller = env.accounts.alice.address;
  const { value: [earnings, fees] } = await env.payments.query.liabilities(caller);
  const { value: surplus } = await env.payments.query.surplus(caller);
  const ed = env.api.consts.balances.existentialDeposit.toBigInt();
  const held = (await freeBalance(env.api, env.payments.address)) - ed;
  expect(held).toBeGreaterThanOrEqual(earnings + fees);
  expect(held).toBe(earnings + fees + surplus);
}

/** What an account holds, as the wallet page shows it: free balance, its tab, and earnings to withdraw. */
import type { Contracts } from './connection.ts';
import { READER, freeBalance } from './connection.ts';

export interface AccountBalances {
  /** Free balance on chain, plancks. */
  free: bigint;
  /** The balance of the account's open tab (what it pays for watching from), plancks; null: no tab. */
  tab: bigint | null;
  /** Unwithdrawn earnings over the account's own streams, plancks. */
  earnings: bigint;
  /** How many streams the account created. */
  streams: number;
}

export async function accountBalances(c: Contracts, who: string): Promise<AccountBalances> {
  const [free, tab, own] = await Promise.all([
    freeBalance(c.api, who),
    c.ticks.query.tabOf(READER, who),
    c.registry.query.streamsOf(READER, who, 0, 50),
  ]);
  const earnings = await Promise.all(own.value.map((s) => c.payments.query.earningsOf(READER, s.id)));
  return { free, tab: tab.value?.balance ?? null, earnings: earnings.reduce((sum, e) => sum + e.value, 0n), streams: own.value.length };
}

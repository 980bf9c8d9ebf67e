/**
 * One connection to the chain and typed clients of the four contracts (generated bindings). Loaded
 * with a dynamic import, so the Polkadot libraries are not part of a page's first load.
 */
import type { ApiPromise } from '@polkadot/api';
import type { PaymentHandlerContract, PricingEngineContract, StreamRegistryContract, TickStreamContract } from '$typechain/index.ts';
import type { ChainConfig } from '../config.ts';
import type { Token } from '../format/money.ts';

export interface Contracts {
  api: ApiPromise;
  registry: StreamRegistryContract;
  pricing: PricingEngineContract;
  payments: PaymentHandlerContract;
  ticks: TickStreamContract;
  token: Token;
  /** A local development chain: dev accounts (//Alice …) may be offered. */
  devChain: boolean;
  chainName: string;
}

/** Caller of read-only dry runs (any well-formed address works; nothing is signed). */
export const READER = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';

export async function connect(config: ChainConfig): Promise<Contracts> {
  const [{ ApiPromise, WsProvider }, tc] = await Promise.all([import('@polkadot/api'), import('$typechain/index.ts')]);
  const api = await ApiPromise.create({ provider: new WsProvider(config.chainUrl), noInitWarn: true });
  const [type, name] = await Promise.all([api.rpc.system.chainType(), api.rpc.system.chain()]);
  const c = config.contracts;
  return {
    api,
    registry: new tc.StreamRegistryContract(api, c.stream_registry),
    pricing: new tc.PricingEngineContract(api, c.pricing_engine),
    payments: new tc.PaymentHandlerContract(api, c.payment_handler),
    ticks: new tc.TickStreamContract(api, c.tick_stream),
    token: { symbol: api.registry.chainTokens[0] ?? 'UNIT', decimals: api.registry.chainDecimals[0] ?? 12 },
    devChain: type.isDevelopment || type.isLocal || /local|dev/i.test(name.toString()),
    chainName: name.toString(),
  };
}

/** Free balance of an account, in plancks. */
export async function freeBalance(api: ApiPromise, address: string): Promise<bigint> {
  return (await api.query.system.account(address)).data.free.toBigInt();
}

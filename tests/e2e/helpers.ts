/** Shared setup of the e2e tests: a connection, dev accounts and typed clients of the deployment. */
import { inject } from 'vitest';
import type { ApiPromise } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { connect } from '../../scripts/lib/chain.ts';
import type { Deployment } from '../../scripts/deploy.ts';
import {
  PaymentHandlerContract,
  PricingEngineContract,
  StreamRegistryContract,
  TickStreamContract,
} from '../../typechain/index.ts';

export interface Env {
  api: ApiPromise;
  accounts: Record<'alice' | 'bob' | 'charlie' | 'dave' | 'eve' | 'ferdie', KeyringPair>;
  registry: StreamRegistryContract;
  pricing: PricingEngineContract;
  payments: PaymentHandlerContract;
  ticks: TickStreamContract;
}

/** Clients of the run's chain and deployment, or of another chain's (`at`: a test with a chain of its own). */
export async function setupEnv(at?: { chainUrl: string; deployment: Deployment }): Promise<Env> {
  await cryptoWaitReady();
  const api = await connect(at?.chainUrl ?? inject('chainUrl'));
  const d = (at?.deployment ?? inject('deployment')).contracts;
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = (n: string) => keyring.addFromUri(`//${n[0].toUpperCase()}${n.slice(1)}`);
  return {
    api,
    accounts: {
      alice: dev('alice'),
      bob: dev('bob'),
      charlie: dev('charlie'),
      dave: dev('dave'),
      eve: dev('eve'),
      ferdie: dev('ferdie'),
    },
    registry: new StreamRegistryContract(api, d.stream_registry.address),
    pricing: new PricingEngineContract(api, d.pricing_engine.address),
    payments: new PaymentHandlerContract(api, d.payment_handler.address),
    ticks: new TickStreamContract(api, d.tick_stream.address),
  };
}

/** Free balance of an account, in plancks. */
export async function freeBalance(api: ApiPromise, address: string): Promise<bigint> {
  return (await api.query.system.account(address)).data.free.toBigInt();
}

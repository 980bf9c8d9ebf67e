/**
 * Builds the app's one media server from the environment:
 *   VILO_CHAIN_URL, VILO_DEPLOYMENT        the chain and the contracts (as the rest of the server)
 *   VILO_RELAY_DB                          SQLite file (default .vilokanam/relay.sqlite)
 *   VILO_SETTLE_INTERVAL_MS                relay settlement period (default 10000)
 *   VILO_RELAY_SURI                        relay account; //Charlie only on a dev chain
 *   VILO_RATE_LIMIT                        "<requests per second>,<burst>" per client IP (default 20,60)
 *   VILO_ICE_HOSTS                         extra ICE host addresses, comma-separated (e.g. 127.0.0.1)
 *   VILO_ICE_PORTS                         "<min>-<max>" UDP ports for ICE (default: any)
 * The chain connection is made in the background: until it is up, every chain read fails and the
 * gate refuses (fails closed); the server itself starts at once.
 */
import { readFileSync } from 'node:fs';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { SignedVoucher } from '../../protocol/voucher.ts';
import { cached, contractChain, type ChainReader, type ChainSettler } from './chain.ts';
import { createMediaServer, type MediaServer } from './server.ts';
import { Store } from './store.ts';

export const DEFAULT_RELAY_DB = '.vilokanam/relay.sqlite';

export function bootMediaServer(env: Record<string, string | undefined>, log: (l: string) => void = console.log): MediaServer & { store: Store } {
  const chainUrl = env.VILO_CHAIN_URL;
  const deploymentFile = env.VILO_DEPLOYMENT;
  const contracts = deploymentFile
    ? (Object.fromEntries(
        Object.entries((JSON.parse(readFileSync(deploymentFile, 'utf8')) as { contracts: Record<string, { address: string }> }).contracts).map(([k, v]) => [k, v.address]),
      ) as { stream_registry: string; tick_stream: string; payment_handler: string })
    : undefined;

  let inner: (ChainReader & ChainSettler) | undefined;
  let api: ApiPromise | undefined;
  const unavailable = () => Promise.reject(new Error(chainUrl && contracts ? `not connected to ${chainUrl} yet` : 'VILO_CHAIN_URL and VILO_DEPLOYMENT are not set'));
  const live = () => (inner && api?.isConnected ? inner : undefined);
  const reader: ChainReader = {
    tickStream: contracts?.tick_stream ?? '',
    stream: (id) => live()?.stream(id) ?? unavailable(),
    session: (id, v) => live()?.session(id, v) ?? unavailable(),
    escrow: (v) => live()?.escrow(v) ?? unavailable(),
    hasSubscription: (v, id) => live()?.hasSubscription(v, id) ?? unavailable(),
  };
  const settler: ChainSettler = {
    settle: (vs: SignedVoucher[]) => live()?.settle(vs) ?? unavailable(),
  };

  if (chainUrl && contracts) {
    void (async () => {
      try {
        api = await ApiPromise.create({ provider: new WsProvider(chainUrl), noInitWarn: true });
        const relay = await relayAccount(api, env.VILO_RELAY_SURI);
        inner = contractChain(api, contracts, relay);
        log(`[media] chain ${chainUrl} connected; relay account ${relay?.address ?? '(none: vouchers are stored, not settled)'}`);
      } catch (e) {
        log(`[media] cannot use the chain at ${chainUrl}: ${(e as Error).message} (the gate refuses everyone)`);
      }
    })();
  } else {
    log('[media] VILO_CHAIN_URL / VILO_DEPLOYMENT not set: the gate refuses everyone');
  }

  const [perSecond, burst] = (env.VILO_RATE_LIMIT ?? '20,60').split(',').map(Number);
  const ports = env.VILO_ICE_PORTS?.split('-').map(Number);
  const store = new Store(env.VILO_RELAY_DB || DEFAULT_RELAY_DB);
  const server = createMediaServer({
    chain: cached(reader, 1_000),
    settler,
    store,
    settleIntervalMs: Number(env.VILO_SETTLE_INTERVAL_MS ?? 10_000),
    rateLimit: { perSecond: perSecond || 20, burst: burst || 60 },
    sfu: {
      iceAdditionalHostAddresses: env.VILO_ICE_HOSTS ? env.VILO_ICE_HOSTS.split(',') : undefined,
      icePortRange: ports?.length === 2 ? (ports as [number, number]) : undefined,
    },
    log,
  });
  return {
    ...server,
    store,
    close: async () => {
      await server.close();
      store.close();
      await api?.disconnect().catch(() => {});
    },
  };
}

async function relayAccount(api: ApiPromise, suri: string | undefined): Promise<KeyringPair | undefined> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 ?? 42 });
  if (suri) return keyring.addFromUri(suri);
  const [type, name] = await Promise.all([api.rpc.system.chainType(), api.rpc.system.chain()]);
  const dev = type.isDevelopment || type.isLocal || /local|dev/i.test(name.toString());
  return dev ? keyring.addFromUri('//Charlie') : undefined;
}

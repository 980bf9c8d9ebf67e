/**
 * Builds the app's one media server from the environment:
 *   VILO_CHAIN_URL, VILO_DEPLOYMENT        the chain and the contracts (as the rest of the server)
 *   VILO_RELAY_DB                          SQLite file (default .vilokanam/relay.sqlite)
 *   VILO_SETTLE_INTERVAL_MS                relay settlement period (default 10000)
 *   VILO_SETTLE_MIN_TICKS                  settle a session once this many ticks are unsettled, or
 *                                          when its vouchers stop (default 1: every advance; ≤ 300)
 *   VILO_RELAY_SURI                        relay account; //Charlie only on a dev chain
 *   VILO_RATE_LIMIT                        "<requests per second>,<burst>" per client IP (default 20,60)
 *   VILO_ICE_HOSTS                         extra ICE host addresses, comma-separated (e.g. 127.0.0.1)
 *   VILO_ICE_PORTS                         "<min>-<max>" UDP ports for ICE (default: any)
 *   VILO_RTMP_PORT                         RTMP ingest port (nginx + libnginx-mod-rtmp); HLS at /hls/ (default: off)
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
import { MAX_MIN_TICKS } from './relay.ts';
import { createMediaServer, type MediaServer } from './server.ts';
import { startRtmp, type RtmpIngest } from './rtmp.ts';
import { Store } from './store.ts';

export const DEFAULT_RELAY_DB = '.vilokanam/relay.sqlite';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A whole-number setting from 1 to `max` from the environment, or its default; else a ConfigError. */
export function wholeSetting(env: Record<string, string | undefined>, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || n < 1 || n > max) {
    throw new ConfigError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return n;
}

export function bootMediaServer(env: Record<string, string | undefined>, log: (l: string) => void = console.log): MediaServer & { store: Store } {
  const settleIntervalMs = wholeSetting(env, 'VILO_SETTLE_INTERVAL_MS', 10_000);
  const settleMinTicks = BigInt(wholeSetting(env, 'VILO_SETTLE_MIN_TICKS', 1, MAX_MIN_TICKS));
  const chainUrl = env.VILO_CHAIN_URL;
  const deploymentFile = env.VILO_DEPLOYMENT;
  const contracts = deploymentFile
    ? (Object.fromEntries(
        Object.entries((JSON.parse(readFileSync(deploymentFile, 'utf8')) as { contracts: Record<string, { address: string }> }).contracts).map(([k, v]) => [k, v.address]),
      ) as { stream_registry: string; tick_stream: string; payment_handler: string })
    : undefined;

  let inner: (ChainReader & ChainSettler) | undefined;
  let api: ApiPromise | undefined;
  let connected: () => void = () => {};
  const ready = new Promise<void>((r) => (connected = r));
  /** The chain client once connected; waits up to 5 s for the first connection, then fails (closed). */
  const live = async (): Promise<ChainReader & ChainSettler> => {
    if (!inner) {
      if (!chainUrl || !contracts) throw new Error('VILO_CHAIN_URL and VILO_DEPLOYMENT are not set');
      await Promise.race([ready, new Promise((r) => setTimeout(r, 5_000))]);
    }
    if (!inner || !api?.isConnected) throw new Error(`not connected to ${chainUrl}`);
    return inner;
  };
  const reader: ChainReader = {
    tickStream: contracts?.tick_stream ?? '',
    stream: async (id) => (await live()).stream(id),
    session: async (id, v) => (await live()).session(id, v),
    escrow: async (v) => (await live()).escrow(v),
    hasSubscription: async (v, id) => (await live()).hasSubscription(v, id),
  };
  const settler: ChainSettler = {
    settle: async (vs: SignedVoucher[]) => (await live()).settle(vs),
  };

  if (chainUrl && contracts) {
    void (async () => {
      try {
        api = await ApiPromise.create({ provider: new WsProvider(chainUrl), noInitWarn: true });
        const relay = await relayAccount(api, env.VILO_RELAY_SURI);
        inner = contractChain(api, contracts, relay);
        connected();
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
    settleIntervalMs,
    settleMinTicks,
    rateLimit: { perSecond: perSecond || 20, burst: burst || 60 },
    sfu: {
      iceAdditionalHostAddresses: env.VILO_ICE_HOSTS ? env.VILO_ICE_HOSTS.split(',') : undefined,
      icePortRange: ports?.length === 2 ? (ports as [number, number]) : undefined,
    },
    hlsDir: env.VILO_RTMP_PORT ? (id) => rtmp?.streamDir(id) ?? '' : undefined,
    log,
  });
  let rtmp: RtmpIngest | undefined;
  const rtmpStarted = env.VILO_RTMP_PORT
    ? startRtmp({ port: Number(env.VILO_RTMP_PORT), authorize: (key) => server.streamForKey(key), log })
        .then((r) => (rtmp = r))
        .catch((e) => log(`[rtmp] not started: ${(e as Error).message}`))
    : undefined;
  return {
    ...server,
    store,
    close: async () => {
      await rtmpStarted;
      await rtmp?.stop();
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

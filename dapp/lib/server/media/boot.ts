/**
 * Builds the app's one media server from the environment:
 *   VILO_CHAIN_URL, VILO_DEPLOYMENT        the chain and the contracts (as the rest of the server)
 *   VILO_RELAY_DB                          SQLite file (default .vilokanam/relay.sqlite)
 *   VILO_SETTLE_INTERVAL_MS                relay settlement period (default 10000)
 *   VILO_TAB_QUIET_MS                      settle a tab once its vouchers stopped this long (default 60000)
 *   VILO_TAB_MIN_OWED                      settle a tab once it owes this many plancks (default 2.5 × 10^11)
 *   VILO_RATE_MAX_AGE_MS                   oldest read of a stream's rate a new watch is taken at (default 60000; 0: read each time)
 *   VILO_RELAY_SURI                        relay account; //Charlie only on a dev chain
 *   VILO_RATE_LIMIT                        "<requests per second>,<burst>" per client IP (default 20,60)
 *   VILO_ICE_HOSTS                         extra ICE host addresses, comma-separated (e.g. 127.0.0.1)
 *   VILO_ICE_PORTS                         "<min>-<max>" UDP ports for ICE (default: any)
 *   VILO_RTMP_PORT                         RTMP ingest port (nginx + libnginx-mod-rtmp); HLS at /hls/, and on the
 *                                          LiveKit plane into the stream's room too (default: off)
 *   VILO_HLS_EDGE_PORT                     with VILO_RTMP_PORT: nginx also serves the HLS on this port to signed
 *                                          URLs only (hls-edge.ts; default: off)
 *   VILO_HLS_EDGE_SECRET                   the secret the edge checks signatures with (default: a new one each start)
 *   VILO_HLS_EDGE_TTL_S                    how long a signed URL is good for, seconds (default 10)
 *   VILO_HLS_EDGE_URL                      the edge's origin as viewers reach it (default: the page's host, that port)
 *   VILO_THUMBNAIL_EVERY_MS                how often a live stream's thumbnail is taken (default 30000)
 *   VILO_THUMBNAIL_DIR                     where thumbnails are kept (default: thumbs/ beside VILO_RELAY_DB)
 *   VILO_IPFS_API                          a Kubo RPC URL to add and pin each thumbnail to (default: none)
 * The chain connection is made in the background: until it is up, every chain read fails and the
 * gate refuses (fails closed); the server itself starts at once.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { contractChain, type TabChain, type TabSettler } from './chain.ts';
import { EDGE_SECRET } from './hls-edge.ts';
import { LiveKitPlane } from './livekit/plane.ts';
import { RtmpBridges } from './livekit/rtmp-bridge.ts';
import { createMediaServer, type MediaServer } from './server.ts';
import { TAB_MIN_OWED, TAB_QUIET_MS } from './tab-relay.ts';
import { startRtmp, type RtmpIngest } from './rtmp.ts';
import { Store } from './store.ts';
import { THUMBNAIL_EVERY_MS, Thumbnails } from './thumbnails.ts';

export const DEFAULT_RELAY_DB = '.vilokanam/relay.sqlite';
/** A stream's rate and registry entry, for new watches: re-read in the background after this long, ms… */
const QUOTE_FRESH_MS = 5_000;
/** …and awaited afresh only once older than this (a chain that does not answer fails closed then). */
const QUOTE_MAX_AGE_MS = 60_000;

/** Memoizes reads by key: fresh ones as they are, stale ones while a re-read runs, none past `maxAgeMs`
 *  (nor with `fresh`, which reads now and keeps that). */
export function staleWhileRevalidate(freshMs: number, maxAgeMs: number, now = () => Date.now()) {
  const memo = new Map<string, { at: number; value: Promise<unknown>; refreshing?: boolean }>();
  /** `fresh`: read now; `freshMs`: this call takes a read younger than that as it is (default: the cache's). */
  return function read<T>(key: string, fn: () => Promise<T>, o: { fresh?: boolean; freshMs?: number } = {}): Promise<T> {
    const hit = o.fresh ? undefined : memo.get(key);
    const age = hit ? now() - hit.at : Infinity;
    if (hit && age < (o.freshMs ?? freshMs)) return hit.value as Promise<T>;
    if (hit && age < maxAgeMs) {
      if (!hit.refreshing) {
        hit.refreshing = true;
        const next = fn();
        next.then(
          () => memo.set(key, { at: now(), value: next }),
          () => (hit.refreshing = false),
        );
      }
      return hit.value as Promise<T>;
    }
    const value = fn();
    memo.set(key, { at: now(), value });
    value.catch(() => memo.get(key)?.value === value && memo.delete(key));
    if (memo.size > 10_000) memo.clear();
    return value;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A whole-number setting from `min` (1) to `max` from the environment, or its default; else a ConfigError. */
/** VILO_HLS_EDGE_SECRET as nginx can hold it in its configuration, or a new random one. */
export function edgeSecret(raw: string | undefined): string {
  if (!raw) return randomBytes(24).toString('base64url');
  if (!EDGE_SECRET.test(raw)) throw new ConfigError('VILO_HLS_EDGE_SECRET must be 16–128 characters of A–Z, a–z, 0–9, _ or -');
  return raw;
}

export function wholeSetting(env: Record<string, string | undefined>, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

export function bootMediaServer(env: Record<string, string | undefined>, log: (l: string) => void = console.log): MediaServer & { store: Store } {
  const settleIntervalMs = wholeSetting(env, 'VILO_SETTLE_INTERVAL_MS', 10_000);
  const tabQuietMs = wholeSetting(env, 'VILO_TAB_QUIET_MS', TAB_QUIET_MS);
  const tabMinOwed = BigInt(wholeSetting(env, 'VILO_TAB_MIN_OWED', Number(TAB_MIN_OWED)));
  const rateMaxAgeMs = wholeSetting(env, 'VILO_RATE_MAX_AGE_MS', QUOTE_MAX_AGE_MS, Number.MAX_SAFE_INTEGER, 0);
  const chainUrl = env.VILO_CHAIN_URL;
  const deploymentFile = env.VILO_DEPLOYMENT;
  const contracts = deploymentFile
    ? (Object.fromEntries(
        Object.entries((JSON.parse(readFileSync(deploymentFile, 'utf8')) as { contracts: Record<string, { address: string }> }).contracts).map(([k, v]) => [k, v.address]),
      ) as { stream_registry: string; tick_stream: string; payment_handler: string })
    : undefined;

  let inner: ReturnType<typeof contractChain> | undefined;
  let api: ApiPromise | undefined;
  let connected: () => void = () => {};
  const ready = new Promise<void>((r) => (connected = r));
  /** The chain client once connected; waits up to 5 s for the first connection, then fails (closed). */
  const live = async (): Promise<ReturnType<typeof contractChain>> => {
    if (!inner) {
      if (!chainUrl || !contracts) throw new Error('VILO_CHAIN_URL and VILO_DEPLOYMENT are not set');
      await Promise.race([ready, new Promise((r) => setTimeout(r, 5_000))]);
    }
    if (!inner || !api?.isConnected) throw new Error(`not connected to ${chainUrl}`);
    return inner;
  };
  // A new watch's first voucher needs the stream and its rate. Both are served from what was read
  // (re-read in the background once 5 s old, awaited only past 60 s), so a switch costs no chain
  // round trip; a price change reaches new watches at the read after it lands (VILO_RATE_MAX_AGE_MS
  // bounds how old that read may be), and a refusal is made only on a rate read then (the relay).
  const fresh = staleWhileRevalidate(QUOTE_FRESH_MS, QUOTE_MAX_AGE_MS);
  const rates = staleWhileRevalidate(Math.min(QUOTE_FRESH_MS, rateMaxAgeMs), rateMaxAgeMs);
  const tabChain: TabChain = {
    tabScope: async () => (await live()).tabScope(),
    tab: async (id) => (await live()).tab(id),
    quote: (id, now) => rates(`q:${id}`, async () => (await live()).quote(id), { fresh: now }),
    // Read for each second of a subscriber's watch: from what was read, like the rate.
    hasSubscription: (v, id) => fresh(`u:${v}:${id}`, async () => (await live()).hasSubscription(v, id)),
    stream: (id) => fresh(`s:${id}`, async () => (await live()).stream(id)),
    // A viewer looks at a stream on air: keep both reads young enough that a new watch's first
    // voucher is served from them (a read once half their allowed age is gone; with
    // VILO_RATE_MAX_AGE_MS=0 each watch reads its own rate, so none ahead).
    expect: (id) => {
      void fresh(`s:${id}`, async () => (await live()).stream(id), { freshMs: QUOTE_MAX_AGE_MS / 2 }).catch(() => {});
      if (rateMaxAgeMs > 0) void rates(`q:${id}`, async () => (await live()).quote(id), { freshMs: rateMaxAgeMs / 2 }).catch(() => {});
    },
  };
  const tabSettler: TabSettler = {
    get relayAddress() {
      return inner?.relayAddress;
    },
    settleTabs: async (items) => (await live()).settleTabs(items),
  };

  if (chainUrl && contracts) {
    void (async () => {
      try {
        api = await ApiPromise.create({ provider: new WsProvider(chainUrl), noInitWarn: true });
        const relay = await relayAccount(api, env.VILO_RELAY_SURI);
        inner = contractChain(api, contracts, relay);
        // Every voucher is checked against the tab terms (fixed when tick_stream is instantiated):
        // read them now, not on the first viewer's first voucher (a second on a slow chain).
        void inner.tabScope().catch(() => {});
        connected();
        log(`[media] chain ${chainUrl} connected; relay account ${relay?.address ?? '(none: tab vouchers are stored, not settled)'}`);
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
  const thumbnailEveryMs = wholeSetting(env, 'VILO_THUMBNAIL_EVERY_MS', THUMBNAIL_EVERY_MS);
  const thumbnails = new Thumbnails({
    // Beside the relay's database (a test's private one keeps its pictures to itself).
    dir: env.VILO_THUMBNAIL_DIR || join(dirname(env.VILO_RELAY_DB || DEFAULT_RELAY_DB), 'thumbs'),
    everyMs: thumbnailEveryMs,
    ipfsApi: env.VILO_IPFS_API || undefined,
    log,
  });
  const livekit = liveKitFrom(env);
  const hlsEdge =
    env.VILO_RTMP_PORT && env.VILO_HLS_EDGE_PORT
      ? {
          port: wholeSetting(env, 'VILO_HLS_EDGE_PORT', 0, 65_535),
          secret: edgeSecret(env.VILO_HLS_EDGE_SECRET),
          ttlSec: wholeSetting(env, 'VILO_HLS_EDGE_TTL_S', 10),
          publicUrl: env.VILO_HLS_EDGE_URL || undefined,
        }
      : undefined;
  const server = createMediaServer({
    chain: tabChain,
    settler: tabSettler,
    store,
    settleIntervalMs,
    tabPolicy: { quietMs: tabQuietMs, minOwed: tabMinOwed },
    rateLimit: { perSecond: perSecond || 20, burst: burst || 60 },
    sfu: {
      iceAdditionalHostAddresses: env.VILO_ICE_HOSTS ? env.VILO_ICE_HOSTS.split(',') : undefined,
      icePortRange: ports?.length === 2 ? (ports as [number, number]) : undefined,
    },
    hlsDir: env.VILO_RTMP_PORT ? (id) => rtmp?.streamDir(id) ?? '' : undefined,
    hlsEdge,
    thumbnails,
    livekit,
    log,
  });
  let rtmp: RtmpIngest | undefined;
  // On the LiveKit plane an RTMP stream is published into its room too (viewers play it over WebRTC).
  const bridges = livekit && env.VILO_RTMP_PORT ? new RtmpBridges({ plane: livekit.plane, source: (id) => rtmp!.playUrl(id), log }) : undefined;
  const rtmpStarted = env.VILO_RTMP_PORT
    ? startRtmp({
        port: Number(env.VILO_RTMP_PORT),
        authorize: (key) => server.streamForKey(key),
        onPublish: (id) => bridges?.started(id),
        onPublishDone: (id) => bridges?.ended(id),
        edge: hlsEdge,
        log,
      })
        .then((r) => (rtmp = r))
        .catch((e) => log(`[rtmp] not started: ${(e as Error).message}`))
    : undefined;
  // RTMP streams' thumbnails: from the HLS fragments of each stream nginx is writing now.
  const hlsThumbs = env.VILO_RTMP_PORT ? setInterval(() => rtmp && thumbnailsFromHls(rtmp.hlsDir, thumbnails), 2_000) : undefined;
  return {
    ...server,
    store,
    close: async () => {
      clearInterval(hlsThumbs);
      await rtmpStarted;
      await bridges?.stop();
      await rtmp?.stop();
      await server.close();
      store.close();
      await api?.disconnect().catch(() => {});
    },
  };
}

/**
 * The LiveKit plane, when `LIVEKIT_URL` names a server (with `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`;
 * `VILO_LIVEKIT_PUBLIC_URL`: the address browsers reach it at, when not the same).
 */
function liveKitFrom(env: NodeJS.ProcessEnv): { plane: LiveKitPlane; publicUrl?: string } | undefined {
  if (!env.LIVEKIT_URL) return undefined;
  if (!env.LIVEKIT_API_KEY || !env.LIVEKIT_API_SECRET) throw new Error('LIVEKIT_URL is set without LIVEKIT_API_KEY and LIVEKIT_API_SECRET');
  return {
    plane: new LiveKitPlane({ url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET }),
    publicUrl: env.VILO_LIVEKIT_PUBLIC_URL || undefined,
  };
}

/** Hands each stream directory (`s<id>`) whose playlist nginx rewrote in the last 5 s to `thumbnails`. */
function thumbnailsFromHls(hlsDir: string, thumbnails: Thumbnails, now = Date.now()): void {
  let dirs: string[];
  try {
    dirs = readdirSync(hlsDir);
  } catch {
    return; // nothing published yet
  }
  for (const d of dirs) {
    if (!/^s[0-9]{1,20}$/.test(d)) continue;
    try {
      if (now - statSync(join(hlsDir, d, 'index.m3u8')).mtimeMs > 5_000) continue;
    } catch {
      continue;
    }
    thumbnails.onHls(BigInt(d.slice(1)), join(hlsDir, d));
  }
}

async function relayAccount(api: ApiPromise, suri: string | undefined): Promise<KeyringPair | undefined> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: api.registry.chainSS58 ?? 42 });
  if (suri) return keyring.addFromUri(suri);
  const [type, name] = await Promise.all([api.rpc.system.chainType(), api.rpc.system.chain()]);
  const dev = type.isDevelopment || type.isLocal || /local|dev/i.test(name.toString());
  return dev ? keyring.addFromUri('//Charlie') : undefined;
}

/**
 * Starts a LiveKit server (the media plane: docs/media.md) for the project's commands and tests, and
 * stops it when done — as scripts/chain/launch.ts does for the chain.
 *
 * Which server, in order:
 *  1. `LIVEKIT_URL` set (with `LIVEKIT_API_KEY` / `LIVEKIT_API_SECRET`): use that running server;
 *     nothing is started or stopped.
 *  2. The binary tools/setup.sh builds (`$VILO_CACHE/livekit-v1.13.5/bin/livekit-server`, or the one
 *     `LIVEKIT_SERVER` names): run it on free ports of 127.0.0.1, with an API key made for this run,
 *     loopback ICE candidates (everything here stays on this machine) and, when `redisUrl` is given,
 *     as one node of a cluster coordinated through that Redis.
 *
 * As a command: `tsx scripts/media/livekit.ts` starts one, prints its URL and key, and runs until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../chain/launch.ts';

/** The pinned version; tools/setup.sh builds it (LIVEKIT_VERSION there). */
export const LIVEKIT_VERSION = 'v1.13.5';
const READY_TIMEOUT_MS = 30_000;

export interface LiveKit {
  /** The server's HTTP/WebSocket URL (signalling, the Room service, WHIP at `/whip/v1`). */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** The node's id as LiveKit names it (several nodes share one Redis). */
  nodeId: string;
  /** The server's process id (undefined for an external server): benchmarks read its CPU time. */
  pid?: number;
  /** The UDP port every peer's media uses on this node (its ICE candidates name it). */
  udpPort?: number;
  /** The ports it listens on (to start it again in its place: `startLiveKit({ports, keys})`). */
  ports?: { port: number; tcpPort: number; udpPort: number };
  /** Stops the server if this process started it; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Kills the server at once, as a crashed machine would (tests of failover). */
  kill(): Promise<void>;
}

export class LiveKitStartError extends Error {
  override name = 'LiveKitStartError';
}

/** Path of the livekit-server binary setup builds, or throws naming the step that builds it. */
export function findLiveKitServer(env = process.env): string {
  const cache = env.VILO_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vilokanam');
  const path = env.LIVEKIT_SERVER ?? join(cache, `livekit-${LIVEKIT_VERSION}`, 'bin', 'livekit-server');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new LiveKitStartError(
      env.LIVEKIT_SERVER
        ? `LIVEKIT_SERVER=${path} is not an executable file`
        : `${path} is missing: the "LiveKit server" step of \`npm run setup\` builds it (about 4 min)`,
    );
  }
  return path;
}

/** The configuration of one node (LiveKit's YAML; JSON is YAML). */
export function liveKitConfig(o: { port: number; tcpPort: number; udpPort: number; apiKey: string; apiSecret: string; redisUrl?: string; nodeIp?: string; webhookUrl?: string }) {
  const redis = o.redisUrl ? new URL(o.redisUrl) : undefined;
  return {
    port: o.port,
    bind_addresses: [o.nodeIp ?? '127.0.0.1'],
    rtc: {
      tcp_port: o.tcpPort,
      // One UDP port for every peer (a mux): a fixed, small footprint, several nodes side by side.
      udp_port: o.udpPort,
      use_external_ip: false,
      node_ip: o.nodeIp ?? '127.0.0.1',
      enable_loopback_candidate: true,
    },
    keys: { [o.apiKey]: o.apiSecret },
    // Several nodes: a new room goes to the node with the fewest rooms (LiveKit's default is random).
    ...(redis ? { redis: { address: `${redis.hostname}:${redis.port || 6379}` }, node_selector: { kind: 'any', sort_by: 'rooms', algorithm: 'lowest' } } : {}),
    room: { auto_create: true, empty_timeout: 60, departure_timeout: 10 },
    // The control plane checks every participant that joins (routes/livekit-webhook.ts), signed with this key.
    ...(o.webhookUrl ? { webhook: { api_key: o.apiKey, urls: [o.webhookUrl] } } : {}),
    logging: { level: 'warn', json: false },
  };
}

/** Resolves once the server answers HTTP on `url`, or rejects after `timeoutMs`. */
async function waitForHttp(url: string, timeoutMs: number, dead: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const why = dead();
    if (why) throw new LiveKitStartError(`livekit-server exited before it was ready: ${why}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LiveKitStartError(`livekit-server did not answer ${url} within ${timeoutMs} ms (${last})`);
}

/** Starts a LiveKit node (or uses `LIVEKIT_URL`). */
export async function startLiveKit(
  o: {
    redisUrl?: string;
    /** The nodes of one cluster share one key. */
    keys?: { apiKey: string; apiSecret: string };
    /** Listen on these (a node restarted in place of one that stopped); default: free ports. */
    ports?: { port: number; tcpPort: number; udpPort: number };
    /** Where LiveKit posts its webhooks: the app's `/api/livekit/webhook` (the app must be on a known port). */
    webhookUrl?: string;
    env?: NodeJS.ProcessEnv;
    log?: (line: string) => void;
  } = {},
): Promise<LiveKit> {
  const env = o.env ?? process.env;
  if (env.LIVEKIT_URL) {
    if (!env.LIVEKIT_API_KEY || !env.LIVEKIT_API_SECRET) throw new LiveKitStartError('LIVEKIT_URL is set without LIVEKIT_API_KEY and LIVEKIT_API_SECRET');
    return { url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, nodeId: 'external', stop: async () => {}, kill: async () => {} };
  }
  const bin = findLiveKitServer(env);
  const { port, tcpPort, udpPort } = o.ports ?? { port: await freePort(), tcpPort: await freePort(), udpPort: await freePort() };
  const apiKey = o.keys?.apiKey ?? `vilo${randomBytes(6).toString('hex')}`;
  const apiSecret = o.keys?.apiSecret ?? randomBytes(32).toString('base64url');
  const dir = mkdtempSync(join(tmpdir(), 'vilo-livekit-'));
  const config = join(dir, 'livekit.yaml');
  writeFileSync(config, JSON.stringify(liveKitConfig({ port, tcpPort, udpPort, apiKey, apiSecret, redisUrl: o.redisUrl, webhookUrl: o.webhookUrl })), { mode: 0o600 });

  const child: ChildProcess = spawn(bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited: string | undefined;
  let nodeId = '';
  const tail: string[] = [];
  const onLine = (b: Buffer) => {
    for (const line of b.toString().split('\n').filter(Boolean)) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      nodeId ||= /nodeID["=: ]+"?([A-Za-z0-9_]+)/.exec(line)?.[1] ?? '';
      o.log?.(line);
    }
  };
  child.stdout!.on('data', onLine);
  child.stderr!.on('data', onLine);
  const gone = new Promise<void>((r) =>
    child.on('exit', (code, signal) => {
      exited = `${signal ?? `exit ${code}`}; its last lines:\n${tail.join('\n')}`;
      r();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const end = async (signal: NodeJS.Signals) => {
    if (!exited) {
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(url, READY_TIMEOUT_MS, () => exited);
  } catch (e) {
    await end('SIGKILL');
    throw e;
  }
  return { url, apiKey, apiSecret, nodeId: nodeId || `port-${port}`, pid: child.pid, udpPort, ports: { port, tcpPort, udpPort }, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/** A Redis server of its own (Debian's redis-server, installed by setup) on a free port, nothing saved to disk. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited: string | undefined;
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (out += b));
  child.on('error', (e) => (exited = `${e.message} (the "system packages" step of \`npm run setup\` installs redis-server)`));
  const gone = new Promise<void>((r) => child.on('exit', (code) => ((exited ??= `exit ${code}: ${out.slice(-500)}`), r())));
  for (const end = Date.now() + 10_000; !/Ready to accept connections/.test(out); await new Promise((r) => setTimeout(r, 50))) {
    if (exited) throw new LiveKitStartError(`redis-server did not start: ${exited}`);
    if (Date.now() > end) throw new LiveKitStartError(`redis-server did not get ready within 10 s: ${out.slice(-500)}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        await gone;
      }
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // VILO_LIVEKIT_WEBHOOK: the app's /api/livekit/webhook (it removes a viewer who joins unpaid).
  const webhookUrl = process.env.VILO_LIVEKIT_WEBHOOK;
  const lk = await startLiveKit({ redisUrl: process.env.VILO_REDIS_URL, webhookUrl, log: (l) => console.error(l) });
  console.log(`LiveKit ${LIVEKIT_VERSION} at ${lk.url}\nLIVEKIT_API_KEY=${lk.apiKey}\nLIVEKIT_API_SECRET=${lk.apiSecret}`);
  if (!webhookUrl) console.error('No VILO_LIVEKIT_WEBHOOK: the app learns of an unpaid join only from its 10 s sweep (docs/media.md, "LiveKit").');
  const stop = () => void lk.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

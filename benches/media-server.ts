/**
 * The media server alone in its own process, for benches/media.ts: the real SFU, tab gate, tab relay
 * and HTTP handler, with the chain replaced by a stub in which every tab is open and funded, its
 * session key derived from its id (benches/media.ts signs with the same derivation). Chain reads are
 * therefore free here; their cost is in the gas/latency benchmarks. Nothing is settled (no settler).
 * Prints "listening <port>" and serves GET /bench/cpu with process.cpuUsage() (and, on the LiveKit
 * plane, the LiveKit server's CPU time as `plane`, read from /proc).
 * With LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET (and LIVEKIT_PID) set, the media plane is
 * that LiveKit server and this process is its control plane, as in the app.
 *
 * Run by benches/media.ts; not on its own.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2AsHex } from '@polkadot/util-crypto';
import { SessionKey } from '../dapp/lib/protocol/voucher.ts';
import type { TabChain } from '../dapp/lib/server/media/chain.ts';
import { createMediaServer } from '../dapp/lib/server/media/server.ts';
import { LiveKitPlane } from '../dapp/lib/server/media/livekit/plane.ts';
import { readFileSync } from 'node:fs';
import { Store } from '../dapp/lib/server/media/store.ts';

export const BENCH_TICK_STREAM = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';
export const BENCH_GENESIS = `0x${'b3'.repeat(32)}` as const;
export const BENCH_RATE = 1_000_000n;
export const benchTabKey = (tabId: bigint) => SessionKey.fromSeed(blake2AsHex(`bench:tab:${tabId}`) as `0x${string}`);

if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = new Map<bigint, `0x${string}`>();
  const chain: TabChain = {
    tabScope: async () => ({ genesisHash: BENCH_GENESIS, contract: BENCH_TICK_STREAM }),
    tab: async (id) => {
      let k = keys.get(id);
      if (!k) keys.set(id, (k = benchTabKey(id).publicKey));
      return { id, viewer: BENCH_TICK_STREAM, sessionKey: k, relay: BENCH_TICK_STREAM, balance: 10n ** 15n, nextWatch: 0, watches: [], closing: false };
    },
    quote: async () => BENCH_RATE,
    hasSubscription: async () => false,
    stream: async () => ({ creator: BENCH_TICK_STREAM, live: true }),
  };
  const dir = mkdtempSync(join(tmpdir(), 'vilo-bench-'));
  const store = new Store(join(dir, 'relay.sqlite'));
  const e = process.env;
  const livekit = e.LIVEKIT_URL ? { plane: new LiveKitPlane({ url: e.LIVEKIT_URL, apiKey: e.LIVEKIT_API_KEY!, apiSecret: e.LIVEKIT_API_SECRET! }) } : undefined;
  const media = createMediaServer({ chain, store, rateLimit: { perSecond: 10_000, burst: 10_000 }, livekit });
  /** A process's user and system CPU time in µs, from /proc (clock ticks of 10 ms). */
  const procCpu = (pid: string) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { user: Number(f[11]) * 10_000, system: Number(f[12]) * 10_000 };
  };
  store.setKeyHash(1n, (await import('node:crypto')).createHash('sha256').update('bench-key').digest('hex'), 0);
  const server = createServer(async (req, res) => {
    if (req.url === '/bench/cpu') {
      res.end(JSON.stringify({ ...process.cpuUsage(), plane: e.LIVEKIT_PID ? procCpu(e.LIVEKIT_PID) : undefined, at: performance.now() }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.method === 'GET' || req.method === 'DELETE' ? undefined : Buffer.concat(chunks),
    });
    const r = (await media.handle(request, '127.0.0.1')) ?? new Response('not found', { status: 404 });
    res.writeHead(r.status, Object.fromEntries(r.headers));
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    console.log(`listening ${typeof a === 'object' && a ? a.port : 0}`);
  });
  process.on('SIGTERM', async () => {
    await media.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

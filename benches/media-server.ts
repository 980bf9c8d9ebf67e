/**
 * The media server alone in its own process, for benches/media.ts: the real SFU, gate, relay and
 * HTTP handler, with the chain replaced by a stub in which every viewer has an open, funded session
 * whose key is derived from the viewer's address (benches/media.ts signs with the same derivation).
 * Chain reads are therefore free here; their cost is in the gas/latency benchmarks. Prints
 * "listening <port>" and serves GET /bench/cpu with process.cpuUsage().
 *
 * Run by benches/media.ts; not on its own.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake2AsHex } from '@polkadot/util-crypto';
import { SessionKey } from '../dapp/lib/protocol/voucher.ts';
import type { ChainReader } from '../dapp/lib/server/media/chain.ts';
import { createMediaServer } from '../dapp/lib/server/media/server.ts';
import { Store } from '../dapp/lib/server/media/store.ts';

export const BENCH_TICK_STREAM = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';
export const benchKey = (viewer: string) => SessionKey.fromSeed(blake2AsHex(`bench:${viewer}`) as `0x${string}`);

if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = new Map<string, `0x${string}`>();
  const chain: ChainReader = {
    tickStream: BENCH_TICK_STREAM,
    stream: async () => ({ creator: BENCH_TICK_STREAM, live: true }),
    session: async (_id, viewer) => {
      let k = keys.get(viewer);
      if (!k) keys.set(viewer, (k = benchKey(viewer).publicKey));
      return { id: 1n, sessionKey: k, ratePerSecond: 1_000_000n, ticksSettled: 0n };
    },
    escrow: async () => 10n ** 15n,
    hasSubscription: async () => false,
  };
  const dir = mkdtempSync(join(tmpdir(), 'vilo-bench-'));
  const store = new Store(join(dir, 'relay.sqlite'));
  const media = createMediaServer({ chain, store, rateLimit: { perSecond: 10_000, burst: 10_000 } });
  store.setKeyHash(1n, (await import('node:crypto')).createHash('sha256').update('bench-key').digest('hex'), 0);
  const server = createServer(async (req, res) => {
    if (req.url === '/bench/cpu') {
      res.end(JSON.stringify({ ...process.cpuUsage(), at: performance.now() }));
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

/**
 * Chat fan-out: one chat server (the app's ChatHub, its messages stored in PGlite as in `npm run
 * dev`) with 1,000 connected readers of one stream, and senders posting at a steady rate; how many
 * deliveries a second it sustains and how long each message takes to reach a reader (p50 / p99,
 * target p99 < 250 ms on loopback).
 *
 * The readers and senders run in a second Node process (so the server's CPU is its own), on the same
 * two cores. A message's text is the time it was sent (`performance.timeOrigin + now()`, one clock on
 * one machine). Each sender is its own account from its own address, within the per-account limit
 * (1 message a second); who is creator, paying or subscribed is answered from a table here instead of
 * the chain: the app reads those from caches (boot.ts), once per message, not per delivery.
 *
 * Run: npm run bench:chat   (writes the "chat" section of docs/benchmarks.md and chat_fanout_* figures)
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const READERS = Number(process.env.VILO_BENCH_READERS ?? 1_000);
const RATES = (process.env.VILO_BENCH_RATES ?? '20,50,100').split(',').map(Number);
const SECONDS = Number(process.env.VILO_BENCH_SECONDS ?? 10);
const TARGET_P99_MS = 250;
const STREAM = 1;

/** An SS58-shaped account name per sender (the hub checks only its form here). */
const account = (i: number) => `5${'Chat'}${String(i).padStart(6, '0')}${'x'.repeat(37)}`.slice(0, 48);
const now = () => performance.timeOrigin + performance.now();

if (process.argv[2] === '--clients') {
  await clients(Number(process.argv[3]));
} else {
  await main();
}

/** The load: READERS readers, then each rate in turn for SECONDS; prints one JSON line per rate. */
async function clients(port: number): Promise<void> {
  const url = `ws://127.0.0.1:${port}/api/chat/${STREAM}`;
  const latencies: number[] = [];
  let phase = -1;
  const open = (headers: Record<string, string>) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('message', () => resolve(ws)); // hello
      ws.once('error', reject);
    });
  const readers: WebSocket[] = [];
  for (let i = 0; i < READERS; i += 50) {
    readers.push(...(await Promise.all(Array.from({ length: Math.min(50, READERS - i) }, (_, k) => open({ 'x-ip': `10.1.${Math.floor((i + k) / 250)}.${(i + k) % 250}` })))));
  }
  for (const r of readers) {
    r.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; message?: { text: string } };
      if (f.type === 'message' && phase >= 0) latencies.push(now() - Number(f.message!.text));
    });
  }
  for (const [p, rate] of RATES.entries()) {
    const senders = await Promise.all(Array.from({ length: rate }, (_, i) => open({ 'x-account': account(p * 1_000 + i), 'x-ip': `10.2.${p}.${i}` })));
    latencies.length = 0;
    phase = p;
    const refused: string[] = [];
    for (const s of senders) s.on('message', (d) => (JSON.parse(d.toString()) as { type: string }).type === 'refused' && refused.push(d.toString()));
    const t0 = now();
    let sent = 0;
    // Each sender posts once a second, the senders spread evenly over the second.
    await new Promise<void>((done) => {
      const timers = senders.map((s, i) =>
        setTimeout(() => {
          const tick = () => {
            if (now() - t0 > SECONDS * 1000) return;
            s.send(JSON.stringify({ type: 'say', text: String(now()) }));
            sent += 1;
            timers.push(setTimeout(tick, 1_000));
          };
          tick();
        }, (1000 * i) / rate),
      );
      setTimeout(done, SECONDS * 1000 + 2_000);
    });
    phase = -1;
    const sorted = [...latencies].sort((a, b) => a - b);
    const q = (x: number) => sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? NaN;
    const reasons = [...new Set(refused.map((r) => (JSON.parse(r) as { error: string }).error))].join(', ');
    console.log(JSON.stringify({ rate, sent, delivered: sorted.length, expected: sent * READERS, refused: refused.length, reasons, p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1] ?? NaN, seconds: SECONDS }));
    for (const s of senders) s.close();
  }
  for (const r of readers) r.close();
  process.exit(0);
}

async function main(): Promise<void> {
  // First, so that its CPU reference is timed before anything else runs.
  const { writeFigures, writeSection } = await import('./lib.ts');
  const { openDatabase } = await import('../dapp/lib/server/history/db.ts');
  const { ChatHub } = await import('../dapp/lib/server/chat/hub.ts');
  const db = await openDatabase('memory://');
  const hub = new ChatHub(db, 'bench', { creatorOf: async () => null, paying: async () => true, subscribed: async () => false });
  const server = createServer();
  server.on('upgrade', (req, socket, head) =>
    hub.upgrade(req, socket, head, BigInt(STREAM), (req.headers['x-account'] as string | undefined) ?? null, (req.headers['x-ip'] as string) ?? 'local'),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  console.log(`[bench] chat server on ${port}; ${READERS} readers, rates ${RATES.join(', ')} msg/s for ${SECONDS} s each`);

  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--clients', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rows: { rate: number; sent: number; delivered: number; expected: number; refused: number; reasons: string; p50: number; p99: number; max: number; cpu: number }[] = [];
  let cpuMark = process.cpuUsage();
  let wallMark = performance.now();
  let buffered = '';
  child.stdout.on('data', (b: Buffer) => {
    buffered += b.toString();
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl < 0) break;
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const r = JSON.parse(line) as (typeof rows)[number];
      const cpu = process.cpuUsage(cpuMark);
      const wall = performance.now() - wallMark;
      rows.push({ ...r, cpu: (cpu.user + cpu.system) / 1000 / wall });
      console.log(`[bench] ${r.rate} msg/s: ${r.delivered} of ${r.expected} deliveries, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, refused ${r.refused}${r.refused ? ` (${r.reasons})` : ''}`);
      cpuMark = process.cpuUsage();
      wallMark = performance.now();
    }
  });
  await new Promise<void>((r) => child.once('exit', () => r()));
  await hub.close();
  server.close();
  await db.close();
  if (rows.length !== RATES.length) throw new Error('the clients did not report every rate');

  const ok = rows.filter((r) => r.p99 < TARGET_P99_MS && r.delivered === r.expected);
  const best = ok.length ? ok[ok.length - 1] : rows[0];
  writeSection(
    'chat',
    [
      `One chat server (ChatHub, messages in PGlite) fanning one stream's messages out to ${READERS.toLocaleString('en-US')} WebSocket readers on loopback; senders post once a second each, ${SECONDS} s per rate; clients in a second process on the same 2 cores. A rate the server cannot keep up with shows as deliveries missing at the end of its ${SECONDS} s and a p99 of seconds.`,
      '',
      '| messages / s | deliveries / s | delivered | p50 ms | p99 ms | max ms | server CPU (share of one core) | refused |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.rate} | ${Math.round(r.delivered / SECONDS).toLocaleString('en-US')} | ${r.delivered.toLocaleString('en-US')} of ${r.expected.toLocaleString('en-US')} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${(r.cpu * 100).toFixed(0)} % | ${r.refused ? `${r.refused} (${r.reasons})` : 0} |`,
      ),
      '',
      `Highest rate with every message delivered and p99 < ${TARGET_P99_MS} ms: **${ok.length ? `${best.rate} messages/s (${Math.round(best.delivered / SECONDS).toLocaleString('en-US')} deliveries/s), p99 ${best.p99.toFixed(1)} ms` : 'none'}** (target p99 < ${TARGET_P99_MS} ms: ${ok.length ? 'met' : 'missed'}).`,
    ].join('\n'),
  );
  writeFigures([
    { name: 'chat_fanout_p99_ms', value: Number(best.p99.toFixed(1)), unit: 'ms', target: `< ${TARGET_P99_MS} (1,000 readers, ${best.rate} messages/s)`, command: 'npm run bench:chat' },
    { name: 'chat_fanout_p50_ms', value: Number(best.p50.toFixed(1)), unit: 'ms', target: `(1,000 readers, ${best.rate} messages/s)`, command: 'npm run bench:chat' },
    { name: 'chat_fanout_deliveries_per_second', value: Math.round(best.delivered / SECONDS), unit: 'deliveries/s', target: `(1,000 readers; p99 < ${TARGET_P99_MS} ms)`, command: 'npm run bench:chat' },
  ]);
}

/**
 * Media server figures, on loopback, with the server in its own process (benches/media-server.ts:
 * the real SFU, gate and relay; a stub chain in which every viewer is funded):
 * - server CPU at 10, 50, 100 viewers of one 720p H.264 stream at a constant 1.5 Mbps (ffmpeg testsrc2
 *   → werift WHIP publisher, as OBS in CBR), each viewer a werift WHEP client in this process paying
 *   from a tab of its own: the dApp's TabTicker signs a tab voucher a second; viewers per core from a
 *   straight line through those points;
 * - RTP forwarding latency (encoder output → viewer receipt, same clock; glass-to-glass is not
 *   measured here);
 * - time from the WHEP request to the first video packet;
 * - cut-off: time from a viewer's last voucher to the last packet it receives (target ≤ 2 s), and the
 *   video it received beyond the seconds its vouchers paid for (first packet → last packet, less the
 *   count of its last accepted voucher: each voucher pays for the second that follows it).
 *
 * Both media planes in one run, on the same machine, with the same harness: the werift SFU inside the
 * media server, and LiveKit 1.13.5 (scripts/media/livekit.ts) with the media server as its control
 * plane (the encoder publishes through the server's WHIP, which hands the offer to LiveKit; each
 * viewer asks POST /api/streams/1/watch with its voucher and joins LiveKit's WHIP with a receive-only
 * offer and the token it got; the gate revokes subscriptions). On LiveKit the CPU is LiveKit's
 * process (the media engine), the control plane's shown beside it.
 *
 * Run: npm run bench:media [-- --plane werift|livekit]   (writes the "media" section of docs/benchmarks.md)
 */
import { liveKitWhipHeaders } from '../dapp/lib/media/errors.ts';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { TabTicker } from '../dapp/lib/media/tab-ticker.ts';
import { tabWhepHeaders } from '../dapp/lib/media/tab-wire.ts';
import { encoderPublisher, rtpViewer, type RtpViewer } from '../tests/browser/media-clients.ts';
import { startLiveKit } from '../scripts/media/livekit.ts';
import { fmt, writeSection, writeFigures } from './lib.ts';
import { BENCH_GENESIS, BENCH_RATE, BENCH_TICK_STREAM, benchTabKey } from './media-server.ts';

const COUNTS = [10, 50, 100];
const MEASURE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

type Plane = 'werift' | 'livekit';
const planeArg = process.argv.indexOf('--plane');
const PLANES: Plane[] = planeArg > 0 ? [process.argv[planeArg + 1] as Plane] : ['werift', 'livekit'];
if (PLANES.some((p) => p !== 'werift' && p !== 'livekit')) throw new Error('--plane takes werift or livekit');

interface PlaneResult {
  plane: Plane;
  rows: string[];
  points: [number, number][];
  controlPoints: [number, number][];
  /** Null when fewer than two rows received the full rate (no line to fit). */
  perCore: number | null;
  fit: { base: number; perViewer: number } | null;
  forwardMs: number[];
  firsts: number[];
  cutoffs: number[];
  /** Per cut-off viewer: ms of video received beyond the seconds signed (negative: paid for more than received). */
  unpaid: number[];
}

await cryptoWaitReady();

async function runPlane(plane: Plane): Promise<PlaneResult> {
  const lk = plane === 'livekit' ? await startLiveKit() : undefined;
  const server = spawn('tsx', ['benches/media-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...(lk && { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret, LIVEKIT_PID: String(lk.pid) }) },
  });
  const port = await new Promise<number>((resolve) => {
    createInterface({ input: server.stdout! }).on('line', (l) => {
      const m = /^listening (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  type Cpu = { user: number; system: number };
  const cpu = async () => (await (await fetch(`${base}/bench/cpu`)).json()) as Cpu & { plane?: Cpu; at: number };
  console.log(`[bench] ${plane}: media server at ${base}${lk ? `, LiveKit at ${lk.url}` : ''}`);

  // RTP forwarding latency: encoder output → a viewer, keyed by the payload's first bytes.
  const sentAt = new Map<string, number>();
  const forwardMs: number[] = [];
  /** Latency is sampled only in the 10-viewer window, where the viewers' own process is not saturated. */
  let sampling = false;
  const keyOf = (payload: Buffer) => `${payload.length}:${payload.subarray(0, 24).toString('hex')}`;
  const pub = await encoderPublisher({
    baseUrl: base,
    streamId: 1n,
    streamKey: 'bench-key',
    codec: 'h264',
    size: '1280x720',
    bitrate: '1500k',
    onPacket: (buf) => {
      sentAt.set(keyOf(buf.subarray(12)), performance.now());
      if (sentAt.size > 5_000) sentAt.delete(sentAt.keys().next().value!);
    },
  });
  // Viewers come once the server says the stream is live (on LiveKit: its room has the publisher's track).
  for (const end = Date.now() + 20_000; ; await sleep(200)) {
    const { state } = (await (await fetch(`${base}/api/streams/1/media`)).json()) as { state: string };
    if (state === 'live') break;
    if (Date.now() > end) throw new Error(`${plane}: the stream is not live 20 s after publishing`);
  }
  await sleep(1_000);

  interface Watcher {
    ticker: TabTicker;
    view: RtpViewer;
    firstPacketMs: number;
    /** Wall-clock ms of the first video packet. */
    firstAt: () => number;
    /** Wall-clock ms of the last voucher the server accepted. */
    lastAcceptedAt: () => number;
  }
  const watchers: Watcher[] = [];

  /** Asks for video as the plane wants: a WHEP offer, or a LiveKit token and LiveKit's WHIP (receive-only). */
  async function view(headers: Record<string, string>, onRtp: (rtp: { payload: Buffer }) => void): Promise<RtpViewer> {
    if (plane === 'werift') return rtpViewer({ baseUrl: base, streamId: 1n, headers, onRtp });
    const res = await fetch(`${base}/api/streams/1/watch`, { method: 'POST', headers });
    const g = (await res.json()) as { url: string; token: string; publisher: string; tracks: string[]; message?: string };
    if (res.status !== 201) return { pc: undefined!, status: res.status, error: g.message, received: () => ({ packets: 0, bytes: 0, lastAt: 0 }), stop: async () => {} };
    return rtpViewer({
      baseUrl: g.url,
      streamId: 1n,
      url: `${g.url}/whip/v1`,
      headers: liveKitWhipHeaders(g),
      onRtp,
    });
  }

  async function addViewer(i: number, measureLatency: boolean): Promise<Watcher> {
    const tabId = BigInt(i + 1);
    let lastAccepted = 0;
    const ticker = new TabTicker({
      scope: { genesisHash: BENCH_GENESIS, contract: BENCH_TICK_STREAM, tabId },
      key: benchTabKey(tabId),
      baseUrl: base,
      onTick: (e) => {
        if (e.accepted) lastAccepted = Date.now();
      },
    });
    ticker.startWatch(0, 1n, BENCH_RATE);
    while (!ticker.latest()) await sleep(20);
    let t0 = performance.now();
    let first = 0;
    let firstAt = 0;
    const connect = () =>
      view(tabWhepHeaders({ tabId, watch: 0, voucher: ticker.latest()! }), (rtp) => {
        if (!first) {
          first = performance.now();
          firstAt = Date.now();
        }
        if (measureLatency && sampling) {
          const s = sentAt.get(keyOf(rtp.payload));
          if (s !== undefined) forwardMs.push(performance.now() - s);
        }
      });
    let v = await connect();
    // On a saturated machine a voucher can arrive late (the gate then refuses: 402); try twice more.
    for (let attempt = 0; v.status === 402 && attempt < 2; attempt++) {
      await sleep(1_000);
      t0 = performance.now();
      v = await connect();
    }
    if (v.status !== 201) throw new Error(`viewer ${i} refused: ${v.status} ${v.error}`);
    while (!first && performance.now() - t0 < 10_000) await sleep(5);
    return { ticker, view: v, firstPacketMs: first - t0, firstAt: () => firstAt, lastAcceptedAt: () => lastAccepted };
  }

  const rows: string[] = [];
  /** (viewers, media-plane CPU % of a core), and the control plane's, for each count reached. */
  const points: [number, number][] = [];
  const controlPoints: [number, number][] = [];
  const cutoffs: number[] = [];
  const unpaid: number[] = [];

  /** Cut-off at 10 viewers: 5 more viewers join, then one by one their vouchers stop. */
  async function measureCutoffs() {
    for (let k = 0; k < 5; k++) {
      const w = await addViewer(1_000 + k, false);
      await sleep(2_000);
      w.ticker.stop();
      // The last voucher may still be in flight: the cut-off runs from the last one accepted.
      await sleep(300);
      const stoppedAt = w.lastAcceptedAt();
      const t0 = Date.now();
      while (Date.now() - w.view.received().lastAt < 1_000 && Date.now() - t0 < 10_000) await sleep(20);
      const { lastAt } = w.view.received();
      cutoffs.push(lastAt - stoppedAt);
      unpaid.push(lastAt - w.firstAt() - Number(w.ticker.latest()!.claims[0].ticks) * 1_000);
      await w.view.stop();
    }
  }

  try {
    for (const n of COUNTS) {
      try {
        while (watchers.length < n) watchers.push(await addViewer(watchers.length, watchers.length === 0));
      } catch (e) {
        console.log(`[bench] ${plane}: stopped at ${watchers.length} viewers: ${(e as Error).message}`);
        rows.push(`| ${n} | not reached: viewer ${watchers.length + 1} was refused (${(e as Error).message.slice(0, 80)}…) — the viewers' process saturated the machine | | | | |`);
        break;
      }
      await sleep(4_000);
      const bytes0 = watchers.reduce((s, w) => s + w.view.received().bytes, 0);
      const in0 = pub.bytes();
      const c0 = await cpu();
      sampling = n === COUNTS[0];
      await sleep(MEASURE_MS);
      sampling = false;
      const c1 = await cpu();
      const bytes1 = watchers.reduce((s, w) => s + w.view.received().bytes, 0);
      const inMbps = ((pub.bytes() - in0) * 8) / (MEASURE_MS / 1000) / 1e6;
      const share = (a: Cpu, b: Cpu) => ((b.user - a.user + b.system - a.system) / 1000 / (c1.at - c0.at)) * 100;
      const control = share(c0, c1);
      const core = c0.plane && c1.plane ? share(c0.plane, c1.plane) : control;
      const perViewerMbps = ((bytes1 - bytes0) * 8) / (MEASURE_MS / 1000) / n / 1e6;
      console.log(`[bench] ${plane}, ${n} viewers: media CPU ${core.toFixed(0)} % of a core (control plane ${control.toFixed(0)} %); published ${inMbps.toFixed(2)} Mbit/s, ${perViewerMbps.toFixed(2)} Mbit/s per viewer received`);
      rows.push(`| ${n} | ${core.toFixed(0)} % | ${plane === 'livekit' ? `${control.toFixed(0)} %` : '(same process)'} | ${inMbps.toFixed(2)} | ${perViewerMbps.toFixed(2)} | ${(perViewerMbps * n).toFixed(0)} |`);
      // A row where the viewers got less than 95 % of the encoder's rate is bound by the machine (the
      // viewers' process and ffmpeg share its two cores): shown, but left out of the fit.
      if (perViewerMbps >= 0.95 * 1.5) points.push([n, core]);
      else rows[rows.length - 1] += ' (machine-bound: not in the fit)';
      controlPoints.push([n, control]);
      if (n === COUNTS[0]) await measureCutoffs();
    }
    // Least squares: CPU = base + perViewer × n; one core serves (100 − base) / perViewer viewers.
    // A line needs two rows at the full rate; with fewer the run says so instead of a figure.
    if (points.length < 2) {
      console.log(`[bench] ${plane} fit: only ${points.length} row(s) at the full rate, no figure`);
      return { plane, rows, points, controlPoints, perCore: null, fit: null, forwardMs, firsts: watchers.slice(0, 10).map((w) => w.firstPacketMs), cutoffs, unpaid };
    }
    const mean = (f: (p: [number, number]) => number) => points.reduce((a, p) => a + f(p), 0) / points.length;
    const mx = mean((p) => p[0]);
    const my = mean((p) => p[1]);
    const perViewer = mean((p) => (p[0] - mx) * (p[1] - my)) / mean((p) => (p[0] - mx) ** 2);
    const fitBase = my - perViewer * mx;
    const perCore = Math.floor((100 - fitBase) / perViewer);
    console.log(`[bench] ${plane} fit: ${fitBase.toFixed(1)} % + ${perViewer.toFixed(3)} % per viewer → ${perCore} viewers per core`);
    return { plane, rows, points, controlPoints, perCore, fit: { base: fitBase, perViewer }, forwardMs, firsts: watchers.slice(0, 10).map((w) => w.firstPacketMs), cutoffs, unpaid };
  } finally {
    for (const w of watchers) {
      w.ticker.stop();
      await w.view.stop().catch(() => {});
    }
    await pub.stop();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await lk?.stop();
  }
}

const results: PlaneResult[] = [];
for (const p of PLANES) results.push(await runPlane(p));

const NAMES: Record<Plane, string> = { werift: 'werift 0.25.2 SFU (inside the media server)', livekit: 'LiveKit 1.13.5 (the media server as its control plane)' };
const section = (r: PlaneResult) => `
### ${NAMES[r.plane]}

| viewers | media plane CPU (share of one core) | control plane CPU | published (Mbit/s payload) | received per viewer (Mbit/s payload) | forwarded total (Mbit/s) |
| ---: | ---: | ---: | ---: | ---: | ---: |
${r.rows.join('\n')}

${
  r.fit && r.perCore !== null
    ? `**Viewers one core can serve at 720p / 1.5 Mbit/s: ${r.perCore}.** A straight line through the rows above
that received the full rate (${r.points.map((p) => p[0]).join(', ')} viewers): ${r.fit.base.toFixed(1)} % of a core plus ${r.fit.perViewer.toFixed(2)} % per viewer.`
    : `**No viewers-per-core figure from this run:** fewer than two rows received the full rate (the machine, not the
server, bound the viewers); run it again on a quiet machine.`
}

| latency | median | p95 | target |
| --- | ---: | ---: | --- |
| RTP forwarding at 10 viewers, encoder output → viewer receipt (${fmt(r.forwardMs.length)} packets) | ${median(r.forwardMs).toFixed(1)} ms | ${pct(r.forwardMs, 0.95).toFixed(1)} ms | sub-second on a LAN (WebRTC anchors 0.5–3 s) |
| ${r.plane === 'werift' ? 'WHEP request' : 'watch request (token) + LiveKit WHIP'} → first video packet (first 10 viewers) | ${median(r.firsts).toFixed(0)} ms | ${Math.max(...r.firsts).toFixed(0)} ms (max) | — |
| cut-off at 10 viewers: last accepted voucher → last packet received (5 viewers) | ${median(r.cutoffs).toFixed(0)} ms | ${Math.max(...r.cutoffs).toFixed(0)} ms (max) | ≤ 2 s (issue 11: ≤ 1 s) |
| the same viewers: video received beyond the seconds they signed (first → last packet, less the last accepted count) | ${median(r.unpaid).toFixed(0)} ms | ${Math.max(...r.unpaid).toFixed(0)} ms (max) | ≤ 1 s |
`;
const w = results.find((r) => r.plane === 'werift');
const l = results.find((r) => r.plane === 'livekit');
const md = `
One 1280×720 H.264 stream at a constant 1.5 Mbit/s (ffmpeg \`testsrc2\`, x264 in CBR with filler, as
OBS sends by default) published over the media server's WHIP by a werift client; N werift viewers in
the bench process, each paying from a tab of its own: signing and posting a tab voucher every second
(the tab gate and the tab relay's signature checks run for every one of them). The media server runs
alone in its own process (\`benches/media-server.ts\`) with the chain replaced by a stub in which every
tab is open and funded, so chain reads cost nothing here. CPU is user + system time over
${MEASURE_MS / 1000} s, as a share of one core: on werift, the media server's process; on LiveKit, the
LiveKit server's (the control plane — vouchers, gate, tokens — beside it). The machine has 2 cores,
shared with the viewers' process and ffmpeg: rows past ~50 viewers are bound by the viewers, not the server.
${results.map(section).join('')}${
  w?.perCore && l?.perCore
    ? `
**LiveKit against werift, same run: ${l.perCore} against ${w.perCore} viewers per core (${(l.perCore / w.perCore).toFixed(1)}×; target ≥ 2× and ≥ 200).**
`
    : ''
}
The forwarding figure is RTP-level, both ends on one clock; glass-to-glass through a browser is in
the latency section. The cut-off's design bound is 1.5 s freshness + 0.25 s gate period (+ LiveKit's
removal, ≈ 0.1–0.2 s). Of it, the first second is paid for: a voucher signs the second that follows it
(the page signs 1 as it starts a watch), so nothing can cut sooner than a second after the last voucher
without withholding a second the viewer signed; what the gate gives away is the rest, the "beyond the
seconds they signed" row (it can be negative: the first second is signed before its video arrives).
`;
writeSection('media', md);
if (l) {
  writeFigures([
    ...(l.perCore === null ? [] : [{ name: 'viewers_per_core', value: l.perCore, unit: 'viewers per core (LiveKit, 720p 1.5 Mbit/s)', target: `≥ 200 and ≥ 2× werift (${w?.perCore ?? 'see docs/benchmarks.md'})`, command: 'npm run bench:media' }]),
    { name: 'cutoff_ms_median', value: Math.round(median(l.cutoffs)), unit: 'ms (LiveKit: last accepted voucher → last packet)', target: '≤ 1000', command: 'npm run bench:media' },
    { name: 'unpaid_after_cutoff_ms_median', value: Math.round(median(l.unpaid)), unit: 'ms of video received beyond the seconds signed (LiveKit, viewers whose vouchers stopped)', target: '≤ 1000', command: 'npm run bench:media' },
  ]);
}
if (w?.perCore) writeFigures([{ name: 'viewers_per_core_werift', value: w.perCore, unit: 'viewers per core (werift SFU, 720p 1.5 Mbit/s)', target: 'reference for LiveKit', command: 'npm run bench:media -- --plane werift' }]);
process.exit(0);

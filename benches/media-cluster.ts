/**
 * Two LiveKit nodes through one Redis, on this machine (issue 11's "two-node run"): two 720p H.264
 * streams at a constant 1.5 Mbit/s, published through node 0 (the second room is placed on node 1:
 * the fewest rooms), and N werift viewers of each joining through the node that does NOT hold their
 * stream (Redis routes them to the one that does). Measured at 25 and 50 viewers a stream: each
 * node's CPU (from /proc) as a share of one core, what the viewers receive, and request → first video
 * packet for a viewer routed across nodes. Tokens are minted here with the cluster's key, as the
 * control plane mints them (its own cost is in `npm run bench:media`).
 *
 * Run: npm run bench:media-cluster   (writes the "media-cluster" section of docs/benchmarks.md)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { liveKitWhipHeaders } from '../dapp/lib/media/errors.ts';
import { LiveKitPlane, PUBLISHER_IDENTITY } from '../dapp/lib/server/media/livekit/plane.ts';
import { startLiveKit, startRedis, type LiveKit } from '../scripts/media/livekit.ts';
import { encoderPublisher, rtpViewer, type EncoderPublisher, type RtpViewer } from '../tests/browser/media-clients.ts';
import { writeFigures, writeSection } from './lib.ts';

const PER_STREAM = [25, 50];
const MEASURE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** A process's user + system CPU time in ms, from /proc (clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

const redis = await startRedis();
const keys = { apiKey: `vilo${randomBytes(6).toString('hex')}`, apiSecret: randomBytes(32).toString('base64url') };
const nodes: LiveKit[] = [await startLiveKit({ redisUrl: redis.url, keys }), await startLiveKit({ redisUrl: redis.url, keys })];
const nodeOf = (sdp: string) => nodes.findIndex((n) => new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${n.udpPort} `).test(sdp));
const publishers: EncoderPublisher[] = [];
const viewers: { stream: number; v: RtpViewer }[] = [];
const firsts: number[] = [];
try {
  const home: number[] = [];
  for (const id of [1n, 2n]) {
    const pub = await encoderPublisher({ baseUrl: nodes[0].url, streamId: id, streamKey: await new LiveKitPlane(nodes[0]).publisherToken(id), whipUrl: `${nodes[0].url}/whip/v1`, size: '1280x720', bitrate: '1500k' });
    publishers.push(pub);
    home.push(nodeOf(pub.pc.remoteDescription!.sdp));
    console.log(`[bench] stream ${id}: its room is on node ${home.at(-1)}`);
    // The nodes report their room counts every few seconds: the second room goes to the other node once the first is counted.
    if (id === 1n) await sleep(6_000);
  }
  if (home[0] === home[1]) throw new Error(`both rooms were placed on node ${home[0]}: the cluster did not spread them`);

  const rows: string[] = [];
  const points: [number, number][] = [];
  let tab = 0n;
  for (const n of PER_STREAM) {
    while (viewers.length < 2 * n) {
      const stream = viewers.length % 2;
      const id = BigInt(stream + 1);
      const via = 1 - home[stream];
      const plane = new LiveKitPlane(nodes[via]);
      const tracks = await plane.publisherTracks(id);
      let first = 0;
      const t0 = performance.now();
      const v = await rtpViewer({
        baseUrl: nodes[via].url,
        streamId: id,
        url: `${nodes[via].url}/whip/v1`,
        headers: liveKitWhipHeaders({ token: await plane.viewerToken(id, ++tab, 0, 3_600), publisher: PUBLISHER_IDENTITY, tracks }),
        onRtp: () => (first ||= performance.now()),
      });
      if (v.status !== 201) throw new Error(`viewer ${viewers.length} refused: ${v.status} ${v.error}`);
      while (!first && performance.now() - t0 < 10_000) await sleep(5);
      if (firsts.length < 20) firsts.push(first - t0);
      viewers.push({ stream, v });
    }
    await sleep(4_000);
    const c0 = nodes.map((x) => cpuMs(x.pid!));
    const b0 = viewers.reduce((s, x) => s + x.v.received().bytes, 0);
    const t0 = performance.now();
    await sleep(MEASURE_MS);
    const wall = performance.now() - t0;
    const shares = nodes.map((x, i) => ((cpuMs(x.pid!) - c0[i]) / wall) * 100);
    const perViewer = ((viewers.reduce((s, x) => s + x.v.received().bytes, 0) - b0) * 8) / (wall / 1000) / viewers.length / 1e6;
    const total = shares[0] + shares[1];
    console.log(`[bench] ${n} viewers a stream: node CPU ${shares.map((s) => s.toFixed(0)).join(' % / ')} %, ${perViewer.toFixed(2)} Mbit/s per viewer`);
    rows.push(`| ${n} × 2 | ${shares[0].toFixed(0)} % | ${shares[1].toFixed(0)} % | ${total.toFixed(0)} % | ${perViewer.toFixed(2)} |`);
    if (perViewer >= 0.95 * 1.5) points.push([2 * n, total]);
  }
  // Two points: a straight line through them (the nodes' idle cost as its base).
  const [[x1, y1], [x2, y2]] = points.length === 2 ? points : [[0, 0], [0, 0]];
  const slope = points.length === 2 ? (y2 - y1) / (x2 - x1) : NaN;
  const perCore = Math.floor((100 - (y1 - slope * x1)) / slope);
  const firstMs = median(firsts);
  writeSection(
    'media-cluster',
    `
Two LiveKit 1.13.5 nodes and one Redis on this machine (\`npm run bench:media-cluster\`): two streams
of 720p H.264 at a constant 1.5 Mbit/s, one room on each node (placed by the cluster: fewest rooms);
each viewer (werift, in the bench's process) joins through the node that does not hold its stream.

| viewers | node 0 CPU | node 1 CPU | both | Mbit/s per viewer received |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Viewers per core across both nodes (a line through the rows where viewers got ≥ 95 % of the rate):
**${Number.isFinite(perCore) ? perCore : 'not measured (a row was machine-bound)'}**; one node alone: the "media" section. A viewer routed across nodes gets
its first video packet **${firstMs.toFixed(0)} ms** (median of ${firsts.length}) after its WHIP request. The
two nodes share the machine's two cores with the encoders and the viewers, so this shows the
cluster's overhead and placement, not what two machines would serve.
`,
  );
  writeFigures([
    { name: 'two_node_viewers_per_core', value: perCore, unit: 'viewers per core (2 LiveKit nodes, 2 streams)', target: '≥ 200 (issue 11: as one node)', command: 'npm run bench:media-cluster' },
    { name: 'two_node_first_packet_ms_median', value: Math.round(firstMs), unit: 'ms (viewer routed across nodes)', target: '—', command: 'npm run bench:media-cluster' },
  ]);
} finally {
  for (const x of viewers) await x.v.stop().catch(() => {});
  for (const p of publishers) await p.stop().catch(() => {});
  for (const n of nodes) await n.stop();
  await redis.stop();
}
process.exit(0);

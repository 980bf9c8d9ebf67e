/**
 * Two LiveKit nodes and one Redis on this machine (separate ports; scripts/media/livekit.ts): rooms —
 * streams — are placed on either node, a viewer joining through either node's address is routed to
 * the node that holds its stream's room, and when a node is killed mid-stream its viewers lose that
 * stream's media; once its publisher publishes again (to the surviving node) they join again and
 * receive, while the other node's viewers never notice.
 */
import { liveKitWhipHeaders } from '../../../media/errors.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startLiveKit, startRedis, type LiveKit } from '../../../../../scripts/media/livekit.ts';
import { encoderPublisher, rtpViewer, type EncoderPublisher, type RtpViewer } from '../../../../../tests/browser/media-clients.ts';
import { LiveKitPlane, PUBLISHER_IDENTITY } from './plane.ts';

let redis: Awaited<ReturnType<typeof startRedis>>;
const nodes: LiveKit[] = [];
const publishers: EncoderPublisher[] = [];
const viewers: RtpViewer[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const keys = { apiKey: `vilo${randomBytes(6).toString('hex')}`, apiSecret: randomBytes(32).toString('base64url') };
  nodes.push(await startLiveKit({ redisUrl: redis.url, keys }));
  nodes.push(await startLiveKit({ redisUrl: redis.url, keys }));
}, 60_000);

afterAll(async () => {
  for (const v of viewers) await v.stop().catch(() => {});
  for (const p of publishers) await p.stop().catch(() => {});
  for (const n of nodes) await n.stop();
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => Promise<boolean> | boolean, ms: number, what: string) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await f()) return;
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The node whose media port an SDP answer's candidates name. */
const nodeOf = (sdp: string) => nodes.findIndex((n) => new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${n.udpPort} `).test(sdp));

/** Publishes stream `id` through node `via`'s WHIP; resolves with the node that holds its room. */
async function publish(id: bigint, via: number): Promise<{ pub: EncoderPublisher; node: number }> {
  const plane = new LiveKitPlane(nodes[via]);
  let answer = '';
  const pub = await encoderPublisher({ baseUrl: nodes[via].url, streamId: id, streamKey: await plane.publisherToken(id), whipUrl: `${nodes[via].url}/whip/v1`, size: '320x180', bitrate: '200k' });
  answer = pub.pc.remoteDescription!.sdp;
  publishers.push(pub);
  return { pub, node: nodeOf(answer) };
}

/** A viewer of stream `id` joining through node `via`; resolves with it and the node its media comes from. */
async function watch(id: bigint, via: number, tab: bigint): Promise<{ v: RtpViewer; node: number }> {
  const plane = new LiveKitPlane(nodes[via]);
  let tracks: string[] = [];
  await until(async () => (tracks = await new LiveKitPlane(nodes[via]).publisherTracks(id)).length > 0, 15_000, `stream ${id}'s tracks through node ${via}`);
  const v = await rtpViewer({
    baseUrl: nodes[via].url,
    streamId: id,
    url: `${nodes[via].url}/whip/v1`,
    headers: liveKitWhipHeaders({ token: await plane.viewerToken(id, tab, 0), publisher: PUBLISHER_IDENTITY, tracks }),
  });
  expect(v.status, v.error).toBe(201);
  viewers.push(v);
  await until(() => v.received().packets > 10, 15_000, `video of stream ${id} through node ${via}`);
  return { v, node: nodeOf(v.pc.remoteDescription!.sdp) };
}

const flowing = async (v: RtpViewer, ms = 1_500) => {
  const before = v.received().packets;
  await sleep(ms);
  return v.received().packets - before;
};

describe('two LiveKit nodes through one Redis', { timeout: 120_000 }, () => {
  it('places streams on either node, routes a viewer to its stream’s node, and survives the loss of a node', async () => {
    // New rooms go to the node with the fewest (node_selector sort_by: rooms); the nodes report their
    // load every few seconds, so the second stream is published once the first one is counted.
    const a = await publish(1n, 0);
    await sleep(6_000);
    const b = await publish(2n, 0);
    expect([a.node, b.node].sort()).toEqual([0, 1]);

    // Each viewer joins through the node that does NOT hold its stream: Redis routes it to the one that does.
    const va = await watch(1n, 1 - a.node, 1n);
    const vb = await watch(2n, 1 - b.node, 2n);
    expect([va.node, vb.node]).toEqual([a.node, b.node]);

    // Node of stream 1 dies mid-stream.
    const dead = a.node;
    const survivor = 1 - dead;
    await nodes[dead].kill();
    await sleep(2_000);
    expect(await flowing(va.v)).toBe(0); // stream 1's viewer has lost its media
    expect(await flowing(vb.v)).toBeGreaterThan(20); // stream 2, on the survivor, plays on

    // Stream 1's encoder publishes again through the survivor; its viewer joins again and receives.
    await a.pub.stop();
    const again = await publish(1n, survivor);
    expect(again.node).toBe(survivor);
    const va2 = await watch(1n, survivor, 1n);
    expect(va2.node).toBe(survivor);
    expect(await flowing(va2.v)).toBeGreaterThan(20);
    expect(await flowing(vb.v)).toBeGreaterThan(20);
  });
});

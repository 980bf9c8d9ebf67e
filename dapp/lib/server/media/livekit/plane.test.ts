/**
 * The LiveKit control plane against a real livekit-server (scripts/media/livekit.ts starts one; no
 * chain): tokens admit only what they name, and LiveKitGate keeps a room equal to the gate's answers —
 * a watch the gate closes is removed and its media stops; one it keeps open is confirmed and keeps
 * its media; a token minted for a watch that never joins is forgotten.
 */
import { liveKitWhipHeaders } from '../../../media/errors.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveKit, type LiveKit } from '../../../../../scripts/media/livekit.ts';
import { encoderPublisher, rtpViewer, type EncoderPublisher } from '../../../../../tests/browser/media-clients.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Thumbnails } from '../thumbnails.ts';
import { LiveKitGate, LiveKitPlane, LiveRooms, PUBLISHER_IDENTITY, roomOf } from './plane.ts';
import { LiveKitThumbnailer } from './thumbnailer.ts';

let lk: LiveKit;
let plane: LiveKitPlane;
let publisher: EncoderPublisher;
const STREAM = 7n;

beforeAll(async () => {
  lk = await startLiveKit();
  plane = new LiveKitPlane(lk);
  publisher = await encoderPublisher({ baseUrl: lk.url, streamId: STREAM, streamKey: await plane.publisherToken(STREAM), whipUrl: `${lk.url}/whip/v1`, size: '320x180', bitrate: '300k' });
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await lk?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => Promise<boolean> | boolean, ms: number, what: string) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await f()) return;
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function viewer(tabId: bigint, watch: number, owner?: string) {
  const tracks = await until(async () => (await plane.publisherTracks(STREAM)).length > 0, 10_000, 'the publisher’s tracks').then(() => plane.publisherTracks(STREAM));
  const token = await plane.viewerToken(STREAM, tabId, watch, undefined, owner);
  const v = await rtpViewer({
    baseUrl: lk.url,
    streamId: STREAM,
    url: `${lk.url}/whip/v1`,
    headers: liveKitWhipHeaders({ token, publisher: PUBLISHER_IDENTITY, tracks }),
  });
  expect(v.status, v.error).toBe(201);
  await until(() => v.received().packets > 10, 10_000, `video to tab ${tabId}`);
  return v;
}

describe('the LiveKit control plane', { timeout: 30_000 }, () => {
  it('the rooms say which streams are live', async () => {
    const rooms = new LiveRooms(plane);
    await until(async () => (await rooms.poll(), rooms.isLive(STREAM)), 10_000, 'the room to have its publisher');
    expect(await rooms.isLive(STREAM + 1n)).toBe(false);
  });

  it('removes a watch the gate closes (its media stops), keeps one it leaves open, forgets one that never joins', async () => {
    const open = new Map<string, boolean>([['1:0', true], ['2:0', true], ['3:0', true]]);
    const gate = new LiveKitGate(plane, (tab, watch) => ({ open: open.get(`${tab}:${watch}`) ?? false }), { forgetAfterMs: 1_000 });
    const paying = await viewer(1n, 0);
    const stopping = await viewer(2n, 0);
    gate.follow(STREAM, 1n, 0);
    gate.follow(STREAM, 2n, 0);
    gate.follow(STREAM, 3n, 0); // a token was minted, but this watch never joins
    await gate.round();
    expect(gate.granted(STREAM).map((w) => w.tabId).sort()).toEqual([1n, 2n]);

    open.set('2:0', false);
    const cutAt = Date.now();
    await gate.round();
    expect(gate.sent.filter(([, granted]) => !granted).map(([id]) => id)).toEqual(['tab:2:0']);
    await sleep(1_500);
    expect(stopping.received().lastAt - cutAt).toBeLessThan(1_000);
    const before = paying.received().packets;
    await sleep(1_000);
    expect(paying.received().packets).toBeGreaterThan(before); // the other viewer keeps its video
    const ids = (await plane.rooms.listParticipants(roomOf(STREAM))).map((p) => p.identity);
    expect(ids).toContain('tab:1:0');
    expect(ids).not.toContain('tab:2:0');

    await sleep(1_000); // past forgetAfterMs: the watch that never joined is dropped
    await gate.round();
    expect(gate.granted(STREAM).map((w) => w.tabId)).toEqual([1n]);
    await gate.round();
    await paying.stop();
    await stopping.stop();
  });

  it('the sweep removes a viewer in the room whose watch is unpaid, followed or not; the publisher, a paying watch and another control plane’s viewer stay', async () => {
    const open = new Map<string, boolean>([['4:0', true], ['5:0', false], ['7:0', true]]);
    const gate = new LiveKitGate(plane, (tab, watch) => ({ open: open.get(`${tab}:${watch}`) ?? false }), { owner: () => 'relay-a' });
    const paying = await viewer(4n, 0, 'relay-a');
    const unpaid = await viewer(5n, 0, 'relay-a');
    const stranger = await viewer(6n, 0, 'relay-a'); // a token the gate no longer follows (a kept one), unpaid
    const adopted = await viewer(7n, 0, 'relay-a'); // not followed (a restarted control plane), but paid
    const foreign = await viewer(8n, 0, 'relay-b'); // another control plane's viewer: it judges her
    gate.follow(STREAM, 4n, 0);
    gate.follow(STREAM, 5n, 0);
    expect(gate.mayStay(roomOf(STREAM), 'tab:4:0')).toBe(true);
    expect(gate.mayStay(roomOf(STREAM + 1n), 'tab:4:0')).toBe(false); // her watch is of another room
    const cutAt = Date.now();
    expect((await gate.sweep([STREAM])).sort()).toEqual(['tab:5:0', 'tab:6:0']);
    expect(gate.mayStay(roomOf(STREAM), 'tab:7:0')).toBe(true);
    open.set('7:0', false); // adopted: followed now, and removed like any watch once unpaid
    await gate.round();
    expect(gate.sent.filter(([, granted]) => !granted).map(([id]) => id)).toEqual(['tab:7:0']);
    await sleep(1_500);
    expect(unpaid.received().lastAt - cutAt).toBeLessThan(1_000);
    expect(stranger.received().lastAt - cutAt).toBeLessThan(1_000);
    const before = paying.received().packets;
    await sleep(1_000);
    expect(paying.received().packets).toBeGreaterThan(before);
    const ids = (await plane.rooms.listParticipants(roomOf(STREAM))).map((p) => p.identity);
    expect(ids).toContain(PUBLISHER_IDENTITY);
    expect(ids).toContain('tab:4:0');
    expect(ids).toContain('tab:8:0');
    expect(ids).not.toContain('tab:7:0');
    expect(await gate.sweep([STREAM])).toEqual([]);
    await paying.stop();
    await unpaid.stop();
    await stranger.stop();
    await adopted.stop();
    await foreign.stop();
  });

  it('a token names one room and one identity and cannot publish; an expired one or another key’s is refused by LiveKit', async () => {
    const { AccessToken, TokenVerifier } = await import('livekit-server-sdk');
    const claims = await new TokenVerifier(lk.apiKey, lk.apiSecret).verify(await plane.viewerToken(STREAM, 9n, 4));
    expect([claims.sub, claims.video?.room, claims.video?.canPublish, claims.video?.canSubscribe, claims.video?.canPublishData]).toEqual(['tab:9:4', roomOf(STREAM), false, true, false]);
    const offer = async (token: string) =>
      (await fetch(`${lk.url}/whip/v1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` }, body: 'v=0\r\n' })).status;
    // LiveKit allows a minute of clock skew past a token's expiry: this one expired two minutes ago.
    const expired = new AccessToken(lk.apiKey, lk.apiSecret, { identity: 'tab:9:5', ttl: '2 minutes ago' });
    expired.addGrant({ room: roomOf(STREAM), roomJoin: true, canSubscribe: true });
    expect(await offer(await expired.toJwt())).toBe(401);
    const other = new LiveKitPlane({ ...lk, apiSecret: 'x'.repeat(43) });
    expect(await offer(await other.viewerToken(STREAM, 9n, 4))).toBe(401);
    // A well-signed token gets past authentication to the offer's own checks (this offer is not one):
    // the 401s above are the tokens'.
    expect(await offer(await plane.viewerToken(STREAM, 9n, 4))).not.toBe(401);
  });

  it('takes thumbnails of a LiveKit room with a subscriber of its own, not counted as a viewer, and leaves with the publisher', async () => {
    const id = 8n;
    const dir = mkdtempSync(join(tmpdir(), 'vilo-lk-thumbs-'));
    const own = await encoderPublisher({ baseUrl: lk.url, streamId: id, streamKey: await plane.publisherToken(id), whipUrl: `${lk.url}/whip/v1`, size: '320x180', bitrate: '300k' });
    const rooms = new LiveRooms(plane);
    const thumbnails = new Thumbnails({ dir, everyMs: 5_000 });
    const thumbnailer = new LiveKitThumbnailer(plane, rooms, thumbnails, { intervalMs: 500 });
    try {
      rooms.start();
      thumbnailer.start();
      await until(() => thumbnails.latest(id) !== null, 20_000, 'a thumbnail of the LiveKit room');
      const { cid } = thumbnails.latest(id)!;
      expect(thumbnails.picture(cid)?.subarray(0, 2)).toEqual(new Uint8Array([0xff, 0xd8])); // a JPEG
      // LiveKit counts it among the room's participants; the viewers shown leave it out.
      await until(async () => (await rooms.poll(), rooms.viewerCount(id) === 1), 10_000, 'the subscriber in the room');
      expect(thumbnailer.count(id)).toBe(1);
      const names = (await plane.rooms.listParticipants(roomOf(id))).map((p) => p.identity);
      expect(names).toContain('thumbnails');
      // The publisher leaves: so does the thumbnailer.
      await own.stop();
      await until(() => thumbnailer.count(id) === 0, 10_000, 'the thumbnailer to leave');
    } finally {
      await own.stop().catch(() => {});
      await thumbnailer.stop();
      rooms.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

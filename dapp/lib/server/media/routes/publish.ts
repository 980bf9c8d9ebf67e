/**
 * Publishing (WHIP): `POST /whip/:stream` with the stream key or a creator-signed request and an SDP
 * offer → 201 + the answer + Location; `DELETE /whip/:stream/:resource` ends it. On the LiveKit plane
 * the offer is handed to LiveKit with a 1-minute publisher token (LiveKit never sees the key).
 * `POST /api/streams/:stream/publisher-token` (LiveKit plane): the same credentials → 201 `{url, token,
 * room, identity}`, for LiveKit's own client (the studio's camera, published with simulcast layers).
 */
import { randomBytes } from 'node:crypto';
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { json } from '../http.ts';
import { MAX_SDP_BYTES, sdpBody, streamIdOf, type LiveKitContext, type MediaContext } from '../context.ts';
import { LiveKitRefusal, PUBLISHER_IDENTITY, roomOf } from '../livekit/plane.ts';
import type { Publishers } from '../publishers.ts';
import { checkSdp } from '../sfu.ts';

export function publishRoutes(ctx: MediaContext, publishers: Publishers): Route[] {
  const { sfu, lk } = ctx;
  return [
    {
      method: 'POST',
      path: '/whip/:stream',
      handler: async ({ req, params }) => {
        const streamId = streamIdOf(params.stream);
        const admittedBy = await publishers.check(streamId, req.headers.get('authorization'));
        const offer = await sdpBody(req);
        if (lk) {
          checkSdp(offer, MAX_SDP_BYTES);
          const token = await lk.plane.publisherToken(streamId);
          const { answer, location } = await lk.plane.whip(offer, token).catch((e: Error) => {
            if (e instanceof LiveKitRefusal && e.status === 400) throw new Refusal('MalformedSdp', e.message);
            throw new Refusal('MediaPlaneUnavailable', `the media plane did not take the offer: ${e.message}`);
          });
          const resource = randomBytes(12).toString('base64url');
          lk.publishers.set(resource, { streamId, location, token, admittedBy });
          lk.lastAdmission.set(streamId.toString(), admittedBy);
          if (lk.publishers.size > 10_000) lk.publishers.delete(lk.publishers.keys().next().value!);
          void lk.rooms.poll();
          ctx.log(`[whip] stream ${streamId}: publisher connected to LiveKit room ${roomOf(streamId)}`);
          return new Response(answer, { status: 201, headers: { 'Content-Type': 'application/sdp', Location: `/whip/${streamId}/${resource}` } });
        }
        const { publisher, answer } = await sfu.publish(streamId, offer);
        publisher.admittedBy = admittedBy;
        ctx.log(`[whip] stream ${streamId}: publisher ${publisher.id} connected (${Object.values(publisher.codecs).map((c) => c?.mimeType).join(', ')})`);
        return new Response(answer, { status: 201, headers: { 'Content-Type': 'application/sdp', Location: `/whip/${streamId}/${publisher.id}` } });
      },
    },
    {
      method: 'DELETE',
      path: '/whip/:stream/:resource',
      handler: async ({ params }) => {
        const id = streamIdOf(params.stream);
        if (lk) {
          const pub = lk.publishers.get(params.resource);
          if (!pub || pub.streamId !== id) throw new Refusal('NoSuchResource', 'no such publishing session');
          await closeWhipResource(lk, params.resource);
          await removeRoomPublisher(lk, id);
          ctx.log(`[whip] stream ${id}: publisher left LiveKit`);
        } else {
          if (!(await sfu.unpublish(id, params.resource))) throw new Refusal('NoSuchResource', 'no such publishing session');
          ctx.log(`[whip] stream ${id}: publisher ${params.resource} left`);
        }
        return new Response(null, { status: 200 });
      },
    },
    {
      method: 'POST',
      path: '/api/streams/:stream/publisher-token',
      handler: async ({ req, params }) => {
        const streamId = streamIdOf(params.stream);
        if (!lk) throw new Refusal('NotOnLiveKit', 'this server takes video over WHIP (POST /whip/:streamId): it has no LiveKit plane');
        const admittedBy = await publishers.check(streamId, req.headers.get('authorization'));
        const token = await lk.plane.publisherToken(streamId);
        lk.lastAdmission.set(streamId.toString(), admittedBy);
        ctx.log(`[publish] stream ${streamId}: publisher token issued for LiveKit room ${roomOf(streamId)}`);
        return json(201, { url: lk.publicUrl ?? lk.plane.config.url, token, room: roomOf(streamId), identity: PUBLISHER_IDENTITY });
      },
    },
    { method: 'OPTIONS', path: '/whip/:stream', handler: () => new Response(null, { status: 204, headers: { Allow: 'POST, DELETE, OPTIONS' } }) },
  ];
}

/**
 * A new stream key was issued: ends the sessions the old one let in (an encoder's WHIP session, on
 * either plane), so a leaked key stops broadcasting when its creator replaces it. A camera let in by
 * the creator's signature goes on. (RTMP sessions end at nginx's next update call: rtmp.ts.)
 */
export async function endKeySessions(ctx: MediaContext, streamId: bigint): Promise<void> {
  let ended = false;
  if (ctx.lk) {
    const lk = ctx.lk;
    for (const [resource, pub] of lk.publishers) {
      if (pub.streamId !== streamId || pub.admittedBy !== 'key') continue;
      await closeWhipResource(lk, resource);
      ended = true;
    }
    // The room's one publisher identity belongs to whoever was let in last: remove it only if that
    // was the key (LiveKit may still hold the session even after the WHIP DELETE).
    if (lk.lastAdmission.get(streamId.toString()) === 'key') {
      lk.lastAdmission.delete(streamId.toString());
      ended = (await removeRoomPublisher(lk, streamId)) || ended;
    }
  } else {
    const pub = ctx.sfu.publisher(streamId);
    ended = pub?.admittedBy === 'key' && (await ctx.sfu.unpublish(streamId, pub.id));
  }
  if (ended) ctx.log(`[keys] stream ${streamId}: the old key's publishing session ended`);
}

/** Forgets a WHIP resource on LiveKit and asks LiveKit to close it (with the token that opened it). */
async function closeWhipResource(lk: LiveKitContext, resource: string): Promise<void> {
  const pub = lk.publishers.get(resource);
  if (!pub) return;
  lk.publishers.delete(resource);
  await fetch(pub.location, { method: 'DELETE', headers: { Authorization: `Bearer ${pub.token}` } }).catch(() => {});
}

/** Removes the room's publisher; LIVE follows at once (LiveRooms.publisherEnded). Whether LiveKit had one to remove. */
async function removeRoomPublisher(lk: LiveKitContext, streamId: bigint): Promise<boolean> {
  const removed = await lk.plane.remove(streamId, PUBLISHER_IDENTITY).catch(() => false);
  lk.rooms.publisherEnded(streamId);
  void lk.rooms.poll();
  return removed;
}

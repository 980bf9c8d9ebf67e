/**
 * Playing (the payment checks of admission.ts first, every time):
 * - `POST /whep/:stream` (werift plane): an SDP offer → 201 + the answer; one connection per watch.
 * - `POST /api/streams/:stream/watch` (LiveKit plane): → 201 `{url, token, room, identity, publisher,
 *   tracks}`, a 15 s token for this one watch; the gate follows the watch from then on.
 * - `DELETE /whep/:stream/:resource` ends a werift playback.
 */
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { json } from '../http.ts';
import { admit } from '../admission.ts';
import { sdpBody, streamIdOf, type MediaContext } from '../context.ts';
import { roomOf, viewerIdentity } from '../livekit/plane.ts';

export function playRoutes(ctx: MediaContext): Route[] {
  const { sfu, lk } = ctx;
  return [
    {
      method: 'POST',
      path: '/whep/:stream',
      handler: async ({ req, params }) => {
        const streamId = streamIdOf(params.stream);
        if (lk) throw new Refusal('OnLiveKit', 'this server plays through LiveKit: POST /api/streams/:streamId/watch for a token');
        const { tabId, watch, value: offer } = await admit(ctx, req, streamId, async () => {
          if (!sfu.publisher(streamId)) throw new Refusal('NotLive', `stream ${streamId} is not broadcasting now`);
          return sdpBody(req);
        });
        const viewer = `tab:${tabId}`;
        const sessionId = BigInt(watch);
        const { viewer: conn, answer } = await sfu.view(streamId, viewer, sessionId, offer);
        // One connection per watch: a second one (a reload, or someone replaying this viewer's voucher)
        // replaces the first, so one payment never feeds two screens.
        for (const other of sfu.viewers(streamId)) {
          if (other !== conn && other.viewer === viewer && other.sessionId === sessionId) await sfu.leave(other);
        }
        sfu.setOpen(conn, true);
        ctx.log(`[whep] stream ${streamId}: ${viewer} (watch ${sessionId}) connected`);
        return new Response(answer, { status: 201, headers: { 'Content-Type': 'application/sdp', Location: `/whep/${streamId}/${conn.id}` } });
      },
    },
    {
      method: 'DELETE',
      path: '/whep/:stream/:resource',
      handler: async ({ params }) => {
        const v = sfu.find(streamIdOf(params.stream), params.resource);
        if (!v) throw new Refusal('NoSuchResource', 'no such playback session');
        await sfu.leave(v);
        return new Response(null, { status: 200 });
      },
    },
    { method: 'OPTIONS', path: '/whep/:stream', handler: () => new Response(null, { status: 204, headers: { Allow: 'POST, DELETE, OPTIONS' } }) },
    {
      method: 'POST',
      path: '/api/streams/:stream/watch',
      handler: async ({ req, params }) => {
        const streamId = streamIdOf(params.stream);
        if (!lk) throw new Refusal('NotOnLiveKit', 'this server plays over WHEP (POST /whep/:streamId): it has no LiveKit plane');
        const { tabId, watch } = await admit(ctx, req, streamId, async () => {
          if (!(await lk.rooms.isLive(streamId))) throw new Refusal('NotLive', `stream ${streamId} is not broadcasting now`);
        });
        const token = await lk.plane.viewerToken(streamId, tabId, watch, undefined, lk.gate.owner());
        lk.gate.follow(streamId, tabId, watch);
        ctx.log(`[watch] stream ${streamId}: tab:${tabId} (watch ${watch}) admitted to LiveKit`);
        const tracks = await lk.plane.publisherTracks(streamId);
        return json(201, { url: lk.publicUrl ?? lk.plane.config.url, token, room: roomOf(streamId), identity: viewerIdentity(tabId, watch), publisher: 'publisher', tracks });
      },
    },
  ];
}

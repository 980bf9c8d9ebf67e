/**
 * What the pages show about streams:
 * - `GET /api/streams/:stream/media` → `{state, live, plane, viewers, hls, hlsEdge, thumbnail}` (the watch page, every 2 s;
 *   `hlsEdge`: the HLS may be fetched from the signed-URL edge, routes/hls.ts);
 * - `GET /api/media?ids=1,2,…` → `{streams: {id: {state, viewers, thumbnail}}}` (discover; ≤ 200 ids);
 * - `GET /api/streams/:stream/earnings` → `{pendingPlancks, watches}`: signed by tabs, not settled yet.
 */
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { json } from '../http.ts';
import { streamIdOf, type MediaContext } from '../context.ts';
import type { Broadcast } from '../sfu.ts';
import type { Thumbnail } from '../thumbnails.ts';

export function statusRoutes(ctx: MediaContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/streams/:stream/media',
      handler: ({ params }) => {
        const id = streamIdOf(params.stream);
        const b = ctx.broadcast(id, Date.now());
        // A watch page asks this every 2 s: its viewer may start a watch at any moment, so the relay
        // has the stream and its rate read before the watch's first voucher comes (on air only).
        if (b.state === 'live') ctx.tabRelay.expectWatches(id);
        return json(200, {
          state: b.state,
          live: b.plane === 'live',
          plane: ctx.lk ? 'livekit' : 'werift',
          viewers: ctx.viewers(id),
          hls: b.hls === 'live',
          hlsEdge: b.hls === 'live' && !!ctx.deps.hlsEdge,
          thumbnail: ctx.deps.thumbnails?.latest(id) ?? null,
        });
      },
    },
    {
      method: 'GET',
      path: '/api/media',
      handler: ({ url }) => {
        const ids = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
        if (ids.length > 200) throw new Refusal('TooManyIds', 'ask for at most 200 streams at once');
        const now = Date.now();
        const streams: Record<string, { state: Broadcast; viewers: number; thumbnail: Thumbnail | null }> = {};
        for (const raw of ids) {
          const id = streamIdOf(raw);
          streams[id.toString()] = { state: ctx.broadcast(id, now).state, viewers: ctx.viewers(id), thumbnail: ctx.deps.thumbnails?.latest(id) ?? null };
        }
        return json(200, { streams });
      },
    },
    {
      method: 'GET',
      path: '/api/streams/:stream/earnings',
      handler: ({ params }) => {
        const pending = ctx.tabStore.pending(streamIdOf(params.stream));
        return json(200, { pendingPlancks: pending.plancks.toString(), watches: pending.watches });
      },
    },
  ];
}

/**
 * HLS of RTMP streams, to paying viewers only (admission.ts: the same checks as WHEP):
 * - `GET /hls/:stream/:file` — the playlist or a fragment, each request paid by its voucher headers;
 * - `POST /api/streams/:stream/hls-edge` — with an edge configured, a URL prefix on the edge good for
 *   a few seconds (`{url, expiresAtMs}`; hls-edge.ts): the edge serves it without asking anyone, so a
 *   paying page asks again before it expires and a viewer who stopped paying gets no new one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { admit } from '../admission.ts';
import { edgePrefix } from '../hls-edge.ts';
import { json } from '../http.ts';
import { streamIdOf, type MediaContext } from '../context.ts';

export function hlsRoutes(ctx: MediaContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/hls/:stream/:file',
      handler: async ({ req, params }) => {
        const streamId = streamIdOf(params.stream);
        const file = params.file;
        const dir = ctx.deps.hlsDir?.(streamId);
        if (!dir) throw new Refusal('NotLive', 'RTMP ingest and HLS are not running on this server (VILO_RTMP_PORT unset, or nginx failed to start: see the server log)');
        if (!/^(index\.m3u8|[0-9]{1,12}\.ts)$/.test(file)) throw new Refusal('NoSuchFile', `no HLS file "${file}"`);
        const { tabId, watch, value: body } = await admit(ctx, req, streamId, async () => {
          try {
            return await readFile(join(dir, file));
          } catch {
            throw new Refusal('NotLive', `stream ${streamId} has no HLS ${file === 'index.m3u8' ? 'playlist' : 'fragment ' + file} now`);
          }
        });
        ctx.metrics.forwarded(body.length);
        ctx.hlsAudience.saw(streamId, `tab:${tabId}`, BigInt(watch));
        return new Response(body, {
          status: 200,
          headers: { 'Content-Type': file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t', 'Cache-Control': 'no-store' },
        });
      },
    },
    {
      method: 'POST',
      path: '/api/streams/:stream/hls-edge',
      handler: async ({ req, url, params }) => {
        const streamId = streamIdOf(params.stream);
        const edge = ctx.deps.hlsEdge;
        if (!edge || !ctx.deps.hlsDir) throw new Refusal('NoEdge', 'this server has no HLS edge (VILO_HLS_EDGE_PORT unset)');
        await admit(ctx, req, streamId, async () => undefined);
        const expiresSec = Math.floor(Date.now() / 1000) + edge.ttlSec;
        const origin = edge.publicUrl ?? `${url.protocol}//${url.hostname}:${edge.port}`;
        return json(201, { url: origin.replace(/\/$/, '') + edgePrefix(edge.secret, streamId, expiresSec), expiresAtMs: expiresSec * 1000 });
      },
    },
  ];
}

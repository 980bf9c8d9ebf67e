/** `GET /hls/:stream/:file` — an RTMP stream's playlist or fragment, to a paying viewer only (admission.ts). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Refusal } from '../../refusals.ts';
import type { Route } from '../../router.ts';
import { admit } from '../admission.ts';
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
        ctx.metrics.bytesForwarded += body.length;
        ctx.hlsAudience.saw(streamId, `tab:${tabId}`, BigInt(watch));
        return new Response(body, {
          status: 200,
          headers: { 'Content-Type': file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t', 'Cache-Control': 'no-store' },
        });
      },
    },
  ];
}

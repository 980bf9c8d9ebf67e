/** `GET /metrics` — the media server's Prometheus text (prom-client, metrics.ts). Not rate-limited: a scraper asks often. */
import type { Route } from '../../router.ts';
import type { MediaContext } from '../context.ts';

export function metricsRoutes(ctx: MediaContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handler: async () => {
        const viewers = ctx.sfu.viewers();
        const text = await ctx.metrics.render({ publishers: ctx.sfu.publisherCount, viewers: viewers.length, viewersOpen: viewers.filter((v) => v.open).length, hlsViewers: ctx.hlsAudience.count() });
        return new Response(text, { headers: { 'Content-Type': ctx.metrics.contentType } });
      },
    },
  ];
}

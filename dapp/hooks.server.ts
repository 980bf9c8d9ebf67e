/**
 * The app's Node server hooks: one media server (WHIP/WHEP SFU, payment gate, voucher relay; see
 * docs/media.md) made at start-up, routed to for its paths; everything else is SvelteKit's.
 */
import type { Handle, ServerInit } from '@sveltejs/kit';
import { env } from '$env/dynamic/private';
import { bootMediaServer, ConfigError } from '$lib/server/media/boot';
import type { MediaServer } from '$lib/server/media/server';

let media: MediaServer | undefined;

export const init: ServerInit = async () => {
  if (media) return;
  let server: ReturnType<typeof bootMediaServer>;
  try {
    server = bootMediaServer(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`[media] cannot start: ${e.message}`);
    process.exit(2);
  }
  media = server;
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`[media] ${signal}: settling and closing`);
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
};

export const handle: Handle = async ({ event, resolve }) => {
  const p = event.url.pathname;
  if (media && (p.startsWith('/whip/') || p.startsWith('/whep/') || p.startsWith('/hls/') || p.startsWith('/thumbs/') || p.startsWith('/api/') || p === '/metrics')) {
    let ip = 'unknown';
    try {
      ip = event.getClientAddress();
    } catch {
      /* not known (prerendering) */
    }
    const res = await media.handle(event.request, ip);
    if (res) return res;
  }
  return resolve(event);
};

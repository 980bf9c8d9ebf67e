/**
 * The app's Node server hooks: one media server (WHIP/WHEP SFU, payment gate, voucher relay; see
 * docs/media.md) and the history (event indexer and its API, docs/api.md) made at start-up, routed to
 * for their paths; everything else is SvelteKit's.
 */
import type { Handle, ServerInit } from '@sveltejs/kit';
import { env } from '$env/dynamic/private';
import { bootMediaServer, ConfigError } from '$lib/server/media/boot';
import type { MediaServer } from '$lib/server/media/server';
import { bootHistory, type HistoryServer } from '$lib/server/history/boot';

let media: MediaServer | undefined;
let history: HistoryServer | null = null;

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
  history = bootHistory(env);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`[media] ${signal}: settling and closing`);
    void Promise.allSettled([server.close(), history?.close()]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
};

export const handle: Handle = async ({ event, resolve }) => {
  const p = event.url.pathname;
  if (history && p.startsWith('/api/history/')) {
    const res = await history.handle(event.request);
    if (res) return res;
  }
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

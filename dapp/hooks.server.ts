/**
 * The app's Node server hooks: one media server (WHIP/WHEP or LiveKit tokens, payment gate, voucher
 * relay; see docs/media.md), the history (event indexer and its API, docs/history.md) and the chat
 * (WebSocket, dapp/lib/server/chat) made at start-up. Their endpoints are one route table
 * (lib/server/router.ts); a path none of them has is SvelteKit's.
 */
import type { Handle, ServerInit } from '@sveltejs/kit';
import { env } from '$env/dynamic/private';
import { bootMediaServer, ConfigError } from '$lib/server/media/boot';
import type { MediaServer } from '$lib/server/media/server';
import { bootHistory, type HistoryServer } from '$lib/server/history/boot';
import { bootChat, type ChatServer } from '$lib/server/chat/boot';
import { SESSION_COOKIE, sessionCookies } from '$lib/server/auth';
import { Refusal } from '$lib/server/refusals';
import { Router } from '$lib/server/router';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';

let media: MediaServer | undefined;
let history: HistoryServer | undefined;
let chat: ChatServer | undefined;
let router: Router | undefined;

/** What the chat's rows belong to: the deployment (its registry's address names its streams). */
function deploymentScope(): string {
  try {
    const d = JSON.parse(readFileSync(env.VILO_DEPLOYMENT ?? '', 'utf8')) as { genesisHash?: string; contracts?: { stream_registry?: { address?: string } } };
    return `${d.genesisHash ?? ''}/${d.contracts?.stream_registry?.address ?? ''}`;
  } catch {
    return 'no deployment';
  }
}

/** The signed-in account of a raw Cookie header (the WebSocket upgrade has no SvelteKit cookies). */
function accountOf(header: string | undefined): string | null {
  const raw = header
    ?.split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
    ?.slice(SESSION_COOKIE.length + 1);
  try {
    return sessionCookies.verify(raw ? decodeURIComponent(raw) : undefined)?.address ?? null;
  } catch {
    return null; // a malformed cookie signs nobody in
  }
}

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
  history = bootHistory(env, console.log, { tipped: (t) => chat?.tipped(t) });
  chat = bootChat({ history, media: server, account: accountOf, scope: deploymentScope() });
  router = new Router(
    [
      ...server.routes,
      ...history.routes,
      {
        // Reached only by a chat connection made before the upgrade listener was attached (or by plain HTTP).
        method: 'GET',
        path: '/api/chat/*',
        handler: () => {
          throw new Refusal('UpgradeRequired', 'the chat speaks WebSocket: connect again', { Upgrade: 'websocket' });
        },
      },
    ],
    { log: console.log },
  );
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`[media] ${signal}: settling and closing`);
    void Promise.allSettled([server.close(), chat?.close().then(() => history?.close())]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
};

export const handle: Handle = async ({ event, resolve }) => {
  chat?.attach((event.platform as { req?: IncomingMessage } | undefined)?.req);
  if (router) {
    let ip = 'unknown';
    try {
      ip = event.getClientAddress();
    } catch {
      /* not known (prerendering) */
    }
    const res = await router.handle(event.request, ip);
    if (res) return res;
  }
  return resolve(event);
};

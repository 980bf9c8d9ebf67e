/**
 * The chat in the app's server: a ChatHub on the history's database (an in-memory PGlite when the
 * history is off: messages then end with the process), badges from the media server and the chain,
 * and the WebSocket upgrade of `/api/chat/:streamId`.
 *
 * SvelteKit's Node adapter gives hooks no way to the HTTP server, so the hub's upgrade listener is
 * attached to the server that accepted the first ordinary request (`req.socket.server`): every page
 * load comes before its chat connects, and a connection made before that is answered as an ordinary
 * request (426) and retried by the client.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { openDatabase } from '../history/db.ts';
import type { HistoryServer } from '../history/boot.ts';
import type { MediaServer } from '../media/server.ts';
import { ChatHub } from './hub.ts';

export interface ChatServer {
  /** Attaches the upgrade listener to the server behind `req`, once. */
  attach(req: IncomingMessage | undefined): void;
  /** The hub, made at the first chat connection (its database may take seconds to open). */
  hub(): Promise<ChatHub>;
  /** A tip in a final block, for the stream's chat (nothing if no chat has connected yet). */
  tipped: ChatHub['tipped'];
  close(): Promise<void>;
}

const CHAT_PATH = /^\/api\/chat\/(\d{1,20})$/;

export function bootChat(o: {
  history: HistoryServer;
  media: MediaServer;
  /** The signed-in account of a request's cookies, or null. */
  account: (cookieHeader: string | undefined) => string | null;
  /** What the chat's rows belong to (the deployment): rows of another are dropped, not inherited. */
  scope: string;
  log?: (l: string) => void;
}): ChatServer {
  const log = o.log ?? console.log;
  // Made when the first chat connects, not at start-up: with the history off the chat's database is
  // an in-memory PGlite, whose start (seconds of Wasm on a small machine) would delay everything else.
  let made: Promise<ChatHub> | null = null;
  let current: ChatHub | null = null;
  const hub = () =>
    (made ??= (async () => {
      const db = (await o.history.database) ?? (await openDatabase('memory://'));
      return (current = new ChatHub(db, o.scope, {
        creatorOf: async (id) => (await o.media.chain.stream(id))?.creator ?? null,
        paying: (id, account) => o.media.paying(id, account),
        subscribed: (id, account) => o.media.chain.hasSubscription(account, id),
      }));
    })().catch((e: Error) => {
      log(`[chat] cannot start: ${e.message}`);
      made = null; // the next connection tries again
      throw e;
    }));
  let attached: Server | null = null;

  const refuse = (socket: Duplex, status: string) => {
    if (!socket.destroyed) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node takes its own error listener off an upgraded socket: a client that resets now must not
    // take the process down.
    socket.on('error', () => socket.destroy());
    try {
      const m = CHAT_PATH.exec(new URL(req.url ?? '/', 'http://host').pathname);
      if (!m || BigInt(m[1]) >= 2n ** 63n) return refuse(socket, '404 Not Found');
      // A page of another site must not chat as the visitor (their cookie would come along); an
      // Origin that is not a URL ("null" from a sandboxed frame) is refused too.
      const origin = req.headers.origin;
      if (origin !== undefined && URL.parse(origin)?.host !== req.headers.host) return refuse(socket, '403 Forbidden');
      hub().then(
        (h) => h.upgrade(req, socket, head, BigInt(m[1]), o.account(req.headers.cookie), req.socket.remoteAddress ?? 'unknown'),
        () => refuse(socket, '503 Service Unavailable'),
      );
    } catch (e) {
      log(`[chat] upgrade failed: ${(e as Error).message}`);
      refuse(socket, '400 Bad Request');
    }
  };

  return {
    hub,
    tipped: (t) => current?.tipped(t),
    attach(req) {
      const server = (req?.socket as { server?: Server } | undefined)?.server;
      if (attached || !server) return;
      attached = server;
      server.on('upgrade', onUpgrade);
    },
    async close() {
      attached?.off('upgrade', onUpgrade);
      await (await made?.catch(() => null))?.close();
    },
  };
}

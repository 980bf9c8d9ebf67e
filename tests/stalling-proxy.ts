/**
 * A WebSocket proxy in front of the chain's RPC endpoint that can stall: while stalled it holds
 * every answer (and subscription notification) from the chain and delivers them, in order, when the
 * stall ends. Requests still reach the chain; what the client sees is a chain that answers late, as
 * a loaded or distant RPC node does.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';

export interface StallingProxy {
  url: string;
  /** Holds the chain's answers for `ms` (from now), then delivers them. */
  stall(ms: number): Promise<void>;
  /** Ends a stall at once (a failed test must not leave one running into the next). */
  resume(): void;
  close(): Promise<void>;
}

export async function stallingProxy(upstreamUrl: string): Promise<StallingProxy> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  let stalledUntil = 0;
  const held: (() => void)[] = [];
  const release = () => {
    for (const deliver of held.splice(0)) deliver();
  };

  server.on('connection', (client) => {
    const upstream = new WebSocket(upstreamUrl);
    // JSON-RPC travels in text frames: forward each frame as the kind it came in.
    const early: [RawData, boolean][] = [];
    upstream.on('open', () => {
      for (const [m, binary] of early.splice(0)) upstream.send(m, { binary });
    });
    client.on('message', (m, binary) => (upstream.readyState === WebSocket.OPEN ? upstream.send(m, { binary }) : early.push([m, binary])));
    upstream.on('message', (m, binary) => {
      const deliver = () => client.readyState === WebSocket.OPEN && client.send(m, { binary });
      if (Date.now() < stalledUntil || held.length > 0) held.push(deliver);
      else deliver();
    });
    const closeBoth = () => {
      client.close();
      upstream.close();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  });

  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stall(ms) {
      stalledUntil = Date.now() + ms;
      await new Promise((r) => setTimeout(r, ms));
      release();
    },
    resume() {
      stalledUntil = 0;
      release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}

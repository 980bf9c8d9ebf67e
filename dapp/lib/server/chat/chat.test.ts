/**
 * The chat hub over real WebSockets, its state in a real PGlite database. Who is creator, paying or
 * subscribed is given here (the chain's answers); the browser test (tests/browser/chat.test.ts) runs
 * it with the chain's. One test per rule a user depends on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { openDatabase, type Sql } from '../history/db.ts';
import { ChatHub } from './hub.ts';
import { filteredWord, parseFrame, MAX_MESSAGE_BYTES } from './rules.ts';
import { startPostgres, type Postgres } from '../../../../tests/postgres.ts';

const CREATOR = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const CHARLIE = '5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y';
const DAVE = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';

let db: Sql;
let hub: ChatHub;
let server: Server;
let port: number;
const paying = new Set<string>([BOB, CHARLIE]);
let pg: Postgres | undefined;
afterAll(() => pg?.stop());

/** A hub on `url`'s database behind a WebSocket server whose clients say who they are in headers. */
async function start(url: string) {
  db = await openDatabase(url);
  for (const t of ['chat_messages', 'chat_bans', 'chat_moderators', 'chat_settings']) await db.exec(`DROP TABLE IF EXISTS ${t}`);
  hub = new ChatHub(db, 'deployment A', {
    creatorOf: async (id) => (id === 404n ? null : CREATOR),
    paying: async (_id, a) => paying.has(a),
    subscribed: async () => false,
  });
  server = createServer();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url!, 'http://h');
    const account = req.headers['x-account'] as string | undefined;
    hub.upgrade(req, socket, head, BigInt(url.pathname.split('/').pop()!), account ?? null, (req.headers['x-ip'] as string) ?? '127.0.0.1');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
}
async function stop() {
  await hub?.close();
  server?.close();
  await db?.close();
}

interface Peer {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  next(type: string, o?: { after?: number }): Promise<Record<string, unknown>>;
  close(): void;
}

let ips = 0;
async function peer(stream: number, account?: string): Promise<Peer> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/chat/${stream}`, { headers: { ...(account ? { 'x-account': account } : {}), 'x-ip': `10.0.0.${++ips}` } });
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (d) => {
    frames.push(JSON.parse(d.toString()) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const p: Peer = {
    ws,
    frames,
    async next(type, o = {}) {
      const from = o.after ?? 0;
      for (;;) {
        const f = frames.slice(from).find((x) => x.type === type);
        if (f) return f;
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((_, rej) => setTimeout(() => rej(new Error(`no ${type} frame`)), 5_000))]);
      }
    },
    close: () => ws.close(),
  };
  await p.next('hello');
  return p;
}
const say = (p: Peer, text: string) => p.ws.send(JSON.stringify({ type: 'say', text }));
const send = (p: Peer, frame: unknown) => p.ws.send(JSON.stringify(frame));
const stored = async (stream: number) => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM chat_messages WHERE stream_id = $1', [stream]))[0].n);

describe('the rules', () => {
  it('refuse a message over the size limit by bytes, an empty one, and an unknown frame', () => {
    expect(() => parseFrame(JSON.stringify({ type: 'say', text: 'é'.repeat(MAX_MESSAGE_BYTES / 2 + 1) }))).toThrow(/at most 500/);
    expect(parseFrame(JSON.stringify({ type: 'say', text: 'é'.repeat(MAX_MESSAGE_BYTES / 2) }))).toEqual({ type: 'say', text: 'é'.repeat(250) });
    expect(() => parseFrame(JSON.stringify({ type: 'say', text: '   ' }))).toThrow(/empty/);
    expect(() => parseFrame('{"type":"shout"}')).toThrow(/unknown frame/);
    expect(() => parseFrame('not json')).toThrow(/JSON/);
  });
  it('filter whole words in any case', () => {
    expect(filteredWord('What a SPOILER!', ['spoiler'])).toBe('spoiler');
    expect(filteredWord('spoilers are fine', ['spoiler'])).toBeNull();
  });
});

describe.each([
  ['PGlite', () => 'memory://'],
  ['PostgreSQL', () => (pg ??= startPostgres('chat-unit')).url],
])('the chat hub on %s', (_, url) => {
  beforeAll(() => start(url()), 60_000);
  afterAll(stop);
  it('sends a signed-in message to everyone in the stream, stores it, and gives it to newcomers', async () => {
    const bob = await peer(1, BOB);
    const reader = await peer(1);
    const elsewhere = await peer(2, CHARLIE);
    say(bob, 'hello everyone');
    const got = await reader.next('message');
    expect(got.message).toMatchObject({ author: BOB, text: 'hello everyone', badges: ['paying'] });
    await new Promise((r) => setTimeout(r, 200));
    expect(elsewhere.frames.filter((f) => f.type === 'message')).toEqual([]);
    const late = await peer(1);
    expect((late.frames[0].messages as { text: string }[]).map((m) => m.text)).toContain('hello everyone');
    for (const p of [bob, reader, elsewhere, late]) p.close();
  });

  it('refuses a reader who is not signed in, a message over 500 bytes, and stores nothing', async () => {
    const anon = await peer(3);
    say(anon, 'hi');
    expect(await anon.next('refused')).toMatchObject({ error: 'SignInRequired' });
    const bob = await peer(3, BOB);
    say(bob, 'x'.repeat(501));
    expect(await bob.next('refused')).toMatchObject({ error: 'MessageTooLong' });
    expect(await stored(3)).toBe(0);
    anon.close();
    bob.close();
  });

  it('limits a flood from one account', async () => {
    const bob = await peer(4, BOB);
    for (let i = 0; i < 12; i++) say(bob, `m${i}`);
    expect(await bob.next('refused')).toMatchObject({ error: 'RateLimited' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored(4)).toBeLessThanOrEqual(6);
    bob.close();
  });

  it('a ban by the creator holds across reconnects; an unban lifts it; a viewer cannot ban', async () => {
    const creator = await peer(5, CREATOR);
    const charlie = await peer(5, CHARLIE);
    send(charlie, { type: 'ban', account: BOB });
    expect(await charlie.next('refused')).toMatchObject({ error: 'NotModerator' });
    send(creator, { type: 'ban', account: BOB });
    await creator.next('banned');
    const bob = await peer(5, BOB);
    expect(bob.frames[0].banned).toEqual({ untilMs: null });
    say(bob, 'let me in');
    expect(await bob.next('refused')).toMatchObject({ error: 'Banned' });
    bob.close();
    // The creator (and only staff) sees who is banned, to undo it.
    const creatorAgain = await peer(5, CREATOR);
    expect(creatorAgain.frames[0].staff).toMatchObject({ bans: [{ account: BOB, untilMs: null }] });
    expect(charlie.frames[0].staff).toBeNull();
    creatorAgain.close();
    const again = await peer(5, BOB);
    say(again, 'still?');
    expect(await again.next('refused')).toMatchObject({ error: 'Banned' });
    expect(await stored(5)).toBe(0);
    send(creator, { type: 'unban', account: BOB });
    await creator.next('unbanned');
    say(again, 'thanks');
    expect((await creator.next('message')).message).toMatchObject({ text: 'thanks' });
    for (const p of [creator, charlie, again]) p.close();
  });

  it('a moderator the creator names may delete and time out; only the creator names moderators', async () => {
    const creator = await peer(6, CREATOR);
    const charlie = await peer(6, CHARLIE);
    const bob = await peer(6, BOB);
    send(charlie, { type: 'moderator', account: CHARLIE, on: true });
    expect(await charlie.next('refused')).toMatchObject({ error: 'NotCreator' });
    send(creator, { type: 'moderator', account: CHARLIE, on: true });
    await charlie.next('moderator');
    say(bob, 'spam spam');
    const m = (await charlie.next('message')).message as { id: number };
    send(charlie, { type: 'delete', id: m.id });
    expect(await bob.next('deleted')).toMatchObject({ id: m.id, by: CHARLIE });
    send(charlie, { type: 'timeout', account: BOB, seconds: 60 });
    await bob.next('banned');
    const n = bob.frames.length;
    say(bob, 'again');
    expect(await bob.next('refused', { after: n })).toMatchObject({ error: 'TimedOut' });
    const late = await peer(6);
    expect((late.frames[0].messages as { text: string }[]).map((x) => x.text)).not.toContain('spam spam');
    for (const p of [creator, charlie, bob, late]) p.close();
  });

  it('slow mode, the word filter and "only payers post" refuse with their names', async () => {
    const creator = await peer(7, CREATOR);
    const bob = await peer(7, BOB);
    const dave = await peer(7, DAVE);
    send(creator, { type: 'slow', seconds: 30 });
    await bob.next('settings');
    say(bob, 'first');
    await bob.next('message');
    say(bob, 'second');
    expect(await bob.next('refused')).toMatchObject({ error: 'SlowMode' });
    send(creator, { type: 'slow', seconds: 0 });
    send(creator, { type: 'words', words: ['Spoiler'] });
    await new Promise((r) => setTimeout(r, 200));
    let n = bob.frames.length;
    say(bob, 'big SPOILER ahead');
    expect(await bob.next('refused', { after: n })).toMatchObject({ error: 'WordFiltered' });
    send(creator, { type: 'requirePayment', on: true });
    await dave.next('settings');
    await new Promise((r) => setTimeout(r, 200));
    say(dave, 'I am not paying');
    expect(await dave.next('refused')).toMatchObject({ error: 'PaymentRequired' });
    n = creator.frames.length;
    say(bob, 'I am paying');
    expect(((await creator.next('message', { after: n })).message as { text: string }).text).toBe('I am paying');
    expect(await stored(7)).toBe(2);
    for (const p of [creator, bob, dave]) p.close();
  });

  it('counts reactions per second and sends them to everyone', async () => {
    const bob = await peer(8, BOB);
    const charlie = await peer(8, CHARLIE);
    send(bob, { type: 'react', reaction: '🔥' });
    send(charlie, { type: 'react', reaction: '🔥' });
    send(charlie, { type: 'react', reaction: '👏' });
    const r = await bob.next('reactions');
    expect(r.counts).toEqual({ '🔥': 2, '👏': 1 });
    send(bob, { type: 'react', reaction: '💩' });
    expect(await bob.next('refused')).toMatchObject({ error: 'BadFrame' });
    bob.close();
    charlie.close();
  });

  it('shows a tip to the stream it was for', async () => {
    const reader = await peer(9);
    hub.tipped({ streamId: 9n, from: BOB, amount: 5n, fee: 0n, message: 'for the stream', block: 12, event: 3 });
    expect(await reader.next('tip')).toMatchObject({ id: '12.3', from: BOB, amount: '5', message: 'for the stream' });
    reader.close();
  });

  it("handles a connection's frames one at a time: a burst cannot slip five messages through slow mode", async () => {
    const creator = await peer(10, CREATOR);
    const bob = await peer(10, BOB);
    send(creator, { type: 'slow', seconds: 60 });
    await bob.next('settings');
    for (let i = 0; i < 5; i++) say(bob, `burst ${i}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await stored(10)).toBe(1);
    expect(bob.frames.filter((f) => f.type === 'refused').map((f) => f.error)).toEqual(['SlowMode', 'SlowMode', 'SlowMode', 'SlowMode']);
    creator.close();
    bob.close();
  });

  it('two app processes on one database make one chat: messages, settings and reactions cross between hubs', async () => {
    // A second hub on the same database (as a second app process would have), clients on each.
    const other = new ChatHub(db, 'deployment A', { creatorOf: async () => CREATOR, paying: async (_id, a) => paying.has(a), subscribed: async () => false });
    const srv = createServer();
    srv.on('upgrade', (req, socket, head) => other.upgrade(req, socket, head, 11n, (req.headers['x-account'] as string) ?? null, `10.9.0.${++ips}`));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const otherPort = (srv.address() as AddressInfo).port;
    const onOther = async (account?: string) => {
      const saved = port;
      port = otherPort;
      try {
        return await peer(11, account);
      } finally {
        port = saved;
      }
    };
    const bob = await peer(11, BOB);
    const creator = await peer(11, CREATOR);
    const charlie = await onOther(CHARLIE);
    say(bob, 'from the first process');
    expect((await charlie.next('message')).message).toMatchObject({ author: BOB, text: 'from the first process' });
    // Slow mode set on the first hub holds on the second.
    send(creator, { type: 'slow', seconds: 60 });
    await charlie.next('settings');
    say(charlie, 'one');
    await bob.next('message', { after: bob.frames.length });
    say(charlie, 'two');
    expect(await charlie.next('refused')).toMatchObject({ error: 'SlowMode' });
    send(charlie, { type: 'react', reaction: '😮' });
    send(bob, { type: 'react', reaction: '😮' });
    // Each hub counts its own second; the first hub's clients see both reactions (in one second's
    // frame or in two).
    const seen = () => bob.frames.filter((f) => f.type === 'reactions').reduce((n, f) => n + ((f.counts as Record<string, number>)['😮'] ?? 0), 0);
    await expect.poll(seen, { timeout: 4_000 }).toBe(2);
    for (const p of [bob, creator, charlie]) p.close();
    await other.close();
    srv.close();
  });

  it("a new deployment's chat inherits nothing of the old one's (its stream 1 is another stream)", async () => {
    expect(await stored(1)).toBeGreaterThan(0);
    const next = new ChatHub(db, 'deployment B', { creatorOf: async () => null, paying: async () => false, subscribed: async () => false });
    await expect.poll(() => stored(1)).toBe(0);
    expect(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM chat_bans'))[0].n)).toBe(0);
    await next.close();
  });
});

describe('the chat behind the app server (boot.ts)', () => {
  it("refuses another site's page and a sandboxed frame's Origin (null), and the server lives on", async () => {
    const { bootChat } = await import('./boot.ts');
    const chat = bootChat({
      history: { database: Promise.resolve(null), routes: [], close: async () => {} },
      media: { chain: { stream: async () => ({ creator: CREATOR, live: true }), hasSubscription: async () => false }, paying: async () => false } as never,
      account: () => null,
      scope: 'boot test',
      log: () => {},
    });
    const app = createServer((req, res) => {
      chat.attach(req);
      res.end('ok');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const base = `127.0.0.1:${(app.address() as AddressInfo).port}`;
    await fetch(`http://${base}/`); // the first ordinary request attaches the upgrade listener
    const attempt = (origin: string | undefined) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://${base}/api/chat/1`, origin === undefined ? {} : { origin });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    expect(await attempt('http://evil.example')).toBe(403);
    expect(await attempt('null')).toBe(403);
    expect(await attempt(`http://${base}`)).toBe(101);
    expect(await attempt(undefined)).toBe(101); // not a browser: no Origin, no cookie to abuse
    expect((await fetch(`http://${base}/`)).status).toBe(200);
    await chat.close();
    app.close();
  });
});

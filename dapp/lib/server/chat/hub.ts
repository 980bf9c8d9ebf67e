/**
 * Live chat per stream over WebSocket (`/api/chat/:streamId`), in the app's process. Anyone may read;
 * only a signed-in account (the wallet sign-in's session cookie) may post or react. Messages, bans,
 * moderators and each stream's settings are kept in the history's database (store.ts: PGlite or
 * PostgreSQL), so they outlast a restart and a reconnect.
 *
 * Badges come from the chain, never from the client: `creator` (the registry's), `moderator` (named
 * by the creator), `paying` (the media server is serving the account's tab video on this stream now),
 * `subscriber` (the payment handler says so). A creator may require payment to post: then only
 * paying viewers, subscribers, the creator and moderators may.
 *
 * Moderation (creator and moderators): delete a message, time out or ban an account, slow mode, a
 * word filter; the creator alone names moderators and requires payment. Limits: a message of at most
 * 500 bytes, per account 1 message a second (burst 5), per IP 5 a second (burst 20), reactions 5 a
 * second, moderation 5 a second (burst 20); one frame of a connection at a time, in order; a
 * connection that answers no ping for 30 s is closed.
 * Reactions are counted per stream and sent once a second; tips arrive from the indexer once their
 * block is final (`tipped`).
 *
 * Several app processes on one PostgreSQL database make one chat: what a hub sends its own clients it
 * also publishes (`pg_notify` on `vilo_chat`), and every other hub delivers it to its clients — a
 * message, a deletion, a ban, a settings change (which also drops that hub's cached settings), and
 * the reactions counted there (merged into the next second's). Tips are not published: every process
 * has an indexer of its own that finds them. Rate limits and slow mode are per process.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Sql } from '../history/db.ts';
import { ChatStore, type ChatSettings } from './store.ts';

export type { ChatSettings };
import { TokenBuckets } from '../media/http.ts';
import { ChatRefusal, filteredWord, parseFrame, REACTIONS, type ClientFrame, type Reaction } from './rules.ts';


/** What the chain says about an account on a stream. */
export interface ChatRoles {
  creatorOf(streamId: bigint): Promise<string | null>;
  /** Whether the media server is serving this account's (tab) video on the stream now. */
  paying(streamId: bigint, account: string): Promise<boolean>;
  subscribed(streamId: bigint, account: string): Promise<boolean>;
}

export type Badge = 'creator' | 'moderator' | 'paying' | 'subscriber';

export interface ChatMessage {
  id: number;
  author: string;
  text: string;
  atMs: number;
  badges: Badge[];
}


interface Client {
  ws: WebSocket;
  streamId: bigint;
  account: string | null;
  ip: string;
  /** One frame at a time per connection, in order. */
  queue: Promise<void>;
  alive: boolean;
}

const CHANNEL = 'vilo_chat';
/** What a hub publishes to the others. */
interface Published {
  from: string;
  streamId: string;
  frame: { type: string } & Record<string, unknown>;
}

/** How many messages a newcomer gets. */
const BACKLOG = 50;

export class ChatHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4_096 });
  private readonly rooms = new Map<string, Set<Client>>();
  private readonly perAccount = new TokenBuckets(1, 5);
  private readonly perIp = new TokenBuckets(5, 20);
  private readonly reactionsPer = new TokenBuckets(5, 10);
  private readonly moderationPer = new TokenBuckets(5, 20);
  private readonly lastPost = new Map<string, number>();
  private readonly reactions = new Map<string, Map<Reaction, number>>();
  /** Reactions other hubs counted, added to this hub's next second. */
  private readonly remoteReactions = new Map<string, Map<string, number>>();
  private readonly instance = randomUUID();
  private unlisten: (() => Promise<void>) | null = null;
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly store: ChatStore;
  private readonly ready: Promise<void>;

  private readonly heartbeat: ReturnType<typeof setInterval>;

  /**
   * `scope` names what the rows belong to (the deployment: a new chain's stream 1 is another stream);
   * rows kept under another scope are dropped, so no chat, ban or moderator is inherited.
   */
  constructor(
    private readonly db: Sql,
    scope: string,
    private readonly roles: ChatRoles,
    private readonly now = () => Date.now(),
  ) {
    this.store = new ChatStore(db, scope, now);
    this.ready = this.store.ready.then(async () => {
      this.unlisten = await db.listen(CHANNEL, (payload) => this.fromOtherHub(payload));
    });
    this.ready.catch(() => {});
    this.ticker = setInterval(() => this.flushReactions(), 1_000);
    this.ticker.unref?.();
    // A connection that answers no ping for 30 s is gone: let it go.
    this.heartbeat = setInterval(() => {
      for (const room of this.rooms.values()) {
        for (const c of room) {
          if (!c.alive) c.ws.terminate();
          else {
            c.alive = false;
            c.ws.ping();
          }
        }
      }
    }, 30_000);
    this.heartbeat.unref?.();
  }

  /** Takes over an HTTP upgrade to `/api/chat/:streamId`; `account`: the signed-in account, if any. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, streamId: bigint, account: string | null, ip: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.join({ ws, streamId, account, ip, queue: Promise.resolve(), alive: true }));
  }

  /** Connected clients of a stream. */
  count(streamId: bigint): number {
    return this.rooms.get(streamId.toString())?.size ?? 0;
  }

  /** A tip in a final block: shown to everyone in the stream's chat, highlighted. */
  tipped(t: { streamId: bigint; from: string; amount: bigint; fee: bigint; message: string; block: number; event: number }): void {
    this.deliver(t.streamId, { type: 'tip', id: `${t.block}.${t.event}`, from: t.from, amount: t.amount.toString(), fee: t.fee.toString(), message: t.message, block: t.block });
  }

  async close(): Promise<void> {
    await this.ready.catch(() => {});
    await this.unlisten?.().catch(() => {});
    clearInterval(this.ticker);
    clearInterval(this.heartbeat);
    for (const c of this.wss.clients) c.close(1001, 'server closing');
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private async join(c: Client): Promise<void> {
    const key = c.streamId.toString();
    let room = this.rooms.get(key);
    if (!room) this.rooms.set(key, (room = new Set()));
    room.add(c);
    c.ws.on('close', () => {
      room.delete(c);
      if (!room.size) this.rooms.delete(key);
    });
    c.ws.on('pong', () => (c.alive = true));
    c.ws.on('error', () => c.ws.terminate());
    c.ws.on('message', (data, binary) => {
      c.alive = true;
      const raw = binary ? '' : data.toString();
      c.queue = c.queue.then(() => this.receive(c, raw));
    });
    try {
      await this.ready;
      const [stored, settings, badges, ban] = await Promise.all([
        this.store.backlog(c.streamId, BACKLOG),
        this.store.settings(c.streamId),
        c.account ? this.badges(c.streamId, c.account) : Promise.resolve([] as Badge[]),
        c.account ? this.store.banOf(c.streamId, c.account) : Promise.resolve(null),
      ]);
      const backlog: ChatMessage[] = stored.map((m) => ({ ...m, badges: [] }));
      // The creator and moderators also get who moderates and who is banned, to undo either.
      const staff = badges.includes('creator') || badges.includes('moderator') ? await this.store.staffLists(c.streamId) : null;
      this.send(c, { type: 'hello', account: c.account, badges, settings, messages: backlog, reactions: REACTIONS, banned: ban, staff });
    } catch (e) {
      this.send(c, { type: 'error', message: `the chat could not be read: ${(e as Error).message}` });
    }
  }

  private async receive(c: Client, raw: string): Promise<void> {
    let frame: ClientFrame;
    try {
      frame = parseFrame(raw);
      if (!c.account) throw new ChatRefusal('SignInRequired', 'sign in with your wallet to chat');
      await this.ready;
      await this.apply(c, c.account, frame);
    } catch (e) {
      if (e instanceof ChatRefusal) this.send(c, { type: 'refused', error: e.error, message: e.message });
      else this.send(c, { type: 'error', message: `the chat failed on that: ${(e as Error).message}` });
    }
  }

  private async apply(c: Client, me: string, f: ClientFrame): Promise<void> {
    const sid = c.streamId;
    if (f.type === 'say') {
      if (!this.perIp.take(c.ip) || !this.perAccount.take(`${sid}:${me}`)) throw new ChatRefusal('RateLimited', 'too many messages: wait a moment');
      const [settings, badges, ban] = await Promise.all([this.store.settings(sid), this.badges(sid, me), this.store.banOf(sid, me)]);
      const staff = badges.includes('creator') || badges.includes('moderator');
      if (ban && !staff) {
        throw ban.untilMs === null
          ? new ChatRefusal('Banned', 'you are banned from this chat')
          : new ChatRefusal('TimedOut', `you are timed out until ${new Date(ban.untilMs).toISOString()}`);
      }
      if (settings.requirePayment && !staff && !badges.includes('paying') && !badges.includes('subscriber')) {
        throw new ChatRefusal('PaymentRequired', 'the creator asks that only paying viewers and subscribers chat: watch or subscribe to post');
      }
      const word = filteredWord(f.text, settings.words);
      if (word && !staff) throw new ChatRefusal('WordFiltered', `the message has a word this chat does not allow ("${word}")`);
      const key = `${sid}:${me}`;
      const last = this.lastPost.get(key) ?? 0;
      if (settings.slowSeconds && !staff && this.now() - last < settings.slowSeconds * 1000) {
        throw new ChatRefusal('SlowMode', `slow mode: one message every ${settings.slowSeconds} s`);
      }
      // Taken now, with no await since the check: two connections of one account cannot both pass.
      const atMs = this.now();
      if (this.lastPost.size > 50_000) this.lastPost.clear();
      this.lastPost.set(key, atMs);
      let id: number;
      try {
        id = await this.store.addMessage(sid, me, f.text, atMs);
      } catch (e) {
        if (this.lastPost.get(key) === atMs) this.lastPost.set(key, last);
        throw e;
      }
      const message: ChatMessage = { id, author: me, text: f.text, atMs, badges };
      this.broadcast(sid, { type: 'message', message });
      return;
    }
    if (f.type === 'react') {
      if (!this.reactionsPer.take(`${sid}:${me}`)) throw new ChatRefusal('RateLimited', 'too many reactions: wait a moment');
      const ban = await this.store.banOf(sid, me);
      if (ban) throw new ChatRefusal(ban.untilMs === null ? 'Banned' : 'TimedOut', 'a banned or timed-out account cannot react');
      const counts = this.reactions.get(sid.toString()) ?? new Map<Reaction, number>();
      counts.set(f.reaction, (counts.get(f.reaction) ?? 0) + 1);
      this.reactions.set(sid.toString(), counts);
      return;
    }
    // Moderation.
    if (!this.moderationPer.take(me)) throw new ChatRefusal('RateLimited', 'too many moderation actions: wait a moment');
    const creator = await this.roles.creatorOf(sid);
    const isCreator = creator === me;
    if (f.type === 'moderator' || f.type === 'requirePayment') {
      if (!isCreator) throw new ChatRefusal('NotCreator', 'only the stream’s creator may do that');
    } else if (!isCreator && !(await this.store.isModerator(sid, me))) {
      throw new ChatRefusal('NotModerator', 'only the creator and the moderators they name may moderate');
    }
    switch (f.type) {
      case 'delete': {
        if (!(await this.store.deleteMessage(sid, f.id, me))) throw new ChatRefusal('NoSuchMessage', `no message ${f.id} in this chat`);
        this.broadcast(sid, { type: 'deleted', id: f.id, by: me });
        return;
      }
      case 'timeout':
      case 'ban': {
        if (f.account === creator) throw new ChatRefusal('NotCreator', 'the creator cannot be banned from their own chat');
        const untilMs = f.type === 'timeout' ? this.now() + f.seconds * 1000 : null;
        await this.store.ban(sid, f.account, untilMs, me);
        this.broadcast(sid, { type: 'banned', account: f.account, untilMs, by: me });
        return;
      }
      case 'unban':
        await this.store.unban(sid, f.account);
        this.broadcast(sid, { type: 'unbanned', account: f.account, by: me });
        return;
      case 'moderator':
        await this.store.setModerator(sid, f.account, f.on);
        this.broadcast(sid, { type: 'moderator', account: f.account, on: f.on });
        return;
      case 'slow':
      case 'words':
      case 'requirePayment': {
        const change = f.type === 'slow' ? { slowSeconds: f.seconds } : f.type === 'words' ? { words: f.words } : { requirePayment: f.on };
        this.broadcast(sid, { type: 'settings', settings: await this.store.set(sid, change) });
        return;
      }
    }
  }

  /** The account's badges on the stream, from the chain and the media server (a read that fails gives no badge). */
  private async badges(streamId: bigint, account: string): Promise<Badge[]> {
    const [creator, mod, paying, sub] = await Promise.all([
      this.roles.creatorOf(streamId).catch(() => null),
      this.store.isModerator(streamId, account),
      this.roles.paying(streamId, account).catch(() => false),
      this.roles.subscribed(streamId, account).catch(() => false),
    ]);
    const out: Badge[] = [];
    if (creator === account) out.push('creator');
    if (mod) out.push('moderator');
    if (paying) out.push('paying');
    if (sub) out.push('subscriber');
    return out;
  }

  private flushReactions(): void {
    const streams = new Set([...this.reactions.keys(), ...this.remoteReactions.keys()]);
    for (const key of streams) {
      const local = this.reactions.get(key);
      const counts: Record<string, number> = {};
      for (const m of [local, this.remoteReactions.get(key)]) for (const [r, n] of m ?? []) counts[r] = (counts[r] ?? 0) + n;
      this.deliver(BigInt(key), { type: 'reactions', counts, atMs: this.now() });
      // Only this hub's own counts go to the others (theirs came from them).
      if (local?.size) this.publish(BigInt(key), { type: 'reactions', counts: Object.fromEntries(local) });
    }
    this.reactions.clear();
    this.remoteReactions.clear();
  }

  /** To this hub's clients of the stream, and through the database to the other hubs'. */
  private broadcast(streamId: bigint, frame: { type: string } & Record<string, unknown>): void {
    this.deliver(streamId, frame);
    this.publish(streamId, frame);
  }

  private publish(streamId: bigint, frame: { type: string } & Record<string, unknown>): void {
    const payload: Published = { from: this.instance, streamId: streamId.toString(), frame };
    void this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(payload)]).catch(() => {});
  }

  private fromOtherHub(raw: string): void {
    let p: Published;
    try {
      p = JSON.parse(raw) as Published;
    } catch {
      return;
    }
    if (p.from === this.instance || !/^\d{1,19}$/.test(p.streamId)) return;
    if (p.frame.type === 'reactions') {
      const m = this.remoteReactions.get(p.streamId) ?? new Map<string, number>();
      for (const [r, n] of Object.entries(p.frame.counts as Record<string, number>)) m.set(r, (m.get(r) ?? 0) + Number(n));
      this.remoteReactions.set(p.streamId, m);
      return;
    }
    if (p.frame.type === 'settings') this.store.forget(BigInt(p.streamId));
    this.deliver(BigInt(p.streamId), p.frame);
  }

  /** To this hub's clients of the stream. */
  private deliver(streamId: bigint, frame: unknown): void {
    const room = this.rooms.get(streamId.toString());
    if (!room) return;
    const data = JSON.stringify(frame);
    for (const c of room) if (c.ws.readyState === c.ws.OPEN) c.ws.send(data);
  }

  private send(c: Client, frame: unknown): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(frame));
  }
}

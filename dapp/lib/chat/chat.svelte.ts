/**
 * A stream's live chat in the browser (dapp/lib/server/chat/hub.ts is the other end): one WebSocket,
 * reconnected with backoff (1 s … 15 s) while the page is open; messages, tips, reactions per second,
 * moderation. What the server refuses comes back as a sentence in `notice`.
 */
import type { Badge, ChatMessage, ChatSettings } from '../server/chat/hub.ts';

export type { Badge, ChatMessage, ChatSettings };

export interface ChatTip {
  kind: 'tip';
  id: string;
  from: string;
  amount: bigint;
  fee: bigint;
  message: string;
  block: number;
}

export type ChatLine = ({ kind: 'message' } & ChatMessage) | ChatTip;

export class ChatState {
  lines = $state<ChatLine[]>([]);
  status = $state<'connecting' | 'open' | 'closed'>('connecting');
  account = $state<string | null>(null);
  badges = $state<Badge[]>([]);
  settings = $state<ChatSettings>({ slowSeconds: 0, requirePayment: false, words: [] });
  reactionChoices = $state<string[]>([]);
  /** Reactions of the last second, by emoji. */
  reactions = $state<Record<string, number>>({});
  /** The account's own ban, if any (untilMs null: for good). */
  banned = $state<{ untilMs: number | null } | null>(null);
  /** For the creator and moderators: who moderates, and who is banned or timed out now. */
  moderators = $state<string[]>([]);
  bans = $state<{ account: string; untilMs: number | null }[]>([]);
  /** The last refusal or error, as a sentence. */
  notice = $state<{ error: string; message: string } | null>(null);
  #ws: WebSocket | null = null;
  /** Lines that arrive between connecting and the hello (which brings the backlog they follow). */
  #early: ChatLine[] | null = null;
  #closed = false;
  #retry = 1_000;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly streamId: bigint) {}

  get isStaff(): boolean {
    return this.badges.includes('creator') || this.badges.includes('moderator');
  }

  connect(): void {
    if (this.#closed) return;
    const url = new URL(`/api/chat/${this.streamId}`, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = (this.#ws = new WebSocket(url));
    this.#early = [];
    this.status = 'connecting';
    ws.onopen = () => {
      this.status = 'open';
      this.#retry = 1_000;
    };
    ws.onmessage = (e) => this.#receive(JSON.parse(String(e.data)) as Record<string, unknown>);
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.status = 'closed';
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.connect(), this.#retry);
      this.#retry = Math.min(15_000, this.#retry * 2);
    };
  }

  /** Reconnects now (after signing in or out: the server reads the cookie when the chat connects). */
  reconnect(): void {
    const old = this.#ws;
    this.#ws = null;
    old?.close();
    clearTimeout(this.#timer);
    this.connect();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.close();
  }

  say(text: string): void {
    this.#send({ type: 'say', text });
  }
  react(reaction: string): void {
    this.#send({ type: 'react', reaction });
  }
  remove(id: number): void {
    this.#send({ type: 'delete', id });
  }
  timeout(account: string, seconds: number): void {
    this.#send({ type: 'timeout', account, seconds });
  }
  ban(account: string): void {
    this.#send({ type: 'ban', account });
  }
  unban(account: string): void {
    this.#send({ type: 'unban', account });
  }
  setSlow(seconds: number): void {
    this.#send({ type: 'slow', seconds });
  }
  setWords(words: string[]): void {
    this.#send({ type: 'words', words });
  }
  setModerator(account: string, on: boolean): void {
    this.#send({ type: 'moderator', account, on });
  }
  setRequirePayment(on: boolean): void {
    this.#send({ type: 'requirePayment', on });
  }

  #add(line: ChatLine): void {
    if (this.#early) this.#early.push(line);
    else this.lines = [...this.lines, line].slice(-200);
  }

  #send(frame: unknown): void {
    this.notice = null;
    if (this.#ws?.readyState !== WebSocket.OPEN) {
      this.notice = { error: 'NotConnected', message: 'The chat is reconnecting; try again in a moment.' };
      return;
    }
    this.#ws.send(JSON.stringify(frame));
  }

  #receive(f: Record<string, unknown>): void {
    switch (f.type) {
      case 'hello':
        this.account = f.account as string | null;
        this.badges = f.badges as Badge[];
        this.settings = f.settings as ChatSettings;
        this.reactionChoices = f.reactions as string[];
        this.banned = f.banned as { untilMs: number | null } | null;
        {
          const backlog = (f.messages as ChatMessage[]).map((m) => ({ kind: 'message' as const, ...m }));
          const have = new Set(backlog.map((m) => m.id));
          this.lines = [...backlog, ...(this.#early ?? []).filter((l) => l.kind === 'tip' || !have.has(l.id))];
          this.#early = null;
        }
        this.moderators = (f.staff as { moderators: string[] } | null)?.moderators ?? [];
        this.bans = (f.staff as { bans: { account: string; untilMs: number | null }[] } | null)?.bans ?? [];
        return;
      case 'message':
        this.#add({ kind: 'message' as const, ...(f.message as ChatMessage) });
        return;
      case 'tip':
        this.#add({ kind: 'tip' as const, id: `tip-${f.id as string}`, from: f.from as string, amount: BigInt(f.amount as string), fee: BigInt(f.fee as string), message: f.message as string, block: f.block as number });
        return;
      case 'deleted':
        this.lines = this.lines.filter((l) => l.kind !== 'message' || l.id !== f.id);
        return;
      case 'banned':
        if (f.account === this.account) this.banned = { untilMs: f.untilMs as number | null };
        this.bans = [{ account: f.account as string, untilMs: f.untilMs as number | null }, ...this.bans.filter((b) => b.account !== f.account)];
        return;
      case 'unbanned':
        if (f.account === this.account) this.banned = null;
        this.bans = this.bans.filter((b) => b.account !== f.account);
        return;
      case 'moderator':
        this.moderators = f.on ? [...new Set([...this.moderators, f.account as string])] : this.moderators.filter((m) => m !== f.account);
        if (f.account === this.account) this.badges = f.on ? [...new Set([...this.badges, 'moderator' as const])] : this.badges.filter((b) => b !== 'moderator');
        return;
      case 'settings':
        this.settings = f.settings as ChatSettings;
        return;
      case 'reactions':
        this.reactions = f.counts as Record<string, number>;
        setTimeout(() => (this.reactions = {}), 1_500);
        return;
      case 'refused':
      case 'error':
        this.notice = { error: (f.error as string) ?? 'Error', message: f.message as string };
        return;
    }
  }
}

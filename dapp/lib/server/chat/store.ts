/**
 * The chat's rows (messages, bans, moderators, each stream's settings) in the history's database — one
 * schema for PGlite and PostgreSQL. Rows belong to a deployment (`scope`): rows of another are dropped
 * when the store opens, so a new chain's stream 1 inherits nothing of an old stream 1.
 */
import type { Sql } from '../history/db.ts';

const CHAT_SCHEMA = `
CREATE TABLE IF NOT EXISTS chat_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chat_messages (
  id BIGSERIAL PRIMARY KEY,
  stream_id BIGINT NOT NULL,
  author TEXT NOT NULL,
  body TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  deleted_by TEXT
);
CREATE INDEX IF NOT EXISTS chat_messages_stream ON chat_messages (stream_id, id);
CREATE TABLE IF NOT EXISTS chat_bans (
  stream_id BIGINT NOT NULL,
  account TEXT NOT NULL,
  until_ms BIGINT,
  by_account TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY (stream_id, account)
);
CREATE TABLE IF NOT EXISTS chat_moderators (
  stream_id BIGINT NOT NULL,
  account TEXT NOT NULL,
  PRIMARY KEY (stream_id, account)
);
CREATE TABLE IF NOT EXISTS chat_settings (
  stream_id BIGINT PRIMARY KEY,
  slow_s INT NOT NULL DEFAULT 0,
  require_payment BOOLEAN NOT NULL DEFAULT false,
  words JSONB NOT NULL DEFAULT '[]'
);
`;

const CHAT_TABLES = ['chat_messages', 'chat_bans', 'chat_moderators', 'chat_settings'];

export interface StoredMessage {
  id: number;
  author: string;
  text: string;
  atMs: number;
}

export interface ChatSettings {
  slowSeconds: number;
  requirePayment: boolean;
  words: string[];
}

export interface Ban {
  /** null: for good. */
  untilMs: number | null;
}

export class ChatStore {
  /** Resolves once the schema is there and the rows are this deployment's. */
  readonly ready: Promise<void>;
  private readonly settingsCache = new Map<string, Promise<ChatSettings>>();

  constructor(
    readonly db: Sql,
    scope: string,
    private readonly now = () => Date.now(),
  ) {
    this.ready = (async () => {
      await db.exec(CHAT_SCHEMA);
      const [stored] = await db.query<{ value: string }>(`SELECT value FROM chat_meta WHERE key = 'scope'`);
      if (stored?.value === scope) return;
      await db.transaction(async (tx) => {
        for (const t of CHAT_TABLES) await tx.query(`DELETE FROM ${t}`);
        await tx.query(`INSERT INTO chat_meta (key, value) VALUES ('scope', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [scope]);
      });
    })();
    this.ready.catch(() => {});
  }

  async addMessage(streamId: bigint, author: string, text: string, atMs: number): Promise<number> {
    const [row] = await this.db.query<{ id: string }>('INSERT INTO chat_messages (stream_id, author, body, at_ms) VALUES ($1, $2, $3, $4) RETURNING id', [
      streamId.toString(),
      author,
      text,
      atMs,
    ]);
    return Number(row.id);
  }

  /** Whether a message of the stream was there to delete. */
  async deleteMessage(streamId: bigint, id: number, by: string): Promise<boolean> {
    const rows = await this.db.query('UPDATE chat_messages SET deleted_by = $1 WHERE id = $2 AND stream_id = $3 AND deleted_by IS NULL RETURNING id', [by, id, streamId.toString()]);
    return rows.length > 0;
  }

  /** The last `limit` messages not deleted, oldest first. */
  async backlog(streamId: bigint, limit: number): Promise<StoredMessage[]> {
    const rows = await this.db.query<{ id: string; author: string; body: string; at_ms: string }>(
      `SELECT id, author, body, at_ms FROM chat_messages WHERE stream_id = $1 AND deleted_by IS NULL ORDER BY id DESC LIMIT $2`,
      [streamId.toString(), limit],
    );
    return rows.reverse().map((r) => ({ id: Number(r.id), author: r.author, text: r.body, atMs: Number(r.at_ms) }));
  }

  async ban(streamId: bigint, account: string, untilMs: number | null, by: string): Promise<void> {
    await this.db.query(
      `INSERT INTO chat_bans (stream_id, account, until_ms, by_account, at_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (stream_id, account) DO UPDATE SET until_ms = excluded.until_ms, by_account = excluded.by_account, at_ms = excluded.at_ms`,
      [streamId.toString(), account, untilMs, by, this.now()],
    );
  }

  async unban(streamId: bigint, account: string): Promise<void> {
    await this.db.query('DELETE FROM chat_bans WHERE stream_id = $1 AND account = $2', [streamId.toString(), account]);
  }

  /** The account's ban on the stream now (a timeout that has run out is none). */
  async banOf(streamId: bigint, account: string): Promise<Ban | null> {
    const [r] = await this.db.query<{ until_ms: string | null }>('SELECT until_ms FROM chat_bans WHERE stream_id = $1 AND account = $2', [streamId.toString(), account]);
    if (!r) return null;
    const untilMs = r.until_ms === null ? null : Number(r.until_ms);
    return untilMs !== null && untilMs <= this.now() ? null : { untilMs };
  }

  async setModerator(streamId: bigint, account: string, on: boolean): Promise<void> {
    await this.db.query(
      on ? 'INSERT INTO chat_moderators (stream_id, account) VALUES ($1, $2) ON CONFLICT DO NOTHING' : 'DELETE FROM chat_moderators WHERE stream_id = $1 AND account = $2',
      [streamId.toString(), account],
    );
  }

  async isModerator(streamId: bigint, account: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM chat_moderators WHERE stream_id = $1 AND account = $2', [streamId.toString(), account])).length > 0;
  }

  /** Who moderates the stream, and who is banned or timed out now (the last 100). */
  async staffLists(streamId: bigint): Promise<{ moderators: string[]; bans: ({ account: string } & Ban)[] }> {
    const [mods, bans] = await Promise.all([
      this.db.query<{ account: string }>('SELECT account FROM chat_moderators WHERE stream_id = $1 ORDER BY account', [streamId.toString()]),
      this.db.query<{ account: string; until_ms: string | null }>(
        'SELECT account, until_ms FROM chat_bans WHERE stream_id = $1 AND (until_ms IS NULL OR until_ms > $2) ORDER BY at_ms DESC LIMIT 100',
        [streamId.toString(), this.now()],
      ),
    ]);
    return { moderators: mods.map((m) => m.account), bans: bans.map((b) => ({ account: b.account, untilMs: b.until_ms === null ? null : Number(b.until_ms) })) };
  }

  /** The stream's settings, cached until they change here (`set`) or elsewhere (`forget`). */
  settings(streamId: bigint): Promise<ChatSettings> {
    const key = streamId.toString();
    let s = this.settingsCache.get(key);
    if (!s) {
      s = this.db
        .query<{ slow_s: number; require_payment: boolean; words: string[] | string }>('SELECT slow_s, require_payment, words FROM chat_settings WHERE stream_id = $1', [key])
        .then(([r]) => ({
          slowSeconds: r ? Number(r.slow_s) : 0,
          requirePayment: r ? Boolean(r.require_payment) : false,
          words: r ? (typeof r.words === 'string' ? (JSON.parse(r.words) as string[]) : r.words) : [],
        }));
      s.catch(() => this.settingsCache.delete(key));
      if (this.settingsCache.size > 10_000) this.settingsCache.clear();
      this.settingsCache.set(key, s);
    }
    return s;
  }

  async set(streamId: bigint, change: { slowSeconds: number } | { words: string[] } | { requirePayment: boolean }): Promise<ChatSettings> {
    const [column, value] =
      'slowSeconds' in change ? ['slow_s', change.slowSeconds] : 'words' in change ? ['words', JSON.stringify(change.words)] : ['require_payment', change.requirePayment];
    await this.db.query(`INSERT INTO chat_settings (stream_id, ${column}) VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET ${column} = excluded.${column}`, [
      streamId.toString(),
      value,
    ]);
    this.forget(streamId);
    return this.settings(streamId);
  }

  /** Drops the cached settings of a stream (another process changed them). */
  forget(streamId: bigint): void {
    this.settingsCache.delete(streamId.toString());
  }
}

/**
 * The media server's durable state, in SQLite (Node 22's built-in node:sqlite, WAL mode):
 * - `stream_keys`: the SHA-256 of each stream's current publishing key (never the key itself) and
 *   the timestamp of the creator's signed request that made it (a replayed request is refused).
 * - the tab relay's tables (tab-store.ts), in the same database.
 * A database from before protocol v2 also has a `vouchers` table (protocol v1 sessions); nothing
 * reads it any more, and it is left as it was.
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class Store {
  readonly db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS stream_keys (
        stream_id TEXT PRIMARY KEY,
        key_sha256 TEXT NOT NULL,
        request_ts_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
    `);
  }

  keyHash(streamId: bigint): { keySha256: string; requestTsMs: number } | undefined {
    const r = this.db.prepare('SELECT key_sha256, request_ts_ms FROM stream_keys WHERE stream_id = ?').get(streamId.toString()) as
      | { key_sha256: string; request_ts_ms: number }
      | undefined;
    return r && { keySha256: r.key_sha256, requestTsMs: Number(r.request_ts_ms) };
  }

  /** The stream whose current key hashes to `keySha256` (RTMP names no stream, only the key). */
  streamForKeyHash(keySha256: string): bigint | undefined {
    const r = this.db.prepare('SELECT stream_id FROM stream_keys WHERE key_sha256 = ?').get(keySha256) as { stream_id: string } | undefined;
    return r ? BigInt(r.stream_id) : undefined;
  }

  setKeyHash(streamId: bigint, keySha256: string, requestTsMs: number): void {
    this.db
      .prepare(
        `INSERT INTO stream_keys (stream_id, key_sha256, request_ts_ms, created_at_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET key_sha256 = excluded.key_sha256,
           request_ts_ms = excluded.request_ts_ms, created_at_ms = excluded.created_at_ms`,
      )
      .run(streamId.toString(), keySha256, requestTsMs, Date.now());
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * The media server's durable state, in SQLite (Node 22's built-in node:sqlite, WAL mode):
 * - `vouchers`: the latest accepted voucher of each (stream, viewer, session) and the count the relay
 *   has settled on chain. Written before the HTTP 202, so an accepted voucher survives a crash.
 * - `stream_keys`: the SHA-256 of each stream's current publishing key (never the key itself) and
 *   the timestamp of the creator's signed request that made it (a replayed request is refused).
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StoredVoucher {
  streamId: bigint;
  viewer: string;
  sessionId: bigint;
  cumulativeTicks: bigint;
  signature: `0x${string}`;
  /** Highest count settled on chain by this relay (0 until the first settlement). */
  settledTicks: bigint;
  /** ms since the epoch when the latest voucher was accepted. */
  receivedAtMs: number;
}

export class Store {
  readonly db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS vouchers (
        stream_id TEXT NOT NULL,
        viewer TEXT NOT NULL,
        session_id TEXT NOT NULL,
        cumulative_ticks TEXT NOT NULL,
        signature TEXT NOT NULL,
        settled_ticks TEXT NOT NULL DEFAULT '0',
        received_at_ms INTEGER NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (stream_id, viewer, session_id)
      );
      CREATE TABLE IF NOT EXISTS stream_keys (
        stream_id TEXT PRIMARY KEY,
        key_sha256 TEXT NOT NULL,
        request_ts_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
    `);
  }

  private row(r: Record<string, unknown> | undefined): StoredVoucher | undefined {
    if (!r) return undefined;
    return {
      streamId: BigInt(r.stream_id as string),
      viewer: r.viewer as string,
      sessionId: BigInt(r.session_id as string),
      cumulativeTicks: BigInt(r.cumulative_ticks as string),
      signature: r.signature as `0x${string}`,
      settledTicks: BigInt(r.settled_ticks as string),
      receivedAtMs: Number(r.received_at_ms),
    };
  }

  latest(streamId: bigint, viewer: string, sessionId: bigint): StoredVoucher | undefined {
    return this.row(
      this.db
        .prepare('SELECT * FROM vouchers WHERE stream_id = ? AND viewer = ? AND session_id = ?')
        .get(streamId.toString(), viewer, sessionId.toString()) as Record<string, unknown> | undefined,
    );
  }

  /** Keeps `v` if it is newer than the stored voucher of its session (counts only grow). */
  saveLatest(v: Omit<StoredVoucher, 'settledTicks'>): void {
    this.db
      .prepare(
        `INSERT INTO vouchers (stream_id, viewer, session_id, cumulative_ticks, signature, received_at_ms)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream_id, viewer, session_id) DO UPDATE SET
           cumulative_ticks = excluded.cumulative_ticks, signature = excluded.signature,
           received_at_ms = excluded.received_at_ms
         WHERE CAST(excluded.cumulative_ticks AS INTEGER) > CAST(vouchers.cumulative_ticks AS INTEGER)`,
      )
      .run(v.streamId.toString(), v.viewer, v.sessionId.toString(), v.cumulativeTicks.toString(), v.signature, v.receivedAtMs);
  }

  /**
   * Vouchers due for settlement, oldest first, at most `limit`: not settled up to their count, and
   * either at least `minTicks` ahead of what is settled or last received at or before `idleSinceMs`
   * (the viewer's vouchers stopped, so this is their final count). The defaults make every unsettled
   * voucher due.
   */
  unsettled(limit: number, due: { minTicks?: bigint; idleSinceMs?: number } = {}): StoredVoucher[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM vouchers WHERE closed = 0
           AND CAST(cumulative_ticks AS INTEGER) > CAST(settled_ticks AS INTEGER)
           AND (CAST(cumulative_ticks AS INTEGER) - CAST(settled_ticks AS INTEGER) >= CAST(? AS INTEGER) OR received_at_ms <= ?)
           ORDER BY received_at_ms LIMIT ?`,
        )
        .all((due.minTicks ?? 1n).toString(), due.idleSinceMs ?? Number.MAX_SAFE_INTEGER, limit) as Record<string, unknown>[]
    ).map((r) => this.row(r)!);
  }

  /** Records that the chain has settled this session up to `ticks` (never lowers the record). */
  markSettled(streamId: bigint, viewer: string, sessionId: bigint, ticks: bigint): void {
    this.db
      .prepare(
        `UPDATE vouchers SET settled_ticks = ? WHERE stream_id = ? AND viewer = ? AND session_id = ?
         AND CAST(settled_ticks AS INTEGER) < ?`,
      )
      .run(ticks.toString(), streamId.toString(), viewer, sessionId.toString(), ticks.toString());
  }

  /** The session is gone on chain (left, out of funds, idle): stop trying to settle it. */
  markClosed(streamId: bigint, viewer: string, sessionId: bigint): void {
    this.db
      .prepare('UPDATE vouchers SET closed = 1 WHERE stream_id = ? AND viewer = ? AND session_id = ?')
      .run(streamId.toString(), viewer, sessionId.toString());
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

/**
 * The relay's durable record of tab vouchers (protocol v2), in the media server's SQLite database:
 * per (tab, watch) the highest count its session key signed, the whole signed voucher that carries it
 * (a voucher is settled as signed, all its claims together), and what the chain has settled. Written
 * before the HTTP 202, so an accepted voucher survives a crash; counts only grow.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { SignedTabVoucher } from '../../protocol/tab.ts';
import { fromTabWire, toTabWire } from '../../media/tab-wire.ts';

export interface StoredWatch {
  tabId: bigint;
  watch: number;
  streamId: bigint;
  ratePerSecond: bigint;
  /** Highest count signed. */
  ticks: bigint;
  /** The voucher that signed `ticks`. */
  voucher: SignedTabVoucher;
  /** ms since the epoch when `ticks` was accepted. */
  receivedAtMs: number;
  /** Highest count the chain has settled, as this relay's settlements reported it. */
  settledTicks: bigint;
  /** The watch was retired on chain (its slot freed): nothing more to settle. */
  retired: boolean;
}

export class TabStore {
  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS tab_watches (
        tab_id TEXT NOT NULL,
        watch INTEGER NOT NULL,
        stream_id TEXT NOT NULL,
        rate TEXT NOT NULL,
        ticks TEXT NOT NULL,
        voucher TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        settled_ticks TEXT NOT NULL DEFAULT '0',
        retired INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tab_id, watch)
      );
      CREATE TABLE IF NOT EXISTS tabs_gone (tab_id TEXT PRIMARY KEY);
    `);
  }

  private row(r: Record<string, unknown>): StoredWatch {
    return {
      tabId: BigInt(r.tab_id as string),
      watch: Number(r.watch),
      streamId: BigInt(r.stream_id as string),
      ratePerSecond: BigInt(r.rate as string),
      ticks: BigInt(r.ticks as string),
      voucher: fromTabWire(JSON.parse(r.voucher as string)),
      receivedAtMs: Number(r.received_at_ms),
      settledTicks: BigInt(r.settled_ticks as string),
      retired: Number(r.retired) === 1,
    };
  }

  /** The tab's watches as recorded, by watch number. */
  watches(tabId: bigint): StoredWatch[] {
    return (this.db.prepare('SELECT * FROM tab_watches WHERE tab_id = ? ORDER BY watch').all(tabId.toString()) as Record<string, unknown>[]).map((r) => this.row(r));
  }

  /** Records each claim of `v` that raises its watch's count; returns the watch numbers it raised. */
  save(v: SignedTabVoucher, receivedAtMs: number): number[] {
    const json = JSON.stringify(toTabWire(v));
    const raised: number[] = [];
    const upsert = this.db.prepare(
      `INSERT INTO tab_watches (tab_id, watch, stream_id, rate, ticks, voucher, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tab_id, watch) DO UPDATE SET ticks = excluded.ticks, voucher = excluded.voucher, received_at_ms = excluded.received_at_ms
       WHERE CAST(excluded.ticks AS INTEGER) > CAST(tab_watches.ticks AS INTEGER)`,
    );
    for (const c of v.claims) {
      const r = upsert.run(v.tabId.toString(), c.watch, c.streamId.toString(), c.ratePerSecond.toString(), c.ticks.toString(), json, receivedAtMs);
      if (Number(r.changes) > 0) raised.push(c.watch);
    }
    return raised;
  }

  /** Tabs with a watch signed beyond what is settled, not retired, and the tab not gone. */
  unsettledTabs(): bigint[] {
    return (
      this.db
        .prepare(
          `SELECT DISTINCT tab_id FROM tab_watches WHERE retired = 0
           AND CAST(ticks AS INTEGER) > CAST(settled_ticks AS INTEGER)
           AND tab_id NOT IN (SELECT tab_id FROM tabs_gone)`,
        )
        .all() as { tab_id: string }[]
    ).map((r) => BigInt(r.tab_id));
  }

  /** Plancks signed for `streamId` by tabs and not yet settled on chain (before the platform fee), and by how many watches. */
  pending(streamId: bigint): { plancks: bigint; watches: number } {
    const rows = this.db
      .prepare(
        `SELECT ticks, settled_ticks, rate FROM tab_watches WHERE stream_id = ? AND retired = 0
         AND CAST(ticks AS INTEGER) > CAST(settled_ticks AS INTEGER)
         AND tab_id NOT IN (SELECT tab_id FROM tabs_gone)`,
      )
      .all(streamId.toString()) as { ticks: string; settled_ticks: string; rate: string }[];
    const plancks = rows.reduce((sum, r) => sum + (BigInt(r.ticks) - BigInt(r.settled_ticks)) * BigInt(r.rate), 0n);
    return { plancks, watches: rows.length };
  }

  /** The chain settled `watch` up to `settled` (never lowers the record); `retired`: its slot was freed. */
  markSettled(tabId: bigint, watch: number, settled: bigint, retired: boolean): void {
    this.db
      .prepare(
        `UPDATE tab_watches SET settled_ticks = CASE WHEN CAST(settled_ticks AS INTEGER) < CAST(? AS INTEGER) THEN ? ELSE settled_ticks END,
         retired = MAX(retired, ?) WHERE tab_id = ? AND watch = ?`,
      )
      .run(settled.toString(), settled.toString(), retired ? 1 : 0, tabId.toString(), watch);
  }

  /** The tab is closed on chain (or its window is over): nothing of it can be settled any more. */
  markGone(tabId: bigint): void {
    this.db.prepare('INSERT OR IGNORE INTO tabs_gone (tab_id) VALUES (?)').run(tabId.toString());
  }

  isGone(tabId: bigint): boolean {
    return !!this.db.prepare('SELECT 1 FROM tabs_gone WHERE tab_id = ?').get(tabId.toString());
  }
}

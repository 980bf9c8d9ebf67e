/**
 * The history's database: one small interface over the two engines it runs on, with the same schema
 * and the same SQL (PostgreSQL's dialect, `$1` parameters):
 * - PGlite (PostgreSQL compiled to Wasm, in this process) — the default, a folder on disk, nothing to
 *   install or start (`npm run dev`);
 * - a PostgreSQL server (`postgres://…`), for scale: several app processes read one indexer's data.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { mkdirSync } from 'node:fs';

export interface Sql {
  /** Rows of one statement. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Several statements without parameters (the schema). */
  exec(text: string): Promise<void>;
  /**
   * Calls `onPayload` with each `pg_notify(channel, payload)` any process of this database sends
   * (this one's too); resolves with a function that stops listening.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Runs `fn` in one transaction: all of its writes commit, or none (it throws). */
  transaction<T>(fn: (tx: Pick<Sql, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly engine: 'pglite' | 'postgres';
}

export class DatabaseConfigError extends Error {
  override name = 'DatabaseConfigError';
}

/**
 * Opens `url`: `postgres://…` or `postgresql://…` (a server), `memory://` (PGlite in memory, for
 * tests), or a folder path (PGlite on disk, made if missing).
 */
export async function openDatabase(url: string): Promise<Sql> {
  if (/^postgres(ql)?:\/\//.test(url)) return postgres(url);
  if (url.includes('://') && url !== 'memory://') {
    throw new DatabaseConfigError(`the history database must be postgres://…, memory:// or a folder path, got "${url}"`);
  }
  if (url !== 'memory://') mkdirSync(url, { recursive: true });
  const db = new PGlite(url === 'memory://' ? undefined : url);
  await db.waitReady;
  const run = async <T>(q: { query: PGlite['query'] }, text: string, params?: unknown[]) => (await q.query<T>(text, params)).rows;
  return {
    engine: 'pglite',
    query: (text, params) => run(db, text, params),
    exec: async (text) => void (await db.exec(text)),
    listen: (channel, onPayload) => db.listen(channel, onPayload).then((stop) => () => stop()),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: (text, params) => run(tx, text, params),
          exec: async (text) => void (await tx.exec(text)),
        }),
      ),
    close: () => db.close(),
  };
}

async function postgres(url: string): Promise<Sql> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection the server drops (a restart) is replaced at the next query; without a
  // listener its error would end the process.
  pool.on('error', (e) => console.error(`[history] the PostgreSQL connection dropped: ${e.message}`));
  // A server that is not there is said now, not at the first query.
  const probe = await pool.connect().catch((e: Error) => {
    void pool.end();
    throw new DatabaseConfigError(`cannot connect to the history database ${redact(url)}: ${e.message}`);
  });
  probe.release();
  const run = async <T>(c: pg.Pool | pg.PoolClient, text: string, params?: unknown[]) => (await c.query(text, params)).rows as T[];
  return {
    engine: 'postgres',
    query: (text, params) => run(pool, text, params),
    exec: async (text) => void (await pool.query(text)),
    listen: (channel, onPayload) => listenPg(url, channel, onPayload),
    transaction: async (fn) => {
      const c = await pool.connect();
      let broken: Error | undefined;
      try {
        await c.query('BEGIN');
        const out = await fn({ query: (text, params) => run(c, text, params), exec: async (text) => void (await c.query(text)) });
        await c.query('COMMIT');
        return out;
      } catch (e) {
        // A connection that cannot even roll back is not given back to the pool.
        await c.query('ROLLBACK').catch((r: Error) => (broken = r));
        throw e;
      } finally {
        c.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/**
 * LISTEN on a connection of its own (a pooled one would be handed to other queries); when the server
 * drops it, listens again on a new one a second later (notifications sent in between are missed).
 */
async function listenPg(url: string, channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new DatabaseConfigError(`"${channel}" is not a channel name`);
  let client: pg.Client | null = null;
  let stopped = false;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => n.channel === channel && onPayload(n.payload ?? ''));
    c.on('error', (e) => {
      void c.end().catch(() => {});
      if (stopped) return;
      console.error(`[history] the LISTEN connection dropped: ${e.message}; listening again in 1 s`);
      setTimeout(() => void connect().catch(() => {}), 1_000);
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    client = c;
  };
  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => {});
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

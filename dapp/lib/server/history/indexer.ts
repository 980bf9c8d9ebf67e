/**
 * The event indexer: follows the chain's finalized blocks from the deployment's first block, decodes
 * every event of the four contracts and stores it, with the ledger rows it implies (ledger.ts), one
 * database transaction per block. It resumes from the highest stored block after a restart. Before
 * going on it checks that the stored tip is still the chain's block at that height; when it is not (a
 * block left the chain: a reorg, or a dev chain's head set back), it forgets stored blocks from the top
 * until one matches — each block's rows go with it — and indexes the chain's blocks from there, so
 * nothing is counted twice. A block is written only if its parent is the stored tip.
 */
import type { ApiPromise } from '@polkadot/api';
import type { EventRecord } from '@polkadot/types/interfaces';
import { PaymentHandlerContract } from '../../../../typechain/payment_handler.ts';
import { PricingEngineContract } from '../../../../typechain/pricing_engine.ts';
import { StreamRegistryContract } from '../../../../typechain/stream_registry.ts';
import { TickStreamContract } from '../../../../typechain/tick_stream.ts';
import type { Sql } from './db.ts';
import { argsJson, toLedger, type ContractName, type IndexedEvent } from './ledger.ts';
import { SCHEMA, SCHEMA_VERSION, TABLES } from './schema.ts';

export interface IndexerOptions {
  api: ApiPromise;
  db: Sql;
  /** The deployment: each contract's address. */
  contracts: Record<ContractName, string>;
  /** The first block to index (the deployment's first). */
  startBlock: number;
  log?: (line: string) => void;
  /** Blocks fetched at once while catching up (default 16). */
  window?: number;
  /** A chain request that has not answered in this long is given up and retried (default 30 000 ms). */
  rpcTimeoutMs?: number;
  /** How often the finalized head is asked for besides its subscription (default 6 000 ms). */
  pollMs?: number;
  /** Called with each block once stored that is within 3 blocks of the finalized head (not while catching up). */
  onBlock?: (b: FetchedBlock) => void;
}

export interface IndexerStatus {
  engine: Sql['engine'];
  fromBlock: number;
  indexedTo: { number: number; hash: string; atMs: number } | null;
  finalized: number | null;
  syncing: boolean;
  lastError: string | null;
}

export interface FetchedBlock {
  number: number;
  hash: string;
  parentHash: string;
  atMs: number;
  events: IndexedEvent[];
}

class RpcTimeout extends Error {
  override name = 'RpcTimeout';
}

export class Indexer {
  private readonly decoders = new Map<string, { name: ContractName; decode: (r: EventRecord[]) => { name: string; args: Record<string, unknown> }[] }>();
  private readonly viewers = new Map<string, string>();
  private readonly creators = new Map<string, string>();
  private finalized: number | null = null;
  private tip: { number: number; hash: string; atMs: number } | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastError: string | null = null;
  private unsubscribe: (() => void) | null = null;
  private poll: ReturnType<typeof setInterval> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private readonly log: (line: string) => void;

  private constructor(private readonly o: IndexerOptions) {
    this.log = o.log ?? ((l) => console.log(l));
    const { api, contracts: c } = o;
    const clients = {
      stream_registry: new StreamRegistryContract(api, c.stream_registry),
      pricing_engine: new PricingEngineContract(api, c.pricing_engine),
      tick_stream: new TickStreamContract(api, c.tick_stream),
      payment_handler: new PaymentHandlerContract(api, c.payment_handler),
    };
    for (const [name, client] of Object.entries(clients) as [ContractName, { decodeEvents(r: EventRecord[]): { name: string; args: Record<string, unknown> }[] }][]) {
      this.decoders.set(c[name], { name, decode: (r) => client.decodeEvents(r) });
    }
  }

  /** Prepares the database (schema; data of another deployment is dropped) and loads the cursor. */
  static async open(o: IndexerOptions): Promise<Indexer> {
    const ix = new Indexer(o);
    await o.db.exec(SCHEMA);
    const scope = JSON.stringify({ genesis: o.api.genesisHash.toHex(), contracts: o.contracts, version: SCHEMA_VERSION });
    const [stored] = await o.db.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'scope'`);
    if (stored && stored.value !== scope) {
      ix.log('[history] the database holds another deployment’s history: dropping it');
      await o.db.transaction(async (tx) => {
        for (const t of TABLES) await tx.query(`DELETE FROM ${t}`);
      });
    }
    if (!stored || stored.value !== scope) {
      await o.db.query(`INSERT INTO meta (key, value) VALUES ('scope', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [scope]);
    }
    await ix.load();
    return ix;
  }

  /** Follows the chain: indexes now, then at each finalized head (and every `pollMs`). */
  start(): void {
    this.kick();
    void this.o.api.rpc.chain
      .subscribeFinalizedHeads(() => this.kick())
      .then((u) => (this.stopped ? u() : (this.unsubscribe = u)))
      .catch(() => {});
    this.poll = setInterval(() => this.kick(), this.o.pollMs ?? 6_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.poll) clearInterval(this.poll);
    if (this.retry) clearTimeout(this.retry);
    await this.running?.catch(() => {});
  }

  status(): IndexerStatus {
    return {
      engine: this.o.db.engine,
      fromBlock: this.o.startBlock,
      indexedTo: this.tip,
      finalized: this.finalized,
      syncing: this.running !== null,
      lastError: this.lastError,
    };
  }

  /** Indexes up to the chain's finalized head as it is now; resolves once done (throws on a chain or database error). */
  async sync(): Promise<void> {
    while (this.running) await this.running.catch(() => {});
    this.running = this.syncOnce().finally(() => (this.running = null));
    return this.running;
  }

  /** Asks for a sync; several asks while one runs make one more. Errors are logged and retried with backoff. */
  private kick(): void {
    if (this.stopped) return;
    if (this.retry && this.failures > 0) return; // a retry is already set: its backoff holds
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.syncOnce()
      .then(
        () => {
          this.failures = 0;
          this.lastError = null;
          this.retry = null;
        },
        (e: Error) => {
          const message = `${e.name}: ${e.message}`;
          if (message !== this.lastError) this.log(`[history] indexing stopped at block ${this.tip?.number ?? '–'}: ${message}; retrying`);
          this.lastError = message;
          this.failures += 1;
          // The retry waits out its backoff even if new heads arrive meanwhile.
          this.again = false;
          if (!this.stopped)
            this.retry = setTimeout(() => {
              this.retry = null;
              this.kick();
            }, Math.min(30_000, 1_000 * 2 ** Math.min(this.failures, 5)));
        },
      )
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async syncOnce(): Promise<void> {
    const { api, db } = this.o;
    const finalizedHash = await this.rpc(() => api.rpc.chain.getFinalizedHead());
    const finalized = (await this.rpc(() => api.rpc.chain.getHeader(finalizedHash))).number.toNumber();
    this.finalized = finalized;
    // Forget stored blocks that are no longer the chain's (from the top).
    let forgotten = 0;
    while (this.tip) {
      if (this.tip.number <= finalized && (await this.hashAt(this.tip.number)) === this.tip.hash) break;
      await db.query('DELETE FROM blocks WHERE number >= $1', [this.tip.number]);
      forgotten += 1;
      await this.load();
    }
    if (forgotten) this.log(`[history] ${forgotten} block(s) left the chain and were forgotten; indexing again from block ${(this.tip?.number ?? this.o.startBlock - 1) + 1}`);
    const first = (this.tip?.number ?? this.o.startBlock - 1) + 1;
    const total = finalized - first + 1;
    let next = first;
    let lastLog = Date.now();
    const window = this.o.window ?? 16;
    while (next <= finalized && !this.stopped) {
      const numbers = Array.from({ length: Math.min(window, finalized - next + 1) }, (_, i) => next + i);
      const blocks = await Promise.all(numbers.map((n) => this.fetch(n)));
      for (const b of blocks) {
        // The chain changed while these were read: check the tip again.
        if (this.tip && b.parentHash !== this.tip.hash) return this.syncOnce();
        await this.write(b);
      }
      next += numbers.length;
      if (total > window && Date.now() - lastLog > 5_000) {
        lastLog = Date.now();
        this.log(`[history] catching up: block ${next - 1} of ${finalized} (${Math.round(((next - first) / total) * 100)} %)`);
      }
    }
  }

  private async fetch(number: number): Promise<FetchedBlock> {
    const { api } = this.o;
    const hash = await this.hashAt(number);
    if (!hash) throw new Error(`the chain has no block ${number}`);
    const [header, records, now] = await Promise.all([
      this.rpc(() => api.rpc.chain.getHeader(hash)),
      this.rpc(() => api.query.system.events.at(hash) as unknown as Promise<EventRecord[]>),
      this.rpc(() => api.query.timestamp.now.at(hash)),
    ]);
    const events: IndexedEvent[] = [];
    records.forEach((record, index) => {
      if (!api.events.contracts.ContractEmitted.is(record.event)) return;
      const decoder = this.decoders.get(record.event.data[0].toString());
      if (!decoder) return;
      for (const e of decoder.decode([record])) events.push({ index, contract: decoder.name, name: e.name, args: e.args });
    });
    return { number, hash, parentHash: header.parentHash.toHex(), atMs: Number(now.toString()), events };
  }

  private async write(b: FetchedBlock): Promise<void> {
    if (await writeBlock(this.o.db, b, { viewers: this.viewers, creators: this.creators })) {
      this.tip = { number: b.number, hash: b.hash, atMs: b.atMs };
      if (this.o.onBlock && (this.finalized ?? 0) - b.number < 3) {
        try {
          this.o.onBlock(b);
        } catch (e) {
          this.log(`[history] a block listener failed: ${(e as Error).message}`);
        }
      }
    } else {
      // Another indexer on the same PostgreSQL database wrote it first: go on from what it wrote.
      await this.load();
    }
  }

  /** The cursor and the lookups, from the database. */
  private async load(): Promise<void> {
    const { db } = this.o;
    const [tip] = await db.query<{ number: string; hash: string; at_ms: string }>('SELECT number, hash, at_ms FROM blocks ORDER BY number DESC LIMIT 1');
    this.tip = tip ? { number: Number(tip.number), hash: tip.hash, atMs: Number(tip.at_ms) } : null;
    this.viewers.clear();
    this.creators.clear();
    for (const r of await db.query<{ tab_id: string; viewer: string }>('SELECT tab_id, viewer FROM tabs')) this.viewers.set(String(r.tab_id), r.viewer);
    for (const r of await db.query<{ stream_id: string; creator: string }>('SELECT stream_id, creator FROM streams')) this.creators.set(String(r.stream_id), r.creator);
  }

  private async hashAt(number: number): Promise<string | null> {
    const h = await this.rpc(() => this.o.api.rpc.chain.getBlockHash(number));
    return h.isEmpty ? null : h.toHex();
  }

  private rpc<T>(fn: () => Promise<T>): Promise<T> {
    const ms = this.o.rpcTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      fn(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RpcTimeout(`the chain did not answer within ${ms} ms`)), ms))),
    ]).finally(() => clearTimeout(timer));
  }
}

/** Thrown inside a block's transaction to roll it back when the block is already there. */
class AlreadyIndexed extends Error {}

/**
 * Writes one block and all of its rows in one transaction; then adds the tabs and streams it opened
 * to `known` (the lookups the ledger needs: a tab's viewer, a stream's creator). Returns false, having
 * written nothing, if a block of that number is already stored (another indexer of the same
 * database got there first).
 */
export async function writeBlock(db: Sql, b: FetchedBlock, known: { viewers: Map<string, string>; creators: Map<string, string> }): Promise<boolean> {
  const viewers = new Map<string, string>();
  const creators = new Map<string, string>();
  const look = {
    viewerOf: (t: bigint) => viewers.get(t.toString()) ?? known.viewers.get(t.toString()),
    creatorOf: (s: bigint) => creators.get(s.toString()) ?? known.creators.get(s.toString()),
  };
  const written = await db.transaction(async (tx) => {
    const fresh = await tx.query('INSERT INTO blocks (number, hash, parent_hash, at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (number) DO NOTHING RETURNING number', [
      b.number,
      b.hash,
      b.parentHash,
      b.atMs,
    ]);
    if (!fresh.length) throw new AlreadyIndexed();
    for (const e of b.events) {
      await tx.query('INSERT INTO events (block_number, event_index, contract, name, args) VALUES ($1, $2, $3, $4, $5)', [
        b.number,
        e.index,
        e.contract,
        e.name,
        argsJson(e.args),
      ]);
      if (e.contract === 'stream_registry' && e.name === 'StreamRegistered') {
        const id = String(e.args.streamId);
        await tx.query('INSERT INTO streams (stream_id, creator, title, block_number) VALUES ($1, $2, $3, $4)', [id, e.args.creator, e.args.title, b.number]);
        creators.set(id, e.args.creator as string);
      }
      if (e.contract === 'tick_stream' && e.name === 'TabOpened') {
        const id = String(e.args.tabId);
        await tx.query('INSERT INTO tabs (tab_id, viewer, relay, block_number) VALUES ($1, $2, $3, $4)', [id, e.args.viewer, e.args.relay, b.number]);
        viewers.set(id, e.args.viewer as string);
      }
      for (const r of toLedger(e, look)) {
        await tx.query(
          `INSERT INTO ledger (block_number, event_index, part, at_ms, kind, account, stream_id, creator, tab_id, seconds, amount, fee, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [
            b.number,
            r.eventIndex,
            r.part,
            b.atMs,
            r.kind,
            r.account,
            r.streamId?.toString() ?? null,
            r.creator,
            r.tabId?.toString() ?? null,
            r.seconds.toString(),
            r.amount.toString(),
            r.fee.toString(),
            r.detail ? JSON.stringify(r.detail) : null,
          ],
        );
      }
    }
    return true;
  }).catch((e: unknown) => {
    if (e instanceof AlreadyIndexed) return false;
    throw e;
  });
  if (!written) return false;
  for (const [k, v] of viewers) known.viewers.set(k, v);
  for (const [k, v] of creators) known.creators.set(k, v);
  return true;
}

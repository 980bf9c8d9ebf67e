/**
 * Starts the history (indexer + REST API) from the environment:
 *   VILO_CHAIN_URL, VILO_DEPLOYMENT   the chain and the contracts (as the media server)
 *   VILO_HISTORY_DB                   postgres://… (a server), a folder for PGlite (default: history/
 *                                     beside VILO_RELAY_DB, so .vilokanam/history), or "off"
 * The indexer has a chain connection of its own, so catching up never queues the payment gate's reads.
 * A PGlite folder belongs to one process; app processes that share a PostgreSQL database may each
 * index (a block another one stored first is skipped).
 * Until the database is open the API answers 503; a chain that is not there is retried.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { DEFAULT_RELAY_DB } from '../media/boot.ts';
import { openDatabase, redact, type Sql } from './db.ts';
import { historyRoutes } from './api.ts';
import type { Route } from '../router.ts';
import { Indexer, type FetchedBlock, type IndexerStatus } from './indexer.ts';
import type { ContractName } from './ledger.ts';
import { History } from './queries.ts';

export interface HistoryServer {
  /** The history API's routes (api.ts), for the app's route table: they answer 503 until it is ready. */
  routes: Route[];
  /** The history's database once open (the chat keeps its messages there too); null when off. */
  database: Promise<Sql | null>;
  close(): Promise<void>;
}

export interface HistoryListeners {
  /** A tip in a block just finalized (not one found while catching up). */
  tipped?: (t: { streamId: bigint; from: string; amount: bigint; fee: bigint; message: string; block: number; event: number }) => void;
}

interface DeploymentFile {
  contracts: Record<ContractName, { address: string; blockHash: string }>;
}

/** The deployment's first block: where its contracts' events begin. */
export async function deploymentStart(api: ApiPromise, d: DeploymentFile): Promise<number> {
  const numbers = await Promise.all(Object.values(d.contracts).map(async (c) => (await api.rpc.chain.getHeader(c.blockHash)).number.toNumber()));
  return Math.min(...numbers);
}

export function bootHistory(env: Record<string, string | undefined>, log: (l: string) => void = console.log, listeners: HistoryListeners = {}): HistoryServer {
  const where = env.VILO_HISTORY_DB || join(dirname(env.VILO_RELAY_DB || DEFAULT_RELAY_DB), 'history');
  if (where === 'off' || !env.VILO_CHAIN_URL || !env.VILO_DEPLOYMENT) {
    const why = where === 'off' ? 'VILO_HISTORY_DB is off' : 'VILO_CHAIN_URL and VILO_DEPLOYMENT are not set';
    const off = { state: 'off' as const, message: `This server keeps no history (${why}).` };
    return {
      routes: historyRoutes({ history: () => null, status: () => ({}) as IndexerStatus, unavailable: () => off, token: () => ({ decimals: 12, symbol: 'UNIT' }) }),
      database: Promise.resolve(null),
      close: async () => {},
    };
  }
  const deployment = JSON.parse(readFileSync(env.VILO_DEPLOYMENT, 'utf8')) as DeploymentFile;
  let history: History | null = null;
  let token = { decimals: 12, symbol: 'UNIT' };
  let db: Sql | undefined;
  let indexer: Indexer | undefined;
  let api: ApiPromise | undefined;
  let closed = false;
  let failed: string | null = null;
  // Made now, so that close() can end it even while the chain has never answered.
  const provider = new WsProvider(env.VILO_CHAIN_URL);
  const database = openDatabase(where);
  database.catch(() => {});
  const started = (async () => {
    db = await database;
    api = await ApiPromise.create({ provider, noInitWarn: true });
    if (closed) return;
    const contracts = Object.fromEntries(Object.entries(deployment.contracts).map(([k, v]) => [k, v.address])) as Record<ContractName, string>;
    const onBlock = (b: FetchedBlock) => {
      for (const e of b.events) {
        if (e.contract !== 'payment_handler' || e.name !== 'Tipped') continue;
        const a = e.args as { from: string; streamId: bigint; amount: bigint; fee: bigint; message: string };
        listeners.tipped?.({ streamId: BigInt(a.streamId), from: a.from, amount: BigInt(a.amount), fee: BigInt(a.fee), message: a.message, block: b.number, event: e.index });
      }
    };
    indexer = await Indexer.open({ api, db, contracts, startBlock: await deploymentStart(api, deployment), log, onBlock });
    const props = api.registry.getChainProperties();
    token = {
      decimals: props?.tokenDecimals.unwrapOr(undefined)?.[0]?.toNumber() ?? 12,
      symbol: props?.tokenSymbol.unwrapOr(undefined)?.[0]?.toString() ?? 'UNIT',
    };
    history = new History(db);
    indexer.start();
    log(`[history] indexing from block ${indexer.status().fromBlock} into ${db.engine === 'postgres' ? redact(where) : where} (${db.engine})`);
  })().catch((e: Error) => {
    failed = `The history could not start: ${e.message}`;
    log(`[history] cannot start: ${e.message}`);
  });
  return {
    database: database.then(
      (d) => d,
      () => null,
    ),
    routes: historyRoutes({
      history: () => history,
      status: () => indexer!.status(),
      unavailable: () => (history ? null : failed ? { state: 'failed', message: failed } : { state: 'starting', message: 'The history is starting; try again in a moment.' }),
      token: () => token,
    }),
    async close() {
      closed = true;
      await provider.disconnect().catch(() => {});
      // Starting may be waiting for a chain that never answers: do not wait for it for ever.
      await Promise.race([started, new Promise((r) => setTimeout(r, 2_000))]);
      await indexer?.stop();
      await api?.disconnect().catch(() => {});
      await (db ?? (await database.catch(() => null)))?.close().catch(() => {});
    },
  };
}

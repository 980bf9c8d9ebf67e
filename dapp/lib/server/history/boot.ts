/**
 * Starts the history (indexer + REST API) from the environment:
 *   VILO_CHAIN_URL, VILO_DEPLOYMENT   the chain and the contracts (as the media server)
 *   VILO_HISTORY_DB                   postgres://… (a server), a folder for PGlite (default
 *                                     .vilokanam/history), or "off"
 * The indexer has a chain connection of its own, so catching up never queues the payment gate's reads.
 * Until the database is open the API answers 503; a chain that is not there is retried.
 */
import { readFileSync } from 'node:fs';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { json } from '../media/http.ts';
import { openDatabase, redact, type Sql } from './db.ts';
import { historyApi } from './api.ts';
import { Indexer } from './indexer.ts';
import type { ContractName } from './ledger.ts';
import { History } from './queries.ts';

export const DEFAULT_HISTORY_DB = '.vilokanam/history';

export interface HistoryServer {
  /** A response for /api/history/… paths, null for others. */
  handle(req: Request): Promise<Response | null>;
  close(): Promise<void>;
}

interface DeploymentFile {
  contracts: Record<ContractName, { address: string; blockHash: string }>;
}

/** The deployment's first block: where its contracts' events begin. */
export async function deploymentStart(api: ApiPromise, d: DeploymentFile): Promise<number> {
  const numbers = await Promise.all(Object.values(d.contracts).map(async (c) => (await api.rpc.chain.getHeader(c.blockHash)).number.toNumber()));
  return Math.min(...numbers);
}

export function bootHistory(env: Record<string, string | undefined>, log: (l: string) => void = console.log): HistoryServer | null {
  const where = env.VILO_HISTORY_DB || DEFAULT_HISTORY_DB;
  if (where === 'off' || !env.VILO_CHAIN_URL || !env.VILO_DEPLOYMENT) return null;
  const deployment = JSON.parse(readFileSync(env.VILO_DEPLOYMENT, 'utf8')) as DeploymentFile;
  let handler: ((req: Request) => Promise<Response | null>) | null = null;
  let db: Sql | undefined;
  let indexer: Indexer | undefined;
  let api: ApiPromise | undefined;
  let closed = false;
  const started = (async () => {
    db = await openDatabase(where);
    api = await ApiPromise.create({ provider: new WsProvider(env.VILO_CHAIN_URL), noInitWarn: true });
    if (closed) return;
    const contracts = Object.fromEntries(Object.entries(deployment.contracts).map(([k, v]) => [k, v.address])) as Record<ContractName, string>;
    indexer = await Indexer.open({ api, db, contracts, startBlock: await deploymentStart(api, deployment), log });
    const props = api.registry.getChainProperties();
    const token = {
      decimals: props?.tokenDecimals.unwrapOr(undefined)?.[0]?.toNumber() ?? 12,
      symbol: props?.tokenSymbol.unwrapOr(undefined)?.[0]?.toString() ?? 'UNIT',
    };
    handler = historyApi({ history: new History(db), status: () => indexer!.status(), token: () => token });
    indexer.start();
    log(`[history] indexing from block ${indexer.status().fromBlock} into ${db.engine === 'postgres' ? redact(where) : where} (${db.engine})`);
  })().catch((e: Error) => log(`[history] cannot start: ${e.message}`));
  return {
    async handle(req) {
      if (!new URL(req.url).pathname.startsWith('/api/history/')) return null;
      if (!handler) return json(503, { error: 'HistoryStarting', message: 'the history is starting (or could not start: see the server log)' });
      return handler(req);
    },
    async close() {
      closed = true;
      await started;
      await indexer?.stop();
      await api?.disconnect().catch(() => {});
      await db?.close().catch(() => {});
    },
  };
}

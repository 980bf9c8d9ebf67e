/** Shared by the benchmarks: a fresh chain with the contracts deployed, typed clients, and a writer
 *  that replaces one marked section of docs/benchmarks.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { ApiPromise } from '@polkadot/api';
import { startChain, type Chain } from '../scripts/chain/launch.ts';
import { connect } from '../scripts/lib/chain.ts';
import { deployAll, type Deployment } from '../scripts/deploy.ts';
import { buildContracts } from '../scripts/build-contracts.ts';
import { ROOT } from '../scripts/lib/toolchain.ts';
import { PaymentHandlerContract, PricingEngineContract, StreamRegistryContract, TickStreamContract } from '../typechain/index.ts';

export interface Bench {
  chain: Chain;
  api: ApiPromise;
  deployment: Deployment;
  keyring: Keyring;
  registry: StreamRegistryContract;
  pricing: PricingEngineContract;
  payments: PaymentHandlerContract;
  ticks: TickStreamContract;
  close(): Promise<void>;
}

export async function openBench(): Promise<Bench> {
  buildContracts();
  await cryptoWaitReady();
  const chain = await startChain();
  const api = await connect(chain.url);
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const deployment = await deployAll(api, keyring.addFromUri('//Alice'));
  const d = deployment.contracts;
  return {
    chain,
    api,
    deployment,
    keyring,
    registry: new StreamRegistryContract(api, d.stream_registry.address),
    pricing: new PricingEngineContract(api, d.pricing_engine.address),
    payments: new PaymentHandlerContract(api, d.payment_handler.address),
    ticks: new TickStreamContract(api, d.tick_stream.address),
    close: async () => {
      await api.disconnect();
      await chain.stop();
    },
  };
}

/**
 * A fixed CPU-bound workload, in ms: 5·10⁸ integer additions in a Node loop, timed once when the bench
 * starts (this module is loaded before any chain, browser or server, so nothing of the bench's own
 * competes with it). The same machine is not equally fast every day, so every section carries it:
 * figures from two days compare only with their CPU references beside them.
 */
export const cpuReferenceMs: number = (() => {
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < 5e8; i++) x = (x + i) | 0;
  return performance.now() - t0 + (x === 0.5 ? 1 : 0); // x used, so the loop is not dropped
})();

/** Replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in docs/benchmarks.md. */
export function writeSection(name: string, markdown: string): void {
  const file = join(ROOT, 'docs/benchmarks.md');
  const text = readFileSync(file, 'utf8');
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const i = text.indexOf(open);
  const j = text.indexOf(close);
  if (i < 0 || j < 0) throw new Error(`docs/benchmarks.md has no ${open} … ${close} section`);
  const stamp = `_Measured ${new Date().toISOString().slice(0, 10)} on ${process.env.VILO_MACHINE ?? 'the 2-core project machine'}; CPU reference ${(cpuReferenceMs / 1000).toFixed(2)} s (see the top of this file)._`;
  writeFileSync(file, `${text.slice(0, i + open.length)}\n${stamp}\n\n${markdown.trim()}\n${text.slice(j)}`);
  console.log(`[bench] wrote section "${name}" of docs/benchmarks.md`);
}

export const fmt = (n: bigint | number) => n.toLocaleString('en-US');

/** One measured figure in docs/benchmarks.json (the machine-readable twin of docs/benchmarks.md). */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The target as the issue states it, e.g. "≤ 600". */
  target: string;
  /** The command that reproduces the figure. */
  command: string;
  /** ISO date of the measurement. */
  measured_at: string;
}

/** Adds or replaces figures (by name) in docs/benchmarks.json, keeping the others. */
export function writeFigures(figures: Omit<Figure, 'measured_at'>[], measuredAt = new Date().toISOString().slice(0, 10)): void {
  const file = join(ROOT, 'docs/benchmarks.json');
  const old: { figures: Figure[] } = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { figures: [] };
  const byName = new Map(old.figures.map((f) => [f.name, f]));
  for (const f of figures) byName.set(f.name, { ...f, measured_at: measuredAt });
  const sorted = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  writeFileSync(file, JSON.stringify({ figures: sorted }, null, 2) + '\n');
  console.log(`[bench] recorded ${figures.map((f) => f.name).join(', ')} in docs/benchmarks.json`);
}

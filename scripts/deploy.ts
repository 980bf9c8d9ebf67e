/**
 * Deploys every contract to a chain and writes their addresses to deployments/<chain>.json.
 *
 * Usage: tsx scripts/deploy.ts [--url ws://…] [--json] [--help]
 *   --url    node to deploy to (default: $CONTRACTS_NODE_URL)
 *   --json   print the deployment record as JSON
 * Signer: $VILO_SURI (a secret URI), or //Alice on a local development chain.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ApiPromise } from '@polkadot/api';
import { Abi } from '@polkadot/api-contract';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { WeightV2 } from '@polkadot/types/interfaces';
import { randomAsHex } from '@polkadot/util-crypto';
import { ROOT, artifacts } from './lib/toolchain.ts';
import { connect, dispatchFailure, signAndWait, signerFrom } from './lib/chain.ts';
import { PaymentHandlerContract } from '../typechain/index.ts';

/** What to deploy, in order; `args` may use the addresses of contracts deployed before. */
export interface PlanStep {
  name: string;
  constructor: string;
  args: (deployed: Record<string, string>, chain: { genesisHash: string }) => unknown[];
}

/** Platform fee the payment handler starts with, in basis points (the admin can change it). */
const FEE_BPS = Number(process.env.VILO_PLATFORM_FEE_BPS ?? 0);

/**
 * How long a closing tab stays open to higher vouchers, in milliseconds (tick_stream's dispute
 * window; docs/protocol.md says why 10 minutes is safe with the media gate and relay of this repo).
 */
export function disputeWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.VILO_DISPUTE_WINDOW_MS ?? '600000';
  const ms = Number(raw);
  // tick_stream's MIN_DISPUTE_WINDOW_MS and MAX_DISPUTE_WINDOW_MS.
  if (!Number.isInteger(ms) || ms < 1_000 || ms > 30 * 86_400_000) {
    throw new DeployError(`VILO_DISPUTE_WINDOW_MS=${raw}: give whole milliseconds from 1000 to ${30 * 86_400_000}`);
  }
  return ms;
}

export const DEPLOY_PLAN: PlanStep[] = [
  { name: 'stream_registry', constructor: 'new', args: () => [] },
  { name: 'pricing_engine', constructor: 'new', args: (d) => [d.stream_registry] },
  { name: 'payment_handler', constructor: 'new', args: (d) => [d.pricing_engine, FEE_BPS] },
  {
    name: 'tick_stream',
    constructor: 'new',
    args: (d, chain) => [d.stream_registry, d.pricing_engine, d.payment_handler, chain.genesisHash, disputeWindowMs()],
  },
];

/** Wiring after deployment: only tick_stream may book tab earnings, checked to run the code just uploaded. */
async function wire(api: ApiPromise, signer: KeyringPair, d: Record<string, DeployedContract>) {
  const payments = new PaymentHandlerContract(api, d.payment_handler.address);
  await payments.tx.setTickStream(signer, d.tick_stream.address, d.tick_stream.codeHash as `0x${string}`);
}

export interface DeployedContract {
  address: string;
  codeHash: string;
  blockHash: string;
}

export interface Deployment {
  chain: string;
  genesisHash: string;
  deployer: string;
  deployedAt: string;
  contracts: Record<string, DeployedContract>;
}

export class DeployError extends Error {
  override name = 'DeployError';
}

/** Uploads (if new) and instantiates one contract of the plan with `args`; returns where it is. */
export async function instantiateContract(api: ApiPromise, signer: KeyringPair, name: string, args: unknown[]): Promise<DeployedContract> {
  return instantiate(api, signer, { name, constructor: 'new', args: () => args }, {});
}

/** Uploads and instantiates one contract; returns its address. */
async function instantiate(api: ApiPromise, signer: KeyringPair, step: PlanStep, deployed: Record<string, string>) {
  const bundle = JSON.parse(readFileSync(artifacts(step.name).contract, 'utf8'));
  const abi = new Abi(bundle, api.registry.getChainProperties());
  const ctor = abi.constructors.find((c) => c.method === step.constructor || c.identifier === step.constructor);
  if (!ctor) throw new DeployError(`${step.name} has no constructor ${step.constructor}`);
  const data = ctor.toU8a(step.args(deployed, { genesisHash: api.genesisHash.toHex() }));
  const salt = randomAsHex(16);
  const code = bundle.source.wasm as string;

  // Dry run first: it gives the weight to ask for and turns a trap into a readable error.
  const dry = await api.call.contractsApi.instantiate(signer.address, 0, null, null, { Upload: code }, data, salt);
  if (dry.result.isErr) {
    const err = dry.result.asErr;
    throw new DeployError(`${step.name}: instantiation would fail: ${err.isModule ? dispatchFailure(api, err).message : err.toString()}`);
  }
  // ReturnFlags bit 0: the constructor reverted (its Result's error is in the returned data).
  if (dry.result.asOk.result.flags.bits.toNumber() & 1) {
    throw new DeployError(`${step.name}: constructor reverted (${dry.result.asOk.result.data.toHex()})`);
  }
  const required = dry.gasRequired as WeightV2;
  const gasLimit = api.registry.createType('WeightV2', {
    refTime: required.refTime.toBn().muln(12).divn(10),
    proofSize: required.proofSize.toBn().muln(12).divn(10),
  });
  const tx = api.tx.contracts.instantiateWithCode(0, gasLimit, null, code, data, salt);
  const { blockHash, events } = await signAndWait(api, tx, signer);
  const instantiated = events.find(({ event }) => api.events.contracts.Instantiated.is(event));
  if (!instantiated) throw new DeployError(`${step.name}: no Instantiated event in block ${blockHash}`);
  const address = instantiated.event.data[1].toString();
  return { address, codeHash: bundle.source.hash as string, blockHash };
}

/** Deploys the plan in order. `log` receives one line per contract. */
export async function deployAll(api: ApiPromise, signer: KeyringPair, log: (line: string) => void = () => {}): Promise<Deployment> {
  const contracts: Record<string, DeployedContract> = {};
  const addresses: Record<string, string> = {};
  for (const step of DEPLOY_PLAN) {
    const t0 = Date.now();
    const c = await instantiate(api, signer, step, addresses);
    contracts[step.name] = c;
    addresses[step.name] = c.address;
    log(`[deploy] ${step.name} at ${c.address} (${Date.now() - t0} ms)`);
  }
  await wire(api, signer, contracts);
  log('[deploy] wired: payment_handler books earnings only from tick_stream');
  return {
    chain: (await api.rpc.system.chain()).toString(),
    genesisHash: api.genesisHash.toHex(),
    deployer: signer.address,
    deployedAt: new Date().toISOString(),
    contracts,
  };
}

/** deployments/<chain-slug>.json for this chain. */
export function deploymentFile(chain: string): string {
  const slug = chain.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'chain';
  return join(ROOT, 'deployments', `${slug}.json`);
}

export function writeDeployment(d: Deployment): string {
  const file = deploymentFile(d.chain);
  mkdirSync(join(ROOT, 'deployments'), { recursive: true });
  writeFileSync(file, JSON.stringify(d, null, 2) + '\n');
  return file;
}

async function main() {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0].replace(/^\/\*\*?|^ \* ?/gm, ''));
    return;
  }
  const url = values.url ?? process.env.CONTRACTS_NODE_URL;
  if (!url) throw new DeployError('no node URL: pass --url ws://… or set CONTRACTS_NODE_URL');
  const api = await connect(url);
  try {
    const signer = await signerFrom(api, process.env.VILO_SURI);
    const deployment = await deployAll(api, signer, values.json ? () => {} : console.log);
    const file = writeDeployment(deployment);
    if (values.json) console.log(JSON.stringify(deployment, null, 2));
    else console.log(`[deploy] wrote ${file}`);
  } finally {
    await api.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(`${(e as Error).name}: ${(e as Error).message}`);
    process.exit(1);
  });
}

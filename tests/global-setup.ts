/**
 * Global setup of the e2e tests: builds the contracts when their sources changed, starts the local
 * chain (or uses CONTRACTS_NODE_URL), deploys every contract, and hands the chain URL and the
 * deployment to the tests. The chain is stopped when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { buildContracts } from '../scripts/build-contracts.ts';
import { startChain } from '../scripts/chain/launch.ts';
import { connect, signerFrom } from '../scripts/lib/chain.ts';
import { deployAll, type Deployment } from '../scripts/deploy.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chainUrl: string;
    deployment: Deployment;
  }
}

export default async function setup(project: TestProject) {
  buildContracts();
  const t0 = Date.now();
  const chain = await startChain();
  console.log(`[e2e] ${chain.kind} chain at ${chain.url} (${Date.now() - t0} ms)`);
  try {
    const api = await connect(chain.url);
    const deployment = await deployAll(api, await signerFrom(api, process.env.VILO_SURI), console.log);
    await api.disconnect();
    project.provide('chainUrl', chain.url);
    project.provide('deployment', deployment);
  } catch (e) {
    await chain.stop();
    throw e;
  }
  return async () => {
    await chain.stop();
  };
}

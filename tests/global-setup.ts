/**
 * Global setup of the e2e tests: builds the contracts when their sources changed, starts the local
 * chain (or uses CONTRACTS_NODE_URL), deploys every contract, and hands the chain URL and the
 * deployment to the tests. The chain is stopped when the run ends.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../scripts/lib/toolchain.ts';
import { buildContracts } from '../scripts/build-contracts.ts';
import { startChain } from '../scripts/chain/launch.ts';
import { connect, signerFrom } from '../scripts/lib/chain.ts';
import { deployAll, type Deployment } from '../scripts/deploy.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chainUrl: string;
    deployment: Deployment;
    /** The deployment record on disk, for commands that read one (scripts/creator.ts). */
    deploymentPath: string;
  }
}

export default async function setup(project: TestProject) {
  buildContracts();
  const t0 = Date.now();
  const chain = await startChain();
  console.log(`[e2e] ${chain.kind} chain at ${chain.url} (${Date.now() - t0} ms)`);
  try {
    const api = await connect(chain.url);
    // Tabs close after a dispute window; 10 minutes by default, 30 s for the suite so that a journey
    // can close a tab and finish it (the window's safety argument is in docs/protocol.md).
    process.env.VILO_DISPUTE_WINDOW_MS ??= '30000';
    const deployment = await deployAll(api, await signerFrom(api, process.env.VILO_SURI), console.log);
    await api.disconnect();
    const deploymentPath = join(ROOT, 'test-results/deployment.json');
    mkdirSync(dirname(deploymentPath), { recursive: true });
    writeFileSync(deploymentPath, JSON.stringify(deployment, null, 2));
    project.provide('chainUrl', chain.url);
    project.provide('deployment', deployment);
    project.provide('deploymentPath', deploymentPath);
  } catch (e) {
    await chain.stop();
    throw e;
  }
  return async () => {
    await chain.stop();
  };
}

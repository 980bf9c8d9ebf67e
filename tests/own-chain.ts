/**
 * A chain of a test file's own, for tests that must not share the suite's chain (a stall, hand-built
 * blocks): started, deployed to, with clients of the deployment and its record in a scratch file
 * (for the app server). `env` is passed to the chain launcher (e.g. VILO_CHAIN, VILO_BLOCK_MODE).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChain, type Chain } from '../scripts/chain/launch.ts';
import { connect, signerFrom } from '../scripts/lib/chain.ts';
import { deployAll } from '../scripts/deploy.ts';
import { setupEnv, type Env } from './e2e/helpers.ts';
import { scratchDir } from './scratch.ts';

export async function ownChain(name: string, env: NodeJS.ProcessEnv = process.env): Promise<{ chain: Chain; env: Env; deploymentFile: string }> {
  const chain = await startChain(env);
  const api = await connect(chain.url);
  const deployment = await deployAll(api, await signerFrom(api, undefined));
  await api.disconnect();
  const deploymentFile = join(scratchDir(name), 'deployment.json');
  writeFileSync(deploymentFile, JSON.stringify(deployment, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  return { chain, env: await setupEnv({ chainUrl: chain.url, deployment }), deploymentFile };
}

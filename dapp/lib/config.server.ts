/**
 * Where the dApp finds the chain and the contracts: VILO_CHAIN_URL and the deployment record named by
 * VILO_DEPLOYMENT (written by scripts/deploy.ts). Server-only; the browser receives it from the layout.
 */
import { readFileSync } from 'node:fs';
import { env } from '$env/dynamic/private';

export type { ChainConfig };

import { parseDisplayCurrency, parseIpfsGateway, type ChainConfig } from './config.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

let cached: ChainConfig | undefined;

/** Read once per server process: a deployment does not move while the server runs. */
export function chainConfig(): ChainConfig {
  cached ??= readConfig();
  return cached;
}

function readConfig(): ChainConfig {
  const chainUrl = env.VILO_CHAIN_URL;
  const file = env.VILO_DEPLOYMENT;
  if (!chainUrl || !file) {
    throw new ConfigError('VILO_CHAIN_URL and VILO_DEPLOYMENT must be set (npm run dev sets both)');
  }
  const deployment = JSON.parse(readFileSync(file, 'utf8')) as { contracts: Record<string, { address: string }> };
  let displayCurrency, ipfsGateway;
  try {
    displayCurrency = parseDisplayCurrency(env.VILO_DISPLAY_CURRENCY);
    ipfsGateway = parseIpfsGateway(env.VILO_IPFS_GATEWAY);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return {
    chainUrl,
    contracts: Object.fromEntries(Object.entries(deployment.contracts).map(([k, v]) => [k, v.address])),
    displayCurrency,
    ipfsGateway,
  };
}

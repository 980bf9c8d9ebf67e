/**
 * Reads the registry's streams from the chain through the generated bindings. Browser-side and loaded
 * lazily, so the Polkadot libraries are not part of the first page load.
 */
import type { ChainConfig } from '../config.ts';

export interface StreamRow {
  id: bigint;
  title: string;
  category: string;
  creator: string;
  live: boolean;
}

/** Caller used for read-only dry runs (any well-formed address works; nothing is signed). */
const READER = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';

export async function loadStreams(config: ChainConfig, limit = 50): Promise<StreamRow[]> {
  const [{ ApiPromise, WsProvider }, { StreamRegistryContract }] = await Promise.all([
    import('@polkadot/api'),
    import('$typechain/stream_registry'),
  ]);
  const api = await ApiPromise.create({ provider: new WsProvider(config.chainUrl), noInitWarn: true });
  try {
    const registry = new StreamRegistryContract(api, config.contracts.stream_registry);
    const { value } = await registry.query.listStreams(READER, 1n, limit);
    return value.map(({ id, title, category, creator, live }) => ({ id, title, category, creator, live }));
  } finally {
    await api.disconnect();
  }
}

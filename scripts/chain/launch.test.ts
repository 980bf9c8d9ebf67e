import { describe, expect, it } from 'vitest';
import { ChainStartError, findContractsNode, startChain } from './launch.ts';
import { scratchDir } from '../../tests/scratch.ts';

/** An environment with no node anywhere: an empty cache and a PATH without it. */
const bare = () => ({ VILO_CACHE: scratchDir('cache'), PATH: '/usr/bin:/bin' });

describe('chain launcher choice', () => {
  it('finds no node where none is built', () => {
    expect(findContractsNode(bare())).toBeUndefined();
  });

  it('refuses an unknown VILO_CHAIN by name, before starting anything', async () => {
    await expect(startChain({ ...bare(), VILO_CHAIN: 'ganache' })).rejects.toThrow(ChainStartError);
    await expect(startChain({ ...bare(), VILO_CHAIN: 'ganache' })).rejects.toThrow(/expected "chopsticks" or "contracts-node"/);
  });

  it('says so when VILO_CHAIN=contracts-node and no node is built', async () => {
    await expect(startChain({ ...bare(), VILO_CHAIN: 'contracts-node' })).rejects.toThrow(/tools\/build-node\.sh/);
  });

  it('names a SUBSTRATE_CONTRACTS_NODE that is not an executable', () => {
    expect(() => findContractsNode({ ...bare(), SUBSTRATE_CONTRACTS_NODE: '/nonexistent/node' })).toThrow(ChainStartError);
  });
});

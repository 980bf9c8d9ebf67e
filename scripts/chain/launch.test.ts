import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChainStartError, chooseChain, findContractsNode, startChain } from './launch.ts';
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

  it('runs chopsticks, what a fresh machine has, even where a node is built, unless the node is asked for', () => {
    const env = bare();
    const bin = join(env.VILO_CACHE, 'bin');
    mkdirSync(bin, { recursive: true });
    const node = join(bin, 'substrate-contracts-node');
    writeFileSync(node, '#!/bin/sh\nexit 1\n');
    chmodSync(node, 0o755);
    expect(findContractsNode(env)).toBe(node);
    expect(chooseChain(env)).toEqual({ kind: 'chopsticks' });
    expect(chooseChain({ ...env, VILO_CHAIN: 'contracts-node' })).toEqual({ kind: 'contracts-node', nodeBin: node });
    expect(chooseChain({ ...env, SUBSTRATE_CONTRACTS_NODE: node })).toEqual({ kind: 'contracts-node', nodeBin: node });
    expect(chooseChain({ ...env, SUBSTRATE_CONTRACTS_NODE: node, VILO_CHAIN: 'chopsticks' })).toEqual({ kind: 'chopsticks' });
  });

  it('names a SUBSTRATE_CONTRACTS_NODE that is not an executable', () => {
    expect(() => findContractsNode({ ...bare(), SUBSTRATE_CONTRACTS_NODE: '/nonexistent/node' })).toThrow(ChainStartError);
  });
});

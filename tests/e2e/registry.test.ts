import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChainError, ContractError } from '../../typechain/index.ts';
import { setupEnv, type Env } from './helpers.ts';

let env: Env;
beforeAll(async () => {
  env = await setupEnv();
});
afterAll(async () => {
  await env.api.disconnect();
});

const details = (title: string) => ({ title, description: 'Live coding', category: 'tech', thumbnailCid: null });

describe('stream registry through the generated bindings', () => {
  it('registers a stream, emits StreamRegistered, and reads it back', async () => {
    const { registry, accounts } = env;
    const before = (await registry.query.streamCount(accounts.bob.address)).value;

    const res = await registry.tx.registerStream(accounts.bob, details('Rust from scratch'));

    const id = res.one('StreamRegistered').streamId;
    expect(id).toBe(before + 1n);
    expect(res.events).toEqual([
      { contract: 'stream_registry', name: 'StreamRegistered', args: { streamId: id, creator: accounts.bob.address, title: 'Rust from scratch' } },
    ]);
    const stream = (await registry.query.getStream(accounts.eve.address, id)).value;
    expect(stream).toMatchObject({ id, creator: accounts.bob.address, title: 'Rust from scratch', category: 'tech', thumbnailCid: null, live: false });
  });

  it('refuses an empty title with the named error EmptyTitle and changes nothing', async () => {
    const { registry, accounts } = env;
    const before = (await registry.query.streamCount(accounts.bob.address)).value;

    const attempt = registry.tx.registerStream(accounts.bob, details('  '));

    await expect(attempt).rejects.toBeInstanceOf(ContractError);
    await expect(attempt).rejects.toMatchObject({ name: 'ContractError', error: { type: 'EmptyTitle' } });
    await expect(attempt).rejects.toThrow('The title is empty (or only whitespace).');
    expect((await registry.query.streamCount(accounts.bob.address)).value).toBe(before);
  });

  it('lets only the creator change the live status', async () => {
    const { registry, accounts } = env;
    const id = (await registry.tx.registerStream(accounts.bob, details('Status test'))).one('StreamRegistered').streamId;

    await expect(registry.tx.setLive(accounts.eve, id, true)).rejects.toMatchObject({ error: { type: 'NotCreator', streamId: id } });
    const res = await registry.tx.setLive(accounts.bob, id, true);

    expect(res.events.map((e) => e.name)).toEqual(['StreamStatusChanged']);
    expect((await registry.query.getStream(accounts.eve.address, id)).value?.live).toBe(true);
  });

  it('sends with an estimate made earlier (no dry run of its own); a call refused after it fails in its block and changes nothing', async () => {
    const { registry, accounts } = env;
    const estimate = await registry.query.registerStream(accounts.bob.address, details('Prepared'));
    const dryRuns = vi.spyOn(registry, 'call');
    const res = await registry.tx.registerStream(accounts.bob, details('Prepared'), { estimate });
    expect(dryRuns).not.toHaveBeenCalled();
    dryRuns.mockRestore();
    const id = res.one('StreamRegistered').streamId;
    expect((await registry.query.getStream(accounts.eve.address, id)).value).toMatchObject({ title: 'Prepared', creator: accounts.bob.address });

    // Bob's estimate, Eve's call: the contract refuses in the block (no named error: that was the dry run's to give).
    const setLive = await registry.query.setLive(accounts.bob.address, id, true);
    const attempt = registry.tx.setLive(accounts.eve, id, true, { estimate: setLive });
    await expect(attempt).rejects.toBeInstanceOf(ChainError);
    await expect(attempt).rejects.toMatchObject({ code: 'contracts.ContractReverted' });
    expect((await registry.query.getStream(accounts.eve.address, id)).value?.live).toBe(false);
  });
});

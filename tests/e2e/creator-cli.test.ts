/** The creator commands (scripts/creator.ts) against the local chain, as a creator runs them: `npm run creator` runs tools/creator.mjs. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, inject, describe, expect, it } from 'vitest';
import { setupEnv, freeBalance, type Env } from './helpers.ts';

const run = promisify(execFile);
const cli = async (...args: string[]) => {
  try {
    const { stdout } = await run(process.execPath, ['tools/creator.mjs', ...args, '--url', inject('chainUrl'), '--deployment', inject('deploymentPath'), '--json'], { env: { ...process.env, VILO_SURI: '' } });
    return { code: 0, out: JSON.parse(stdout) };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: JSON.parse(err.stdout) };
  }
};

let env: Env;
beforeAll(async () => {
  env = await setupEnv();
});
afterAll(async () => {
  await env?.api.disconnect();
});

describe('creator commands', () => {
  it('create a priced live stream, list it, reprice it, and see its earnings', async () => {
    const created = await cli('create', '--dev', 'ferdie', '--title', 'CLI stream', '--category', 'music', '--rate', '2000000', '--tier', '5000000000:30', '--live');
    expect(created.code).toBe(0);
    const id = created.out.streamId as string;
    expect(created.out.live).toBe(true);
    // Registered, priced and live in one extrinsic: the block it names holds all three.
    const records = await (await env.api.at(created.out.blockHash as string)).query.system.events();
    const said = [...env.registry.decodeEvents(records), ...env.pricing.decodeEvents(records)].filter((e) => String(e.args.streamId) === id).map((e) => e.name);
    expect(said.sort()).toEqual(['PricePlanSet', 'StreamRegistered', 'StreamStatusChanged']);

    const listed = await cli('list', '--dev', 'ferdie');
    const row = listed.out.streams.find((s: { id: string }) => s.id === id);
    expect(row).toMatchObject({ title: 'CLI stream', live: true, plan: { ratePerSecond: '2000000', tiers: [{ price: '5000000000', periodMs: String(30n * 86_400_000n) }] } });

    const earnings = await cli('earnings', id, '--dev', 'ferdie');
    expect(earnings.out).toEqual({ earnings: [{ streamId: id, earnings: '0' }], total: '0' });

    const repriced = await cli('price', id, '--dev', 'ferdie', '--rate', '3000000');
    expect(repriced.code, JSON.stringify(repriced.out)).toBe(0);
    expect((await cli('list', '--dev', 'ferdie')).out.streams.find((s: { id: string }) => s.id === id).plan.ratePerSecond).toBe('3000000');
  });

  it('withdraw a stream’s earnings, reporting what the block says was paid out', async () => {
    const created = await cli('create', '--dev', 'ferdie', '--title', 'Paid', '--category', 'music', '--rate', '2000000', '--tier', '5000000000:30');
    expect(created.code, JSON.stringify(created.out)).toBe(0);
    const id = created.out.streamId as string;
    // A viewer subscribes to the tier (5 000 000 000 plancks, less the platform fee); the
    // creator withdraws it, and the command reports what the block says was paid out.
    await env.payments.tx.buySubscription(env.accounts.dave, BigInt(id), 0, 30n * 86_400_000n, { value: 5_000_000_000n });
    const bps = BigInt((await env.payments.query.feeBps(env.accounts.dave.address)).value);
    const earned = 5_000_000_000n - (5_000_000_000n * bps) / 10_000n;

    expect((await cli('earnings', id, '--dev', 'ferdie')).out.total).toBe(earned.toString());
    const before = await freeBalance(env.api, env.accounts.ferdie.address);
    const withdrawn = await cli('withdraw', id, '--dev', 'ferdie');
    expect(withdrawn.code, JSON.stringify(withdrawn.out)).toBe(0);
    expect(withdrawn.out).toMatchObject({ streamId: id, withdrawn: earned.toString() });
    expect((await freeBalance(env.api, env.accounts.ferdie.address)) - before).toBe(earned - BigInt(withdrawn.out.fee));
    expect((await cli('earnings', id, '--dev', 'ferdie')).out.total).toBe('0');
  });

  it('explains a refused withdrawal by the contract error, with a non-zero exit', async () => {
    const created = await cli('create', '--dev', 'ferdie', '--title', 'Empty', '--category', 'talk', '--rate', '1');
    const res = await cli('withdraw', created.out.streamId, '--dev', 'eve');
    expect(res.code, JSON.stringify(res.out)).toBe(1);
    expect(res.out.error).toMatchObject({ name: 'ContractError', type: 'NotCreator' });
  });

  it('names a price plan the contract refuses before sending anything, for create --live too', async () => {
    const before = (await env.registry.query.streamCount(env.accounts.ferdie.address)).value;
    const res = await cli('create', '--dev', 'ferdie', '--title', 'Cheap premium', '--category', 'talk', '--rate', '10', '--premium-rate', '5', '--live');
    expect(res.code, JSON.stringify(res.out)).toBe(1);
    expect(res.out.error).toMatchObject({ name: 'ContractError', type: 'PremiumBelowBase' });
    expect((await env.registry.query.streamCount(env.accounts.ferdie.address)).value).toBe(before); // nothing registered
  });

  it('sets a creator profile that list shows, refuses a name that could disguise itself, and removes it', async () => {
    const eve = env.accounts.eve.address;
    const set = await cli('profile', '--dev', 'eve', '--name', 'Eve at the piano', '--avatar', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    expect(set.code, JSON.stringify(set.out)).toBe(0);
    expect(set.out).toEqual({ account: eve, profile: { name: 'Eve at the piano', avatarCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' } });
    expect((await env.registry.query.profileOf(eve, eve)).value?.name).toBe('Eve at the piano');
    expect((await cli('list', '--dev', 'eve')).out.profile).toMatchObject({ name: 'Eve at the piano' });

    // A right-to-left override would show another name than the one stored: refused by name, nothing changes.
    const sneaky = await cli('profile', '--dev', 'eve', '--name', 'Eve\u202Eevil');
    expect(sneaky.code, JSON.stringify(sneaky.out)).toBe(1);
    expect(sneaky.out.error).toMatchObject({ name: 'ContractError', type: 'NameHasControlCharacter' });
    expect((await env.registry.query.profileOf(eve, eve)).value?.name).toBe('Eve at the piano');

    const cleared = await cli('profile', '--dev', 'eve', '--clear');
    expect(cleared.out).toEqual({ account: eve, profile: null });
    expect((await env.registry.query.profileOf(eve, eve)).value).toBeNull();
    expect((await cli('profile', '--dev', 'eve', '--clear')).out.error).toMatchObject({ type: 'NoProfile' });
  });

  it('rejects bad input with a clear message and exit code 2, sending nothing', async () => {
    const res = await cli('create', '--dev', 'ferdie', '--title', 'x', '--category', 'y', '--rate', 'ten');
    expect(res.code).toBe(2);
    expect(res.out.error.message).toBe('--rate must be a whole number of plancks, got "ten"');
  });
});

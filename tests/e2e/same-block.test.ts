/**
 * Several transactions in one block, as a real chain makes them: outcomes come from the block's
 * events, never from the dry run before signing. On a chopsticks chain of its own, switched to manual
 * block building (dev_setBlockBuildMode) around the transactions that must share a block.
 *
 * 1. Ten viewers join in one block: the ten dry runs all predict the same session id; each viewer gets
 *    its own id from ViewerJoined, and the media server accepts each one's vouchers under that id.
 * 2. The relay's settlement shares a block with five viewers leaving: every voucher gets the outcome
 *    the block states, nothing is left unsettled or paid twice, and money is conserved.
 * 3. Sixty sessions due in one relay round (one extrinsic holds about 36): all are settled, in
 *    several extrinsics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Chain } from '../../scripts/chain/launch.ts';
import type { Env } from './helpers.ts';
import { ownChain } from '../own-chain.ts';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import { toWire } from '../../dapp/lib/media/wire.ts';
import type { TxStatus } from '../../typechain/index.ts';
import { RATE, expectConserved, liveStream } from './protocol-helpers.ts';
import { startApp, type App } from '../browser/harness.ts';
import { until, untilChain } from '../browser/media-helpers.ts';
import { scratchDir } from '../scratch.ts';

const VIEWERS = 10;
/** More sessions than one record_ticks_batch extrinsic holds (about 36 with the bindings' gas margin). */
const MANY = 60;
let chain: Chain;
let env: Env;
let app: App;
let streamId: bigint;
let viewers: KeyringPair[];

// chopsticks' dev_* methods, which @polkadot/api does not decorate: sent over a provider of their own.
let devRpc: WsProvider;
const rpc = (method: string, params: unknown[] = []) => devRpc.send(method, params);

/** Runs `submit` with block building paused, waits until `count` transactions are in the pool, then builds one block. */
async function inOneBlock<T>(count: number, submit: () => Promise<T>): Promise<T> {
  await rpc('dev_setBlockBuildMode', ['Manual']);
  try {
    const done = submit();
    done.catch(() => {});
    await until(async () => (await env.api.rpc.author.pendingExtrinsics()).length >= count, 60_000, `${count} transactions in the pool`);
    await rpc('dev_newBlock', [{ count: 1 }]);
    return await done;
  } finally {
    await rpc('dev_setBlockBuildMode', ['Batch']);
  }
}

/** Sends each of `accounts` 1 000 UNIT from Alice, in one extrinsic. */
async function fundAll(accounts: KeyringPair[]) {
  const fund = env.api.tx.utility.batchAll(accounts.map((v) => env.api.tx.balances.transferKeepAlive(v.address, 10n ** 15n)));
  await new Promise<void>((ok, fail) => {
    fund
      .signAndSend(env.accounts.alice, (r) => {
        if (r.dispatchError) fail(new Error(r.dispatchError.toString()));
        else if (r.status.isInBlock) ok();
      })
      .catch(fail);
  });
}

beforeAll(async () => {
  let deploymentFile: string;
  ({ chain, env, deploymentFile } = await ownChain('same-block', { ...process.env, VILO_CHAIN: 'chopsticks', VILO_BLOCK_MODE: 'Batch' }));
  devRpc = new WsProvider(chain.url);
  await devRpc.isReady;
  streamId = await liveStream(env, env.accounts.bob);

  // Ten funded viewers of their own (the dev accounts are six).
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  viewers = Array.from({ length: VIEWERS }, (_, i) => keyring.addFromUri(`//Alice//same-block//${i}`));
  await fundAll(viewers);
  app = await startApp(chain.url, deploymentFile, { VILO_RELAY_DB: join(scratchDir('same-block'), 'relay.sqlite'), VILO_SETTLE_INTERVAL_MS: '2000' });
}, 300_000);

afterAll(async () => {
  await app?.stop();
  await devRpc?.disconnect();
  await env?.api.disconnect();
  await chain?.stop();
}, 60_000);

const keys = new Map<string, SessionKey>();
const sessionIds = new Map<string, bigint>();
const voucher = (v: KeyringPair, n: bigint) =>
  keys.get(v.address)!.sign(env.ticks.address, { streamId, viewer: v.address, sessionId: sessionIds.get(v.address)!, cumulativeTicks: n });
const post = (body: unknown) =>
  fetch(`${app.url}/api/vouchers`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('several transactions in one block', () => {
  it('ten viewers joining in one block each get their own session, from the block, and are served', async () => {
    const submitted = new Set<string>();
    const results = await inOneBlock(VIEWERS, () =>
      Promise.all(
        viewers.map((v) => {
          const key = SessionKey.generate();
          keys.set(v.address, key);
          const onStatus = (s: TxStatus) => void (s === 'submitted' && submitted.add(v.address));
          return env.ticks.tx.joinStream(v, streamId, key.publicKey, RATE, false, { value: RATE * 600n, onStatus });
        }),
      ),
    );
    expect(new Set(results.map((r) => r.blockHash)).size).toBe(1);
    // Every dry run saw the same state, so all predicted one id: what the bindings used to return.
    expect(new Set(results.map((r) => r.dryRun.id)).size).toBe(1);
    const ids = results.map((r) => r.one('ViewerJoined').sessionId);
    expect(new Set(ids).size).toBe(VIEWERS);
    for (const [i, v] of viewers.entries()) {
      sessionIds.set(v.address, ids[i]);
      expect((await env.ticks.query.sessionOf(v.address, streamId, v.address)).value?.id).toBe(ids[i]);
    }
    // The media server serves each viewer under the id the block gave it.
    for (const v of viewers) expect((await post(toWire(voucher(v, 1n)))).status).toBe(202);
    // Under the predicted id, nine of the ten would be refused: it is another viewer's session.
    const predicted = results[0].dryRun.id;
    const misled = viewers.filter((_, i) => ids[i] !== predicted);
    expect(misled.length).toBe(VIEWERS - 1);
    for (const v of misled) {
      const wrong = keys.get(v.address)!.sign(env.ticks.address, { streamId, viewer: v.address, sessionId: predicted, cumulativeTicks: 2n });
      const res = await post(toWire(wrong));
      expect([res.status, ((await res.json()) as { error?: string }).error]).toEqual([409, 'WrongSession']);
    }
  });

  it('a relay settlement sharing a block with five leaves: each voucher as the block says, no second lost or paid twice', async () => {
    const settledOf = async (v: KeyringPair) => (await env.ticks.query.sessionOf(v.address, streamId, v.address)).value?.ticksSettled;
    // The relay (every 2 s) has settled the first test's vouchers: nothing of its own is pending.
    for (const v of viewers) await untilChain(env.api, async () => (await settledOf(v)) === 1n, 60_000, `${v.address} settled at 1`);
    const escrowBefore = await Promise.all(viewers.map(async (v) => (await env.payments.query.escrowOf(v.address, v.address)).value));
    const earningsBefore = (await env.payments.query.earningsOf(env.accounts.bob.address, streamId)).value;
    const [leavers, stayers] = [viewers.slice(0, 5), viewers.slice(5)];

    // One block: five leaves with a final voucher at 6, and the relay's batch of everyone's 5.
    const leaves = await inOneBlock(leavers.length + 1, async () => {
      for (const v of viewers) expect((await post(toWire(voucher(v, 5n)))).status).toBe(202);
      return Promise.all(leavers.map((v) => env.ticks.tx.leaveStream(v, streamId, voucher(v, 6n), true)));
    });
    expect(new Set(leaves.map((r) => r.blockHash)).size).toBe(1);
    const block = await env.api.rpc.chain.getBlock(leaves[0].blockHash);
    expect(block.block.extrinsics.filter((x) => x.method.section === 'contracts').length).toBe(leavers.length + 1);

    for (const v of stayers) expect(await settledOf(v)).toBe(5n);
    for (const [i, v] of leavers.entries()) {
      expect(await settledOf(v)).toBeUndefined();
      expect((await env.ticks.query.viewerTicks(v.address, streamId, v.address)).value).toBe(6n);
      expect((await env.payments.query.escrowOf(v.address, v.address)).value).toBe(0n);
      expect(env.payments.decodeEvents(leaves[i].records).filter((e) => e.name === 'Withdrawn')).toEqual([
        { contract: 'payment_handler', name: 'Withdrawn', args: { viewer: v.address, amount: escrowBefore[i] - 5n * RATE } },
      ]);
    }
    // Paid: 5 more seconds per leaver (1 → 6), 4 more per stayer (1 → 5); not one twice.
    expect((await env.payments.query.earningsOf(env.accounts.bob.address, streamId)).value - earningsBefore).toBe(RATE * (5n * 5n + 5n * 4n));
    // The relay took every voucher's outcome from the block: none is kept for another round, and it
    // submits nothing more.
    const rounds = () => app.output().split('\n').filter((l) => l.includes('[relay]') && l.includes('submitted')).length;
    const after = rounds();
    await new Promise((r) => setTimeout(r, 6_000));
    expect(rounds()).toBe(after);
    expect(app.output()).not.toContain('the block states no outcome');
    await expectConserved(env);
  });

  // Audit finding 11: ~36 distinct sessions fit one extrinsic, though the contract takes 100 vouchers.
  it('a relay round with more sessions due than one extrinsic holds settles them all, in several extrinsics', async () => {
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const crowd = Array.from({ length: MANY }, (_, i) => keyring.addFromUri(`//Alice//crowd//${i}`));
    await fundAll(crowd);
    // Ten joins a block (chopsticks drops, as invalid, what does not fit the block it is building).
    const joined: { v: KeyringPair; key: SessionKey; sessionId: bigint }[] = [];
    for (let i = 0; i < crowd.length; i += 10) {
      joined.push(
        ...(await Promise.all(
          crowd.slice(i, i + 10).map(async (v) => {
            const key = SessionKey.generate();
            const res = await env.ticks.tx.joinStream(v, streamId, key.publicKey, RATE, false, { value: RATE * 60n });
            return { v, key, sessionId: res.one('ViewerJoined').sessionId };
          }),
        )),
      );
    }
    // Blocks wait while the vouchers arrive, so the relay's rounds find many due at once.
    const earningsBefore = (await env.payments.query.earningsOf(env.accounts.bob.address, streamId)).value;
    const linesBefore = app.output().split('\n').length;
    await rpc('dev_setBlockBuildMode', ['Manual']);
    try {
      // Ten at a time: each first voucher of a session costs the server two chain reads.
      for (let i = 0; i < joined.length; i += 10) {
        await Promise.all(
          joined.slice(i, i + 10).map(async ({ v, key, sessionId }) => {
            const res = await post(toWire(key.sign(env.ticks.address, { streamId, viewer: v.address, sessionId, cumulativeTicks: 3n })));
            expect(res.status, await res.clone().text()).toBe(202);
          }),
        );
      }
    } finally {
      await rpc('dev_setBlockBuildMode', ['Batch']);
      await rpc('dev_newBlock', [{ count: 1 }]);
    }
    for (const { v } of joined) {
      await untilChain(env.api, async () => (await env.ticks.query.sessionOf(v.address, streamId, v.address)).value?.ticksSettled === 3n, 120_000, `${v.address} settled at 3`);
    }
    expect((await env.payments.query.earningsOf(env.accounts.bob.address, streamId)).value - earningsBefore).toBe(RATE * 3n * BigInt(MANY));
    const log = app.output().split('\n').slice(linesBefore).filter((l) => l.startsWith('[relay]'));
    expect(log.filter((l) => l.includes('failed')), log.join('\n')).toEqual([]);
    expect(log.some((l) => /in [2-9] extrinsics/.test(l)), log.join('\n')).toBe(true);
    await expectConserved(env);
  }, 600_000);
});

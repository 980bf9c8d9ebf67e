/**
 * Runs chopsticks (its block builder, Wasm executor and RPC server) on the contracts-parachain runtime
 * from chain/contracts-parachain.raw.json, a block per transaction. Started by launch.ts in a child
 * process; prints `listening <port>` when ready.
 *
 * Why not the `chopsticks --genesis` command: its genesis provider answers no `childstate_*` calls,
 * and pallet-contracts keeps every contract's storage in a child trie, so the first instantiation
 * fails with "childstate_getStorage not implemented". A chain started from genesis has no child tries
 * at genesis, so the correct answers are "no value" and "no keys"; this runner gives exactly those.
 * Every later child-trie read is served from the blocks chopsticks builds.
 *
 * Usage: tsx scripts/chain/chopsticks-server.ts <chain-spec.json> <port>
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { Block, BuildBlockMode, GenesisProvider, setup } from '@acala-network/chopsticks-core';
import { createServer } from '@acala-network/chopsticks/server';
import { handler } from '@acala-network/chopsticks/rpc/index';

const [specPath, portArg] = process.argv.slice(2);
if (!specPath || !portArg) {
  console.error('usage: tsx scripts/chain/chopsticks-server.ts <chain-spec.json> <port>');
  process.exit(2);
}

const provider = new GenesisProvider(JSON.parse(readFileSync(specPath, 'utf8')));
const genesisSend = provider.send;
provider.send = async (method: string, params: unknown[], isCacheable?: boolean) => {
  switch (method) {
    case 'childstate_getStorage':
    case 'childstate_getStorageHash':
      return null;
    case 'childstate_getKeys':
    case 'childstate_getKeysPaged':
      return [];
    case 'childstate_getStorageEntries':
      return (params[1] as unknown[]).map(() => null);
    default:
      return genesisSend(method, params, isCacheable);
  }
};

// VILO_CHOPSTICKS_PROFILE=<file>: a line appended to <file> per runtime call (time, block, method, ms),
// to see where a transaction's time goes (docs/toolchain.md, "Where a chopsticks block's time goes").
const profile = process.env.VILO_CHOPSTICKS_PROFILE;
if (profile) {
  const call = Block.prototype.call;
  Block.prototype.call = async function (this: Block, method: string, args: `0x${string}`[], mock?: boolean) {
    const t = performance.now();
    try {
      return await call.call(this, method, args, mock);
    } finally {
      appendFileSync(profile, `${new Date().toISOString().slice(11, 23)} #${this.number} ${method} ${Math.round(performance.now() - t)} ms\n`);
    }
  } as typeof call;
}
// Instant: a block per transaction (the default). Batch: pending transactions share a block, for
// benchmarks that submit hundreds at once (VILO_BLOCK_MODE=Batch).
const buildBlockMode = process.env.VILO_BLOCK_MODE === 'Batch' ? BuildBlockMode.Batch : BuildBlockMode.Instant;
const chain = await setup({ genesis: provider, buildBlockMode, runtimeLogLevel: 0 });
const { addr, close } = await createServer(handler({ chain }), Number(portArg), '127.0.0.1');
console.log(`listening ${addr}`);

const stop = async () => {
  await chain.close();
  await close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

/**
 * Weight (ref_time, proof_size), storage deposit and fee of every state-changing message, from the
 * dry run each transaction makes on the local chain; transaction-to-block latency; and each contract's
 * optimized size against the chain's code-size limit.
 *
 * Run: npm run bench:gas   (writes the "gas" and "sizes" sections of docs/benchmarks.md)
 */
import { statSync } from 'node:fs';
import { SessionKey } from '../dapp/lib/protocol/voucher.ts';
import { signTabVoucher, toEntries } from '../dapp/lib/protocol/tab.ts';
import { artifacts } from '../scripts/lib/toolchain.ts';
import type { DecodedEvent, TxResult } from '../typechain/index.ts';
import { fmt, openBench, writeFigures, writeSection } from './lib.ts';

const RATE = 1_000_000n;
const b = await openBench();
const alice = b.keyring.addFromUri('//Alice');
const bob = b.keyring.addFromUri('//Bob');
const charlie = b.keyring.addFromUri('//Charlie');
const dave = b.keyring.addFromUri('//Dave');

const rows: string[] = [];
const latencies: number[] = [];
async function measure<R extends TxResult<unknown, DecodedEvent, DecodedEvent>>(label: string, run: () => Promise<R>): Promise<R> {
  const t0 = performance.now();
  const r = await run();
  latencies.push(performance.now() - t0);
  rows.push(`| ${label} | ${fmt(r.gasRequired.refTime)} | ${fmt(r.gasRequired.proofSize)} | ${fmt(r.storageDeposit)} | ${fmt(r.fee)} |`);
  console.log(`[bench] ${label}: ref_time ${r.gasRequired.refTime}, proof ${r.gasRequired.proofSize}, deposit ${r.storageDeposit}, fee ${r.fee}`);
  return r;
}

try {
  const details = { title: 'Benchmark stream', description: 'A description of typical length for a live stream.', category: 'music', thumbnailCid: null };
  const id = (await measure('stream_registry.register_stream', () => b.registry.tx.registerStream(bob, details))).one('StreamRegistered').streamId;
  await measure('stream_registry.update_stream', () => b.registry.tx.updateStream(bob, id, { ...details, title: 'Renamed' }));
  await measure('stream_registry.set_profile (name + avatar id)', () =>
    b.registry.tx.setProfile(bob, { name: 'A display name of typical length', avatarCid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' }),
  );
  const tier = { price: RATE * 3_600n, periodMs: 2_592_000_000n };
  await measure('pricing_engine.set_price_plan (3 tiers, dynamic rule)', () =>
    b.pricing.tx.setPricePlan(bob, id, {
      ratePerSecond: RATE,
      premiumRatePerSecond: RATE * 2n,
      tiers: [tier, { ...tier, price: tier.price * 2n }, { ...tier, price: tier.price * 3n }],
      dynamic: { floor: RATE, ceiling: RATE * 2n, stepPerViewer: 0n },
    }),
  );
  await measure('stream_registry.set_live', () => b.registry.tx.setLive(bob, id, true));
  // A tab (protocol v2): charlie opens it naming dave as relay; dave settles its vouchers.
  const key = SessionKey.generate();
  const tabId = (await measure('tick_stream.open_tab (deposit, session key)', () => b.ticks.tx.openTab(charlie, key.publicKey, dave.address, { value: RATE * 1_000n }))).one('TabOpened').tabId;
  await measure('tick_stream.top_up', () => b.ticks.tx.topUp(alice, tabId, { value: RATE * 100n }));
  const scope = { genesisHash: b.api.genesisHash.toHex() as `0x${string}`, contract: b.ticks.address, tabId };
  const claim = (ticks: bigint) => [{ watch: 0, streamId: id, ratePerSecond: RATE, ticks }];
  await measure('tick_stream.settle_tabs (1 voucher, a new watch)', () => b.ticks.tx.settleTabs(dave, [toEntries(signTabVoucher(key, scope, claim(10n)), new Set(), new Set())]));
  await measure('tick_stream.settle_tabs (1 voucher, a known watch)', () => b.ticks.tx.settleTabs(dave, [toEntries(signTabVoucher(key, scope, claim(20n)), new Set([0]), new Set())]));
  await measure('payment_handler.withdraw_earnings', () => b.payments.tx.withdrawEarnings(bob, id));
  await measure('payment_handler.buy_subscription', () => b.payments.tx.buySubscription(dave, id, 0, tier.periodMs, { value: tier.price }));
  await measure('tick_stream.close_tab', () => b.ticks.tx.closeTab(charlie, tabId));
  // finish_close waits for the deployment's dispute window (10 min by default): measured by bench:tabs.
  await measure('payment_handler.set_fee_bps', () => b.payments.tx.setFeeBps(alice, 50));
  await measure('stream_registry.set_live (offline)', () => b.registry.tx.setLive(bob, id, false));

  const sorted = [...latencies].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)];
  const weights = b.api.consts.system.blockWeights.perClass.normal.maxExtrinsic.unwrap();
  const latency = `Transaction submitted → in a block: median ${median.toFixed(0)} ms over ${latencies.length} transactions
(min ${sorted[0].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms), dry run included.
Target (issue 2): about a second.`;
  if (b.chain.kind === 'chopsticks') {
    writeSection(
      'gas',
      `Dry-run weight of each message as the transaction used it, its storage deposit (negative: refunded)
and the fee the signer paid. Chain: contracts-parachain-runtime 0.42 (pallet-contracts 38) in
chopsticks (the default local chain). A normal extrinsic may use at most ${fmt(weights.refTime.toBigInt())} ref_time and
${fmt(weights.proofSize.toBigInt())} proof_size. Amounts in plancks (1 UNIT = 10^12).

| message | ref_time | proof_size (bytes) | storage deposit | fee paid |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}

${latency}`,
    );
  } else {
    // The dev node runs its own standalone runtime (contracts-node-runtime), whose fees differ from
    // the parachain runtime's: its table is printed, only its latency is written.
    console.log(rows.join('\n'));
    writeSection(
      'tx-latency-node',
      `On substrate-contracts-node 0.42 in \`--dev\` mode (instant seal: a block per transaction), the chain
the launcher uses when the node is built (\`tools/build-node.sh\`). ${latency}`,
    );
  }

  writeFigures([
    {
      name: b.chain.kind === 'chopsticks' ? 'tx_to_block_ms_median_chopsticks' : 'tx_to_block_ms_median_node',
      value: Math.round(median),
      unit: 'ms',
      target: '≈ 1000',
      command: b.chain.kind === 'chopsticks' ? 'npm run bench:gas' : 'VILO_CHAIN=contracts-node npm run bench:gas',
    },
  ]);

  const limit = b.api.consts.contracts.maxCodeLen.toNumber();
  const sizeRows = ['stream_registry', 'pricing_engine', 'tick_stream', 'payment_handler'].map((n) => {
    const size = statSync(artifacts(n).wasm).size;
    return `| ${n} | ${fmt(size)} | ${((100 * size) / limit).toFixed(1)} % |`;
  });
  writeSection(
    'sizes',
    `Optimized Wasm (cargo-contract 5.0.3 release build, \`-Cpanic=immediate-abort\`) against the chain's
code-size limit \`contracts.maxCodeLen\` = ${fmt(limit)} bytes.

| contract | bytes | of the limit |
| --- | ---: | ---: |
${sizeRows.join('\n')}`,
  );
} finally {
  await b.close();
}

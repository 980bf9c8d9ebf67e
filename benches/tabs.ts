/**
 * Protocol v2 (tabs): what settlement costs creators, on this runtime's fee schedule, at the
 * reference rate of 10^8 plancks per second.
 *
 * N viewers each open a tab (one wallet approval) and watch three streams for 20 minutes each. Their
 * hour is settled by one tab voucher each (three watches, one signature; the relay retires the two
 * watches that ended), submitted by the relay in batches of K = 1, 10, 50, 100. Then steady-state
 * vouchers (known watches, one entry) in batches of K = 1, 10, 100 and the contract's limit, to find
 * the most settlements one extrinsic holds. Fees are read from each transaction's TransactionFeePaid
 * event, settled counts from the block's TabSettled events; weights are the dry run's (the runtime's
 * benchmarked weights, deterministic).
 *
 * Run: npm run bench:tabs   (writes the "tabs" section of docs/benchmarks.md and docs/benchmarks.json)
 */
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { signAndWait } from '../scripts/lib/chain.ts';
import { signTabVoucher, toEntries, type Claim, type SignedTabVoucher } from '../dapp/lib/protocol/tab.ts';
import { SessionKey, type Hex } from '../dapp/lib/protocol/voucher.ts';
import type { TabVoucher, WatchSettlement } from '../typechain/tick_stream.ts';
import { fmt, openBench, writeFigures, writeSection } from './lib.ts';

// A short dispute window, so that closing and finishing can be timed here (the fee does not depend on it).
process.env.VILO_DISPUTE_WINDOW_MS = '1000';

const RATE = 100_000_000n; // the reference rate: 10^8 plancks/s = 0.36 UNIT an hour
const UNIT = 10n ** 12n;
const MINUTES_PER_STREAM = 20n;
const HOUR_KS = [1, 10, 50, 100];
const N = HOUR_KS.reduce((a, k) => a + k, 0);
const COMMAND = 'npm run bench:tabs';
/** tick_stream's MAX_TAB_BATCH (contracts/tick_stream/lib.rs). */
const MAX_TAB_BATCH = 110;

const b = await openBench();
const api = b.api;
const alice = b.keyring.addFromUri('//Alice');
const bob = b.keyring.addFromUri('//Bob');
const relay = b.keyring.addFromUri('//Charlie');

function feePaid(api: ApiPromise, events: EventRecord[]): bigint {
  const paid = events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
  return paid ? (paid.event.data[1] as unknown as { toBigInt(): bigint }).toBigInt() : 0n;
}

try {
  const streams: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    const id = (await b.registry.tx.registerStream(bob, { title: `Tab bench ${i}`, description: '', category: 'bench', thumbnailCid: null })).one('StreamRegistered').streamId;
    await b.pricing.tx.setPricePlan(bob, id, { ratePerSecond: RATE, premiumRatePerSecond: null, tiers: [], dynamic: null });
    await b.registry.tx.setLive(bob, id, true);
    streams.push(id);
  }
  const [genesisHash] = (await b.ticks.query.tabTerms(alice.address)).value;

  const viewers: KeyringPair[] = Array.from({ length: N }, (_, i) => b.keyring.addFromUri(`//Alice//tab-viewer/${i}`));
  const t0 = Date.now();
  for (let i = 0; i < N; i += 250) {
    await signAndWait(api, api.tx.utility.batchAll(viewers.slice(i, i + 250).map((v) => api.tx.balances.transferKeepAlive(v.address, 2n * UNIT))), alice);
  }
  console.log(`[bench] funded ${N} viewers in ${((Date.now() - t0) / 1000).toFixed(0)}s`);

  const signedBy = async (v: KeyringPair) => (await api.rpc.system.accountNextIndex(v.address)).toNumber();
  const noncesBefore = await signedBy(viewers[0]);
  // Every viewer opens a tab: deposit, session key, relay — the one wallet approval.
  const keys = viewers.map(() => SessionKey.generate());
  const deposit = RATE * 3_600n + RATE * 600n;
  const probe = await b.ticks.query.openTab(viewers[0].address, keys[0].publicKey, relay.address, { value: deposit });
  const gasLimit = api.registry.createType('WeightV2', {
    refTime: (probe.gasRequired.refTime * 13n) / 10n,
    proofSize: (probe.gasRequired.proofSize * 13n) / 10n,
  });
  const openFees: bigint[] = [];
  const tabIds: bigint[] = [];
  const t1 = Date.now();
  for (let i = 0; i < N; i += 10) {
    const group = viewers.slice(i, i + 10).map((v, j) =>
      signAndWait(api, b.ticks.contract.tx.openTab({ gasLimit, storageDepositLimit: null, value: deposit }, keys[i + j].publicKey, relay.address), v),
    );
    for (const r of await Promise.all(group)) openFees.push(feePaid(api, r.events));
    console.log(`[bench] ${Math.min(i + 10, N)}/${N} tabs opened (${((Date.now() - t1) / 1000).toFixed(0)}s)`);
  }
  for (const v of viewers) tabIds.push((await b.ticks.query.tabOf(v.address, v.address)).value!.id);

  const scope = (i: number) => ({ genesisHash: genesisHash as Hex, contract: b.ticks.address, tabId: tabIds[i] });
  const seconds = MINUTES_PER_STREAM * 60n;
  /** Viewer i's hour: three watches of 20 minutes, one voucher. */
  const hourClaims = (extra = 0n): Claim[] => streams.map((s, w) => ({ watch: w, streamId: s, ratePerSecond: RATE, ticks: seconds + extra }));
  const hourVoucher = (i: number): SignedTabVoucher => signTabVoucher(keys[i], scope(i), hourClaims());

  const max = api.consts.system.blockWeights.perClass.normal.maxExtrinsic.unwrap();
  const maxRef = max.refTime.toBigInt();
  const maxProof = max.proofSize.toBigInt();

  interface Row { k: number; settled: number; ref: bigint; proof: bigint; fee: bigint; bytes: number; included: boolean; error?: string }
  /** Dry run for the weight, then the real extrinsic: its fee from the block, its settlements from the events. */
  async function measure(k: number, batch: TabVoucher[], expectedWatches: number): Promise<Row> {
    try {
      const dry = await b.ticks.query.settleTabs(relay.address, batch);
      const call = b.ticks.contract.tx.settleTabs({ gasLimit: api.registry.createType('WeightV2', dry.gasRequired), storageDepositLimit: null }, batch);
      const bytes = call.method.toU8a().length;
      const fits = dry.gasRequired.refTime <= maxRef && dry.gasRequired.proofSize <= maxProof;
      if (!fits) return { k, settled: 0, ref: dry.gasRequired.refTime, proof: dry.gasRequired.proofSize, fee: 0n, bytes, included: false };
      const res = await signAndWait(api, call, relay);
      const decoded = b.ticks.decodeEvents(res.events);
      const settled = decoded.flatMap((e) => (e.name === 'TabSettled' ? (e.args.watches as WatchSettlement[]) : [])).filter((w) => w.newTicks > 0n).length;
      if (settled !== expectedWatches) throw new Error(`K=${k}: ${settled} watches settled, expected ${expectedWatches}`);
      return { k, settled: settled, ref: dry.gasRequired.refTime, proof: dry.gasRequired.proofSize, fee: feePaid(api, res.events), bytes, included: true };
    } catch (e) {
      return { k, settled: 0, ref: 0n, proof: 0n, fee: 0n, bytes: 0, included: false, error: (e as Error).message.slice(0, 100) };
    }
  }

  // The hour vouchers: every watch new (terms sent), the two ended watches retired by the relay.
  const hourRows: Row[] = [];
  let next = 0;
  for (const k of HOUR_KS) {
    const batch = Array.from({ length: k }, (_, j) => toEntries(hourVoucher(next + j), new Set(), new Set([0, 1])));
    next += k;
    const row = await measure(k, batch, 3 * k);
    hourRows.push(row);
    console.log(`[bench] hour vouchers K=${k}: ${JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }

  // Transactions viewer 0 signed to watch its three streams, settlement included.
  const approvals = (await signedBy(viewers[0])) - noncesBefore;

  // Steady state: the watch every tab still holds (watch 2), one entry, no terms.
  const steadyRows: Row[] = [];
  const steadyKs = [1, 10, 100, MAX_TAB_BATCH];
  for (const [round, k] of steadyKs.entries()) {
    const batch = Array.from({ length: k }, (_, j) =>
      toEntries(signTabVoucher(keys[j], scope(j), [{ watch: 2, streamId: streams[2], ratePerSecond: RATE, ticks: seconds + 1n + BigInt(round) }]), new Set([2])),
    );
    const row = await measure(k, batch, k);
    steadyRows.push(row);
    console.log(`[bench] steady K=${k}: ${JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }

  // The most settlements one extrinsic holds: fixed part + K × marginal, for the costlier hour voucher.
  const at = (rows: Row[], k: number) => rows.find((r) => r.k === k)!;
  const fitsFor = (rows: Row[], k1: number, k2: number) => {
    const a = at(rows, k1), c = at(rows, k2);
    const dk = BigInt(k2 - k1);
    const mRef = (c.ref - a.ref) / dk, mProof = (c.proof - a.proof) / dk;
    const fRef = c.ref - mRef * BigInt(k2), fProof = c.proof - mProof * BigInt(k2);
    const byRef = (maxRef - fRef) / mRef, byProof = (maxProof - fProof) / mProof;
    return { byRef, byProof, most: byRef < byProof ? byRef : byProof, mRef, mProof };
  };
  const hourFit = fitsFor(hourRows, 50, 100);
  const steadyFit = fitsFor(steadyRows, 10, 100);
  const maxBatch = MAX_TAB_BATCH;
  const settlementsPerExtrinsic = Number(hourFit.most < BigInt(maxBatch) ? hourFit.most : BigInt(maxBatch));

  // A first hour from a fresh wallet: open, the hour's settlement, close, finish (window 1 s here).
  const closeFees: bigint[] = [];
  const finishFees: bigint[] = [];
  for (let i = 0; i < 5; i++) {
    const v = viewers[N - 1 - i];
    closeFees.push((await b.ticks.tx.closeTab(v, tabIds[N - 1 - i])).fee);
  }
  const ends = (await api.query.timestamp.now()).toBigInt() + 1_000n;
  while ((await api.query.timestamp.now()).toBigInt() < ends) await signAndWait(api, api.tx.system.remark('0x00'), alice);
  for (let i = 0; i < 5; i++) {
    const v = viewers[N - 1 - i];
    finishFees.push((await b.ticks.tx.finishClose(v, tabIds[N - 1 - i])).fee);
  }
  const mean = (xs: bigint[]) => xs.reduce((a, x) => a + x, 0n) / BigInt(xs.length);
  const open = mean(openFees);
  const close = mean(closeFees);
  const finish = mean(finishFees);
  // The relay's share per tab-hour: the largest hour batch that was included (K = 100 unless it did not fit).
  const hour100 = [...hourRows].reverse().find((r) => r.included);
  if (!hour100) throw new Error('no hour batch was included: nothing to compute the fee from');
  const perTabHour = hour100.fee / BigInt(hour100.k);
  const paid = RATE * 3_600n;
  const pct = (fees: bigint) => (Number(fees) / Number(paid)) * 100;
  const openTabPct = pct(perTabHour);
  const firstHourPct = pct(open + perTabHour + close + finish);
  const txOpenTab = 1 / hour100.k; // the hour's one voucher, in a K-voucher extrinsic
  const txFirstHour = 3 + txOpenTab;

  const row = (r: Row) =>
    r.error
      ? `| ${r.k} | — | failed: ${r.error} | | | | | |`
      : `| ${r.k} | ${r.settled} | ${fmt(r.ref)} | ${fmt(r.proof)} | ${fmt(r.proof / BigInt(r.k))} | ${fmt(r.bytes)} | ${r.included ? fmt(r.fee) : '—'} | ${r.included ? fmt(r.fee / BigInt(r.k)) : 'does not fit'} |`;
  writeSection(
    'tabs',
    `${N} viewers each opened a tab (\`open_tab\`: deposit and session key, the one wallet approval) and
watched three streams for ${MINUTES_PER_STREAM} minutes each at the reference rate of 10^8 plancks/s, so
${fmt(paid)} plancks are paid to creators per viewer-hour. The relay (its own account) settles each
viewer's hour with **one tab voucher** — three watches, one signature, the terms of each new watch
sent once, the two ended watches retired — in batches of K. Fee: each extrinsic's
TransactionFeePaid event; settled watches: the block's TabSettled events; weight: the dry run. A
normal extrinsic may use at most ${fmt(maxRef)} ref_time and ${fmt(maxProof)} proof_size.

Hour vouchers (3 new watches each):

| K | watches settled | ref_time | proof_size | proof per voucher | call bytes | fee (plancks) | fee per voucher |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${hourRows.map(row).join('\n')}

Steady state (a watch the tab already holds: one entry, no terms):

| K | watches settled | ref_time | proof_size | proof per voucher | call bytes | fee (plancks) | fee per voucher |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${steadyRows.map(row).join('\n')}

Settlements one extrinsic holds (fixed part + K × marginal, from K = 50 → 100): hour vouchers
${fmt(hourFit.most)} (ref_time allows ${fmt(hourFit.byRef)}, proof_size ${fmt(hourFit.byProof)}; marginal
${fmt(hourFit.mProof)} bytes of proof each); steady vouchers ${fmt(steadyFit.most)}. The contract takes at most
${maxBatch} (\`MAX_TAB_BATCH\`), and the K = ${maxBatch} steady row above is ${at(steadyRows, maxBatch).included ? 'a real, included extrinsic' : '**not included**'}.
Target (issue 10): ≥ 100 — ${settlementsPerExtrinsic >= 100 ? 'met' : '**not met**'} (v1: ≈ 45).

| figure | measured | target (issue 10) |
| --- | ---: | ---: |
| all fees ÷ paid, an open tab, 1 h across 3 streams (the relay's share of a K = ${hour100.k} extrinsic) | ${openTabPct.toFixed(3)} % (${fmt(perTabHour)} plancks) | ≤ 0.5 % |
| the same for a first hour from a fresh wallet: open ${fmt(open)} + settlement + close ${fmt(close)} + finish ${fmt(finish)} | ${firstHourPct.toFixed(2)} % | ≤ 2 % |
| on-chain transactions per viewer-hour, open tab (amortized: one voucher of a ${hour100.k}-voucher extrinsic) | ${txOpenTab} | ≤ 1 |
| the same, first hour from a fresh wallet (open, close, finish + settlement) | ${txFirstHour} | — |
| wallet approvals to watch 3 streams one after another (viewer 0's signed transactions, counted) | ${approvals} (\`open_tab\`) | 1 |
| settlements one extrinsic holds | ${settlementsPerExtrinsic} | ≥ 100 |

v1 for comparison (section "fees" above): 125 % with the relay's default, 3.2–5.6 transactions per
viewer-hour, 3 joins + 3 leaves from the wallet. What makes v2 cheap is that nothing forces frequent
settlement any more: escrow behind a tab cannot leave before a dispute window, so the relay settles a
tab once an hour (or when it closes) and a creator loses nothing by waiting; and one 65-byte signature
covers every watch of the hour. Most of the remaining fee is the length fee (10^7 plancks a byte).`,
  );
  writeFigures([
    { name: 'fee_overhead_open_tab_percent', value: Number(openTabPct.toFixed(3)), unit: '%', target: '≤ 0.5 (issue 10)', command: COMMAND },
    { name: 'fee_overhead_first_hour_percent', value: Number(firstHourPct.toFixed(2)), unit: '%', target: '≤ 2 (issue 10)', command: COMMAND },
    { name: 'tx_per_viewer_hour', value: txOpenTab, unit: 'transactions', target: '≤ 1 (issue 10)', command: COMMAND },
    { name: 'settlements_per_extrinsic', value: settlementsPerExtrinsic, unit: 'tab vouchers', target: '≥ 100 (issue 10)', command: COMMAND },
    { name: 'wallet_approvals_three_streams', value: approvals, unit: 'approvals', target: '1 (issue 10)', command: COMMAND },
  ]);
} finally {
  await b.close();
}

/**
 * Protocol v2 on the local chain: a tick_stream + payment handler pair of a test's own, tabs, vouchers,
 * and the chain's clock (waiting for it, or on chopsticks moving it an hour on).
 */
import type { ApiPromise, WsProvider } from '@polkadot/api';
import { bnToU8a, u8aToHex } from '@polkadot/util';
import type { KeyringPair } from '@polkadot/keyring/types';
import { instantiateContract } from '../../scripts/deploy.ts';
import { signAndWait } from '../../scripts/lib/chain.ts';
import { PaymentHandlerContract, TickStreamContract } from '../../typechain/index.ts';
import { signTabVoucher, toEntries, type Claim, type SignedTabVoucher } from '../../dapp/lib/protocol/tab.ts';
import { SessionKey, type Hex } from '../../dapp/lib/protocol/voucher.ts';
import type { Deployment } from '../../scripts/deploy.ts';
import { freeBalance } from './helpers.ts';

export interface TabPair {
  ticks: TickStreamContract;
  payments: PaymentHandlerContract;
  genesisHash: Hex;
}

/**
 * A payment handler (fee `feeBps`) and a tick_stream (dispute window `windowMs`) of their own, wired
 * to each other and to the run's registry and pricing engine — for a fee or a window the run's
 * deployment does not have, and tabs no other test file touches.
 */
export async function deployTabPair(api: ApiPromise, deployer: KeyringPair, d: Deployment, feeBps: number, windowMs: number): Promise<TabPair> {
  const c = d.contracts;
  const genesisHash = api.genesisHash.toHex() as Hex;
  const ph = await instantiateContract(api, deployer, 'payment_handler', [c.pricing_engine.address, feeBps]);
  const ts = await instantiateContract(api, deployer, 'tick_stream', [c.stream_registry.address, c.pricing_engine.address, ph.address, genesisHash, windowMs]);
  const payments = new PaymentHandlerContract(api, ph.address);
  await payments.tx.setTickStream(deployer, ts.address, ts.codeHash as Hex);
  return { ticks: new TickStreamContract(api, ts.address), payments, genesisHash };
}

/** A viewer's open tab: its key, and vouchers signed by it. */
export interface OpenTab {
  tabId: bigint;
  key: SessionKey;
  sign(claims: Claim[]): SignedTabVoucher;
}

export async function openTab(pair: TabPair, viewer: KeyringPair, relay: string, deposit: bigint): Promise<OpenTab> {
  const key = SessionKey.generate();
  const tabId = (await pair.ticks.tx.openTab(viewer, key.publicKey, relay, { value: deposit })).one('TabOpened').tabId;
  const scope = { genesisHash: pair.genesisHash, contract: pair.ticks.address, tabId };
  return { tabId, key, sign: (claims) => signTabVoucher(key, scope, claims) };
}

/** `settle_tabs` of `vouchers` by `signer`, sending terms only for watches their tabs do not hold yet. */
export async function settle(pair: TabPair, signer: KeyringPair, vouchers: SignedTabVoucher[], retire: Set<number> = new Set()) {
  const known = async (tabId: bigint) => new Set(((await pair.ticks.query.tab(signer.address, tabId)).value?.watches ?? []).map((w) => w.number));
  const entries = await Promise.all(vouchers.map(async (v) => toEntries(v, await known(v.tabId), retire)));
  return pair.ticks.tx.settleTabs(signer, entries);
}

/** The latest block's timestamp, in milliseconds. */
export async function chainTime(api: ApiPromise): Promise<bigint> {
  return (await api.query.timestamp.now()).toBigInt();
}

/** Makes blocks (a remark each) until the chain's time reaches `ms`. */
export async function passChainTime(api: ApiPromise, signer: KeyringPair, ms: bigint): Promise<void> {
  while ((await chainTime(api)) < ms) {
    await new Promise((r) => setTimeout(r, 500));
    await signAndWait(api, api.tx.system.remark('0x00'), signer);
  }
}

/** Storage key of the relay chain's current slot in chopsticks' mocked relay-chain state proof. */
const RELAY_CURRENT_SLOT_KEY = '0x1cb6f36e027abb2091cfb5110ab5087f06155b3cd9a8c9e5e9a23fd5dc13a5ed';
/** The relay chain's slot in chopsticks' mock, in milliseconds. */
const RELAY_SLOT_MS = 6_000n;

/**
 * chopsticks only (its dev_* methods, sent over `dev`): sets the chain's clock forward to `ms` and
 * makes one block, stamped a slot after `ms`; later blocks go on from there. Waiting an hour is not
 * possible; `passChainTime` is for short waits.
 *
 * dev_timeTravel moves the parachain's timestamp and slot, but not the relay-chain slot chopsticks
 * mocks (one more per block), and cumulus' consensus hook refuses a parachain slot ahead of the
 * relay chain's ("Parachain slot is too far in the future"): the first block after the jump carries a
 * relay slot moved along with it.
 */
export async function timeTravel(api: ApiPromise, dev: WsProvider, ms: bigint): Promise<void> {
  if (ms <= (await chainTime(api))) throw new Error(`time travel goes forward only: ${ms} ms is not after the chain's clock`);
  await dev.send('dev_timeTravel', [Number(ms)]);
  const slotMs = api.createType('u64', await api.rpc.state.call('AuraApi_slot_duration', '0x')).toBigInt();
  const relaySlot = (ms + slotMs + RELAY_SLOT_MS - 1n) / RELAY_SLOT_MS;
  await dev.send('dev_newBlock', [{ count: 1, relayChainStateOverrides: [[RELAY_CURRENT_SLOT_KEY, u8aToHex(bnToU8a(relaySlot, { bitLength: 64, isLe: true }))]] }]);
  const now = await chainTime(api);
  if (now < ms) throw new Error(`the chain's clock is at ${now} ms after travelling to ${ms} ms`);
}

/** tick_stream holds exactly the tabs' balances (above its existential deposit). */
export async function tabsHeld(api: ApiPromise, pair: TabPair, caller: string): Promise<{ held: bigint; owed: bigint }> {
  const ed = api.consts.balances.existentialDeposit.toBigInt();
  return { held: (await freeBalance(api, pair.ticks.address)) - ed, owed: (await pair.ticks.query.tabsBalance(caller)).value };
}

/**
 * Storage deposit the transaction's signer paid (positive) or got back (negative), in plancks, as the
 * block's events say (pallet-contracts' StorageDepositTransferredAndHeld / …AndReleased).
 */
export function depositPaid(api: ApiPromise, records: { event: import('@polkadot/types/interfaces').Event }[]): bigint {
  let paid = 0n;
  for (const { event } of records) {
    if (api.events.contracts.StorageDepositTransferredAndHeld.is(event)) paid += event.data.amount.toBigInt();
    if (api.events.contracts.StorageDepositTransferredAndReleased.is(event)) paid -= event.data.amount.toBigInt();
  }
  return paid;
}

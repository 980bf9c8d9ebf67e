/**
 * What the media server reads from (and writes to) the chain, behind one interface so the gate and the
 * relay can be tested without a chain. `contractChain` uses the generated bindings; reads that fail
 * throw, and the gate fails closed.
 */
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import { PaymentHandlerContract } from '../../../../typechain/payment_handler.ts';
import { StreamRegistryContract } from '../../../../typechain/stream_registry.ts';
import { TickStreamContract } from '../../../../typechain/tick_stream.ts';
import { splitToFit, tabBatchOutcome, type TabOutcome } from '../../protocol/settlement.ts';
import { toEntries, type SignedTabVoucher } from '../../protocol/tab.ts';
import { input, plain, withGasMargin } from '../../../../typechain/runtime.ts';
import type { Abi } from '@polkadot/api-contract';
import type { Tab } from '../../../../typechain/tick_stream.ts';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';

export interface ChainStream {
  creator: string;
  live: boolean;
}

/** One watch of a tab as the chain holds it. */
export interface ChainWatch {
  number: number;
  streamId: bigint;
  ratePerSecond: bigint;
  settled: bigint;
}

/** A tab (protocol v2) as the chain holds it: one storage entry, so one read is self-consistent. */
export interface ChainTab {
  id: bigint;
  viewer: string;
  sessionKey: `0x${string}`;
  relay: string;
  /** Unspent plancks. */
  balance: bigint;
  /** Watch numbers below this have been used (a watch below it and not held was retired). */
  nextWatch: number;
  watches: ChainWatch[];
  closing: boolean;
}

/** What the tab gate and relay read. */
export interface TabChain {
  /** What every tab voucher is bound to: the genesis hash and the tick_stream contract. */
  tabScope(): Promise<{ genesisHash: `0x${string}`; contract: string }>;
  tab(tabId: bigint): Promise<ChainTab | null>;
  /** The rate, in plancks per second, that a watch of `streamId` begun now agrees to; `fresh`: read now, not from a recent read. */
  quote(streamId: bigint, fresh?: boolean): Promise<bigint>;
  hasSubscription(viewer: string, streamId: bigint): Promise<boolean>;
  stream(streamId: bigint): Promise<ChainStream | null>;
  /**
   * A new watch of `streamId` may come soon: read now what its first voucher needs (the registry
   * entry, the rate) unless a read of it is recent enough to be served then. Never waits, never fails.
   */
  expect?(streamId: bigint): void;
}

/** One tab voucher to settle: which of its watches the tab already holds (no terms sent), which to retire. */
export interface TabSettleItem {
  voucher: SignedTabVoucher;
  known: ReadonlySet<number>;
  retire: ReadonlySet<number>;
}

export interface TabSettler {
  /** The account that submits (tabs name it as their relay). */
  readonly relayAddress?: string;
  /** Submits settle_tabs (in as many extrinsics as the weight needs); each voucher's outcome from the block's events. */
  settleTabs(items: TabSettleItem[]): Promise<{ results: TabOutcome[]; extrinsics: number }>;
}

/** Any well-formed address works for dry runs (nothing is signed). */
const READER = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';

export function contractChain(
  api: ApiPromise,
  contracts: { stream_registry: string; tick_stream: string; payment_handler: string },
  relay?: KeyringPair,
): TabChain & TabSettler {
  const registry = new StreamRegistryContract(api, contracts.stream_registry);
  const ticks = new TickStreamContract(api, contracts.tick_stream);
  const payments = new PaymentHandlerContract(api, contracts.payment_handler);
  const max = api.consts.system.blockWeights.perClass.normal.maxExtrinsic.unwrap();
  const base = api.consts.system.blockWeights.perClass.normal.baseExtrinsic;
  const fitsOne = ({ refTime, proofSize }: { refTime: bigint; proofSize: bigint }) =>
    refTime + base.refTime.toBigInt() <= max.refTime.toBigInt() && proofSize + base.proofSize.toBigInt() <= max.proofSize.toBigInt();
  let scope: Promise<[`0x${string}`, bigint]> | undefined;
  const tabs = mappingReader<bigint, Tab>(api, ticks, 'tabs');
  return {
    relayAddress: relay?.address,
    async tabScope() {
      scope ??= ticks.query.tabTerms(READER).then((r) => r.value);
      scope.catch(() => (scope = undefined));
      return { genesisHash: (await scope)[0], contract: contracts.tick_stream };
    },
    async tab(tabId) {
      return toChainTab(await tabs.read(tabId));
    },
    async quote(streamId) {
      return (await ticks.query.quote(READER, streamId, 1n)).value;
    },
    async settleTabs(items) {
      if (!relay) throw new Error('no relay account configured');
      const toCall = (i: TabSettleItem) => toEntries(i.voucher, i.known, i.retire);
      // Up to MAX_TAB_BATCH vouchers pass the contract's limit, but not every such batch fits one
      // extrinsic (each distinct tab costs proof size): cut it where a dry run says so.
      const fits = async (batch: readonly TabSettleItem[]) => fitsOne(withGasMargin((await ticks.query.settleTabs(relay.address, batch.map(toCall))).gasRequired));
      const results: TabOutcome[] = [];
      const batches = await splitToFit(items, fits);
      // A part that fails says nothing of its vouchers (null: kept for the next round) and does not
      // discard the outcomes of parts already in a block; only a round with no part included throws.
      let failure: unknown;
      for (const batch of batches) {
        try {
          const res = await ticks.tx.settleTabs(relay, batch.map(toCall));
          results.push(...tabBatchOutcome(batch.map((i) => ({ tabId: i.voucher.tabId, entries: i.voucher.claims.length })), res.events));
        } catch (e) {
          failure ??= e;
          results.push(...batch.map(() => null));
        }
      }
      if (failure && results.every((r) => r === null)) throw failure;
      return { results, extrinsics: batches.length };
    },
    async stream(streamId) {
      const s = (await registry.query.getStream(READER, streamId)).value;
      return s && { creator: s.creator, live: s.live };
    },
    async hasSubscription(viewer, streamId) {
      return (await payments.query.hasSubscription(READER, viewer, streamId)).value;
    },
  };
}

/** The tab as chain.ts hands it on, from the contract's `Tab`. */
export function toChainTab(t: Tab | null): ChainTab | null {
  return (
    t && {
      id: t.id,
      viewer: t.viewer,
      sessionKey: t.sessionKey,
      relay: t.relay,
      balance: t.balance,
      nextWatch: t.nextWatch,
      watches: t.watches.map((w) => ({ number: w.number, streamId: w.terms.streamId, ratePerSecond: w.terms.ratePerSecond, settled: w.settled })),
      closing: t.closingSinceMs !== null,
    }
  );
}

/**
 * Reads one entry of an ink! `Mapping` field of a contract straight from the contract's child trie
 * (`childstate_getStorage`), instead of dry-running a getter: the node reads one trie value and runs
 * no contract. For a getter that returns `mapping.get(key)` as it is, the value is the same; the
 * e2e test `chain-reads` compares the two. The storage key is what ink! 5 and pallet-contracts make
 * of it: the field's root key (4 bytes, from the metadata) followed by the SCALE-encoded key, hashed
 * Blake2_128Concat. The contract's trie id is read once.
 */
export function mappingReader<K, V>(api: ApiPromise, c: { address: string; abi: Abi }, field: string) {
  const layout = (c.abi.json as unknown as StorageJson).storage.root.layout.struct.fields.find((f) => f.name === field)?.layout.root;
  if (!layout) throw new Error(`${c.abi.info.contract.name.toString()} has no Mapping field ${field}`);
  const registry = c.abi.registry;
  const keyType = registry.createLookupType(mappingParam(c.abi, layout.ty, 'K'));
  const valueType = registry.createLookupType(mappingParam(c.abi, layout.ty, 'V'));
  let child: Promise<string> | undefined;
  const trie = () => {
    child ??= api.query.contracts.contractInfoOf(c.address).then((info) => {
      const i = info as unknown as { isNone: boolean; unwrap(): { trieId: { toU8a(bare: boolean): Uint8Array } } };
      if (i.isNone) throw new Error(`no contract at ${c.address}`);
      return u8aToHex(u8aConcat(new TextEncoder().encode(':child_storage:default:'), i.unwrap().trieId.toU8a(true)));
    });
    child.catch(() => (child = undefined));
    return child;
  };
  return {
    async read(key: K): Promise<V | null> {
      const raw = u8aConcat(layout.root_key, registry.createType(keyType, input(key)).toU8a());
      const hashed = u8aConcat(blake2AsU8a(raw, 128), raw);
      const value = (await api.rpc.childstate.getStorage(await trie(), u8aToHex(hashed))) as unknown as { isNone: boolean; unwrap(): { toU8a(bare: boolean): Uint8Array } };
      if (value.isNone) return null;
      return plain(registry.createType(valueType, value.unwrap().toU8a(true))) as V;
    },
  };
}

/** The root layout of a contract's storage in its metadata (the fields read here). */
interface StorageJson {
  storage: { root: { layout: { struct: { fields: { name: string; layout: { root?: { root_key: string; ty: number } } }[] } } } };
}

/** A type parameter of a Mapping type (`K`: its key, `V`: its value), as the metadata names it. */
function mappingParam(abi: Abi, mappingTy: number, name: 'K' | 'V'): number {
  const t = abi.registry.lookup.getSiType(mappingTy).params.find((p) => p.name.toString() === name)?.type;
  if (!t || t.isNone) throw new Error(`type ${mappingTy} of the metadata is not a Mapping`);
  return t.unwrap().toNumber();
}

/** Rejects after `ms` so a hung chain connection counts as a failed read (fail closed). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer from the chain within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/**
 * What the media server reads from (and writes to) the chain, behind one interface so the gate and the
 * relay can be tested without a chain. `contractChain` uses the generated bindings; `cached` keeps
 * successful reads for at most `ttlMs` (≤ 1 s) and never caches a failure: an unreadable chain makes
 * every read throw, and the gate fails closed.
 */
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { SignedVoucher } from '../../protocol/voucher.ts';
import { PaymentHandlerContract } from '../../../../typechain/payment_handler.ts';
import { StreamRegistryContract } from '../../../../typechain/stream_registry.ts';
import { TickStreamContract } from '../../../../typechain/tick_stream.ts';
import { batchOutcome, splitToFit, type VoucherOutcome } from '../../protocol/settlement.ts';
import { withGasMargin } from '../../../../typechain/runtime.ts';

export interface ChainSession {
  id: bigint;
  sessionKey: `0x${string}`;
  ratePerSecond: bigint;
  ticksSettled: bigint;
}

export interface ChainStream {
  creator: string;
  live: boolean;
}

/** A voucher's outcome as its block states it; `null`: the block says nothing of it (it stays unsettled). */
export type SettleResult = VoucherOutcome;

export interface ChainReader {
  /** The tick_stream contract's address (part of every voucher's signed payload). */
  readonly tickStream: string;
  stream(streamId: bigint): Promise<ChainStream | null>;
  session(streamId: bigint, viewer: string): Promise<ChainSession | null>;
  escrow(viewer: string): Promise<bigint>;
  hasSubscription(viewer: string, streamId: bigint): Promise<boolean>;
}

/** Each voucher's outcome, in order, and how many extrinsics carried them. */
export interface Settled {
  results: SettleResult[];
  extrinsics: number;
}

export interface ChainSettler {
  /** Submits one record_ticks_batch (≤ 100 vouchers); resolves with each voucher's outcome, read from the block's events. */
  settle(vouchers: SignedVoucher[]): Promise<Settled>;
}

/** Any well-formed address works for dry runs (nothing is signed). */
const READER = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';

export function contractChain(
  api: ApiPromise,
  contracts: { stream_registry: string; tick_stream: string; payment_handler: string },
  relay?: KeyringPair,
): ChainReader & ChainSettler {
  const registry = new StreamRegistryContract(api, contracts.stream_registry);
  const ticks = new TickStreamContract(api, contracts.tick_stream);
  const payments = new PaymentHandlerContract(api, contracts.payment_handler);
  return {
    tickStream: contracts.tick_stream,
    async stream(streamId) {
      const s = (await registry.query.getStream(READER, streamId)).value;
      return s && { creator: s.creator, live: s.live };
    },
    async session(streamId, viewer) {
      const s = (await ticks.query.sessionOf(READER, streamId, viewer)).value;
      return s && { id: BigInt(s.id), sessionKey: s.sessionKey, ratePerSecond: BigInt(s.ratePerSecond), ticksSettled: BigInt(s.ticksSettled) };
    },
    async escrow(viewer) {
      return BigInt((await payments.query.escrowOf(READER, viewer)).value);
    },
    async hasSubscription(viewer, streamId) {
      return (await payments.query.hasSubscription(READER, viewer, streamId)).value;
    },
    async settle(vouchers) {
      if (!relay) throw new Error('no relay account configured');
      // Up to 100 vouchers pass the contract's limit, but not every such batch fits one extrinsic
      // (distinct sessions cost more proof size than one session's): cut it where a dry run says so.
      const max = api.consts.system.blockWeights.perClass.normal.maxExtrinsic.unwrap();
      const base = api.consts.system.blockWeights.perClass.normal.baseExtrinsic;
      const fits = async (batch: readonly SignedVoucher[]) => {
        const { gasRequired } = await ticks.query.recordTicksBatch(relay.address, [...batch]);
        const { refTime, proofSize } = withGasMargin(gasRequired);
        return refTime + base.refTime.toBigInt() <= max.refTime.toBigInt() && proofSize + base.proofSize.toBigInt() <= max.proofSize.toBigInt();
      };
      const results: SettleResult[] = [];
      const batches = await splitToFit(vouchers, fits);
      for (const batch of batches) {
        const res = await ticks.tx.recordTicksBatch(relay, batch);
        results.push(...batchOutcome(batch.map((v) => v.voucher), res.events));
      }
      return { results, extrinsics: batches.length };
    },
  };
}

/** Wraps `inner` so each stream / subscription read is made at most once per `ttlMs`; failures are not cached. */
export function cached(inner: ChainReader, ttlMs = 1_000, now = () => Date.now()): ChainReader & { invalidate(): void } {
  const memo = new Map<string, { at: number; value: Promise<unknown> }>();
  function read<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const hit = memo.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = fn();
    memo.set(key, { at: now(), value });
    value.catch(() => {
      if (memo.get(key)?.value === value) memo.delete(key);
    });
    if (memo.size > 50_000) memo.clear();
    return value;
  }
  return {
    tickStream: inner.tickStream,
    stream: (id) => read(`s:${id}`, () => inner.stream(id)),
    // Sessions and escrows are read by the gate, which keeps its own per-viewer entitlement (read at
    // most once a second) and needs each pair read together, not from two cache ages.
    session: (id, v) => inner.session(id, v),
    escrow: (v) => inner.escrow(v),
    hasSubscription: (v, id) => read(`u:${v}:${id}`, () => inner.hasSubscription(v, id)),
    invalidate: () => memo.clear(),
  };
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

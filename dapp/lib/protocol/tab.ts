/**
 * Tab vouchers (protocol v2), as tick_stream checks them (contracts/tick_stream/tab.rs,
 * `tab_voucher_payload`). One session key, one tab, any number of streams: for each watch the key
 * signs the terms agreed when watching began (stream, rate) and the seconds watched, cumulatively;
 * one signature covers every watch of the voucher.
 *
 * Signed bytes: SCALE(TAB_DOMAIN, genesis hash, contract, tab_id, [(watch u32, stream u64,
 * rate u128, ticks u64)]); the signature is ECDSA secp256k1 over their blake2-256.
 */
import { decodeAddress } from '@polkadot/util-crypto/address';
import { blake2AsU8a } from '@polkadot/util-crypto/blake2';
import { secp256k1Recover } from '@polkadot/util-crypto/secp256k1';
import { compactToU8a, hexToU8a, stringToU8a, u8aConcat, u8aEq } from '@polkadot/util';
import { isCanonical, VoucherError, type Hex, type SessionKey } from './voucher.ts';

/** Domain tag: must equal TAB_DOMAIN in the contract. */
export const TAB_DOMAIN = 'vilokanam:tab:v2';
/** Watches one voucher (and one tab) holds at once: MAX_WATCHES in the contract. */
export const MAX_WATCHES = 8;

/** What the viewer agreed when a watch began. */
export interface WatchTerms {
  streamId: bigint;
  /** Plancks per second. */
  ratePerSecond: bigint;
}

/** One watch's cumulative claim. */
export interface Claim extends WatchTerms {
  /** The watch's number in the tab (grows with every new watch). */
  watch: number;
  /** Seconds watched in this watch, in total. */
  ticks: bigint;
}

/** Where a tab voucher is valid: the chain (genesis hash), the tick_stream contract, the tab. */
export interface TabScope {
  genesisHash: Hex;
  contract: string;
  tabId: bigint;
}

export interface SignedTabVoucher {
  tabId: bigint;
  /** In strictly increasing watch order. */
  claims: Claim[];
  signature: Hex;
}

function uint(n: bigint, bytes: number): Uint8Array {
  if (n < 0n || n >= 1n << BigInt(8 * bytes)) throw new VoucherError(`${n} does not fit in ${bytes} bytes`);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Refuses what the contract would refuse as BadEntries: none, too many, or not strictly increasing. */
export function checkClaims(claims: Claim[]): void {
  if (claims.length === 0 || claims.length > MAX_WATCHES) {
    throw new VoucherError(`a tab voucher holds 1 to ${MAX_WATCHES} watches, not ${claims.length}`);
  }
  for (let i = 1; i < claims.length; i++) {
    if (claims[i].watch <= claims[i - 1].watch) throw new VoucherError('watches must be in strictly increasing order');
  }
}

/** The exact bytes the session key signs. */
export function tabVoucherPayload(scope: TabScope, claims: Claim[]): Uint8Array {
  return u8aConcat(
    stringToU8a(TAB_DOMAIN),
    hexToU8a(scope.genesisHash),
    decodeAddress(scope.contract),
    uint(scope.tabId, 8),
    compactToU8a(claims.length),
    ...claims.map((c) => u8aConcat(uint(BigInt(c.watch), 4), uint(c.streamId, 8), uint(c.ratePerSecond, 16), uint(c.ticks, 8))),
  );
}

export function signTabVoucher(key: SessionKey, scope: TabScope, claims: Claim[]): SignedTabVoucher {
  checkClaims(claims);
  return { tabId: scope.tabId, claims, signature: key.signPayload(tabVoucherPayload(scope, claims)) };
}

/** Whether `signed` carries `sessionKey`'s signature in the contract's one accepted form. */
export function verifyTabVoucher(scope: TabScope, sessionKey: Hex, signed: SignedTabVoucher): boolean {
  try {
    checkClaims(signed.claims);
    const sig = hexToU8a(signed.signature);
    if (!isCanonical(sig) || signed.tabId !== scope.tabId) return false;
    const hash = blake2AsU8a(tabVoucherPayload(scope, signed.claims), 256);
    return u8aEq(secp256k1Recover(hash, sig.subarray(0, 64), sig[64], 'blake2'), hexToU8a(sessionKey));
  } catch {
    return false;
  }
}

/**
 * The voucher as `settle_tabs` takes it: terms only for watches the tab does not hold yet (`known`:
 * the tab's watch numbers), `retire` for the ones the relay frees after settling.
 */
export function toEntries(signed: SignedTabVoucher, known: ReadonlySet<number>, retire: ReadonlySet<number> = new Set()) {
  return {
    tabId: signed.tabId,
    entries: signed.claims.map((c) => ({
      watch: c.watch,
      ticks: c.ticks,
      terms: known.has(c.watch) ? null : { streamId: c.streamId, ratePerSecond: c.ratePerSecond },
      retire: retire.has(c.watch),
    })),
    signature: signed.signature,
  };
}

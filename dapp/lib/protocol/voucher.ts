/**
 * Tick vouchers, as tick_stream checks them (contracts/tick_stream/lib.rs, `voucher_payload`).
 * A session key is a secp256k1 key made in the viewer's browser; it signs
 * blake2_256(SCALE(domain, contract, stream_id, viewer, session_id, cumulative_ticks)) every second.
 * Used by the dApp (signing), the relay (checking before storing) and the tests.
 */
import { decodeAddress } from '@polkadot/util-crypto/address';
import { blake2AsU8a } from '@polkadot/util-crypto/blake2';
import { secp256k1PairFromSeed, secp256k1Recover, secp256k1Sign } from '@polkadot/util-crypto/secp256k1';
import { randomAsU8a } from '@polkadot/util-crypto/random';
import { hexToU8a, stringToU8a, u8aConcat, u8aToHex, u8aEq } from '@polkadot/util';

/** Domain tag: must equal VOUCHER_DOMAIN in the contract. */
export const VOUCHER_DOMAIN = 'vilokanam:tick:1';

export type Hex = `0x${string}`;

export interface Voucher {
  streamId: bigint;
  /** SS58 address of the viewer. */
  viewer: string;
  sessionId: bigint;
  cumulativeTicks: bigint;
}

export interface SignedVoucher {
  voucher: Voucher;
  /** 65-byte ECDSA signature (r, s, recovery id) as hex. */
  signature: Hex;
}

export class VoucherError extends Error {
  override name = 'VoucherError';
}

function u64le(n: bigint): Uint8Array {
  if (n < 0n || n >= 1n << 64n) throw new VoucherError(`${n} does not fit in a u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, true);
  return out;
}

/** The exact bytes the session key signs for `voucher` on the tick_stream contract at `contract`. */
export function voucherPayload(contract: string, v: Voucher): Uint8Array {
  return u8aConcat(
    stringToU8a(VOUCHER_DOMAIN),
    decodeAddress(contract),
    u64le(v.streamId),
    decodeAddress(v.viewer),
    u64le(v.sessionId),
    u64le(v.cumulativeTicks),
  );
}

/** A session key: generated in the browser, registered at join, never leaves the device. */
export class SessionKey {
  private constructor(
    private readonly secretKey: Uint8Array,
    /** Compressed public key (33 bytes), as `join_stream` takes it. */
    readonly publicKey: Hex,
  ) {}

  static generate(): SessionKey {
    return SessionKey.fromSeed(u8aToHex(randomAsU8a(32)) as Hex);
  }

  static fromSeed(seed: Hex): SessionKey {
    const pair = secp256k1PairFromSeed(hexToU8a(seed));
    return new SessionKey(pair.secretKey, u8aToHex(pair.publicKey) as Hex);
  }

  /** The seed, to keep the key across a page reload (session storage). */
  get seed(): Hex {
    return u8aToHex(this.secretKey) as Hex;
  }

  sign(contract: string, voucher: Voucher): SignedVoucher {
    const sig = secp256k1Sign(voucherPayload(contract, voucher), { secretKey: this.secretKey }, 'blake2');
    return { voucher, signature: u8aToHex(sig) as Hex };
  }
}

/** secp256k1's group order n: a signature (r, s) and its twin (r, n − s) recover the same key. */
export const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Whether a 65-byte signature is in the one form the contract accepts: s ≤ n/2, recovery id 0 or 1. */
export function isCanonical(sig: Uint8Array): boolean {
  return sig.length === 65 && sig[64] <= 1 && BigInt(u8aToHex(sig.subarray(32, 64))) <= SECP256K1_ORDER / 2n;
}

/** Whether `signed` carries `sessionKey`'s signature for `contract` (the contract's own check). */
export function verifyVoucher(contract: string, sessionKey: Hex, signed: SignedVoucher): boolean {
  try {
    const sig = hexToU8a(signed.signature);
    if (!isCanonical(sig)) return false;
    const hash = blake2AsU8a(voucherPayload(contract, signed.voucher), 256);
    const signer = secp256k1Recover(hash, sig.subarray(0, 64), sig[64], 'blake2');
    return u8aEq(signer, hexToU8a(sessionKey));
  } catch {
    return false;
  }
}

/**
 * Session keys: a secp256k1 key made in the viewer's browser, named by their tab at open_tab, that
 * signs the tab's vouchers every second (protocol/tab.ts); and the one signature form the contract
 * accepts. Used by the dApp (signing), the relay (checking before storing) and the tests.
 */
import { secp256k1PairFromSeed, secp256k1Sign } from '@polkadot/util-crypto/secp256k1';
import { randomAsU8a } from '@polkadot/util-crypto/random';
import { hexToU8a, u8aToHex } from '@polkadot/util';

export type Hex = `0x${string}`;

export class VoucherError extends Error {
  override name = 'VoucherError';
}

/** A session key: generated in the browser, named by the tab at open_tab, never leaves the device. */
export class SessionKey {
  private constructor(
    private readonly secretKey: Uint8Array,
    /** Compressed public key (33 bytes), as `open_tab` takes it. */
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

  /** Signs blake2-256 of `payload` (a tab voucher's, for example: protocol/tab.ts). */
  signPayload(payload: Uint8Array): Hex {
    return u8aToHex(secp256k1Sign(payload, { secretKey: this.secretKey }, 'blake2')) as Hex;
  }
}

/** secp256k1's group order n: a signature (r, s) and its twin (r, n − s) recover the same key. */
export const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Whether a 65-byte signature is in the one form the contract accepts: s ≤ n/2, recovery id 0 or 1. */
export function isCanonical(sig: Uint8Array): boolean {
  return sig.length === 65 && sig[64] <= 1 && BigInt(u8aToHex(sig.subarray(32, 64))) <= SECP256K1_ORDER / 2n;
}

import { describe, expect, it } from 'vitest';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { SECP256K1_ORDER, SessionKey, isCanonical } from './voucher.ts';

describe('session keys', () => {
  const key = SessionKey.fromSeed(`0x${'11'.repeat(32)}`);

  it('have a compressed public key and sign in the one form the contract accepts', () => {
    expect(key.publicKey).toMatch(/^0x0[23][0-9a-f]{64}$/);
    for (let i = 0; i < 20; i++) {
      const sig = key.signPayload(new Uint8Array([i]));
      expect(sig).toMatch(/^0x[0-9a-f]{130}$/);
      expect(isCanonical(hexToU8a(sig))).toBe(true);
    }
  });

  it('call the high-s twin and the 27/28 form of a signature non-canonical, and a short one too', () => {
    const sig = hexToU8a(key.signPayload(new Uint8Array([1, 2, 3])));
    const s = BigInt(u8aToHex(sig.subarray(32, 64)));
    const twin = u8aConcat(sig.subarray(0, 32), hexToU8a('0x' + (SECP256K1_ORDER - s).toString(16).padStart(64, '0')), new Uint8Array([sig[64] ^ 1]));
    expect(isCanonical(twin)).toBe(false);
    expect(isCanonical(u8aConcat(sig.subarray(0, 64), new Uint8Array([sig[64] + 27])))).toBe(false);
    expect(isCanonical(sig.subarray(0, 64))).toBe(false);
  });

  it('survive a reload through their seed', () => {
    const again = SessionKey.fromSeed(key.seed);
    expect(again.publicKey).toBe(key.publicKey);
    expect(again.signPayload(new Uint8Array([9]))).toBe(key.signPayload(new Uint8Array([9])));
  });
});

import { describe, expect, it } from 'vitest';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { isCanonical, SECP256K1_ORDER, SessionKey, verifyVoucher, voucherPayload, VOUCHER_DOMAIN, type Voucher } from './voucher.ts';

const CONTRACT = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';
const VIEWER = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const voucher = (cumulativeTicks: bigint, streamId = 1n, sessionId = 7n): Voucher => ({ streamId, viewer: VIEWER, sessionId, cumulativeTicks });

describe('voucher payload', () => {
  it('is domain ‖ contract ‖ stream u64 ‖ viewer ‖ session u64 ‖ count u64, as the contract builds it', () => {
    const p = voucherPayload(CONTRACT, voucher(10n));
    expect(p.length).toBe(104);
    expect(new TextDecoder().decode(p.subarray(0, 16))).toBe(VOUCHER_DOMAIN);
    expect([...p.subarray(48, 56)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect([...p.subarray(88, 96)]).toEqual([7, 0, 0, 0, 0, 0, 0, 0]);
    expect([...p.subarray(96, 104)]).toEqual([10, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses counts that do not fit a u64', () => {
    expect(() => voucherPayload(CONTRACT, voucher(1n << 64n))).toThrow('does not fit in a u64');
    expect(() => voucherPayload(CONTRACT, voucher(-1n))).toThrow('does not fit in a u64');
  });
});

describe('session key signatures', () => {
  const key = SessionKey.fromSeed(`0x${'11'.repeat(32)}`);

  it('produces a compressed public key and signatures the owner key verifies', () => {
    expect(key.publicKey).toMatch(/^0x0[23][0-9a-f]{64}$/);
    const signed = key.sign(CONTRACT, voucher(5n));
    expect(signed.signature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(verifyVoucher(CONTRACT, key.publicKey, signed)).toBe(true);
  });

  it('rejects a raised count, another stream, another session, another contract and another key', () => {
    const signed = key.sign(CONTRACT, voucher(5n));
    expect(verifyVoucher(CONTRACT, key.publicKey, { ...signed, voucher: voucher(500n) })).toBe(false);
    expect(verifyVoucher(CONTRACT, key.publicKey, { ...signed, voucher: voucher(5n, 2n) })).toBe(false);
    expect(verifyVoucher(CONTRACT, key.publicKey, { ...signed, voucher: voucher(5n, 1n, 8n) })).toBe(false);
    expect(verifyVoucher(VIEWER, key.publicKey, signed)).toBe(false);
    expect(verifyVoucher(CONTRACT, SessionKey.generate().publicKey, signed)).toBe(false);
  });

  it('rejects the high-s twin and the 27/28 form of a valid signature, as the contract does', () => {
    const key = SessionKey.generate();
    const signed = key.sign(CONTRACT, voucher(10n));
    const sig = hexToU8a(signed.signature);
    expect(isCanonical(sig)).toBe(true);
    const s = BigInt(u8aToHex(sig.subarray(32, 64)));
    const twin = u8aConcat(sig.subarray(0, 32), hexToU8a('0x' + (SECP256K1_ORDER - s).toString(16).padStart(64, '0')), new Uint8Array([sig[64] ^ 1]));
    expect(verifyVoucher(CONTRACT, key.publicKey, { ...signed, signature: u8aToHex(twin) as `0x${string}` })).toBe(false);
    const eth = u8aConcat(sig.subarray(0, 64), new Uint8Array([sig[64] + 27]));
    expect(verifyVoucher(CONTRACT, key.publicKey, { ...signed, signature: u8aToHex(eth) as `0x${string}` })).toBe(false);
    expect(verifyVoucher(CONTRACT, key.publicKey, signed)).toBe(true);
  });

  it('rejects malformed signatures without throwing', () => {
    expect(verifyVoucher(CONTRACT, key.publicKey, { voucher: voucher(1n), signature: '0x00' })).toBe(false);
    expect(verifyVoucher(CONTRACT, key.publicKey, { voucher: voucher(1n), signature: `0x${'ff'.repeat(65)}` })).toBe(false);
  });

  it('survives a reload through its seed', () => {
    const again = SessionKey.fromSeed(key.seed);
    expect(again.publicKey).toBe(key.publicKey);
  });
});

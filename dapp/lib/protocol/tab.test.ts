import { describe, expect, it } from 'vitest';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto/address';
import { SECP256K1_ORDER, SessionKey } from './voucher.ts';
import { MAX_WATCHES, TAB_DOMAIN, signTabVoucher, tabVoucherPayload, toEntries, verifyTabVoucher, type Claim } from './tab.ts';

const CONTRACT = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';
const scope = { genesisHash: `0x${'09'.repeat(32)}` as const, contract: CONTRACT, tabId: 7n };
const claim = (watch: number, ticks: bigint, streamId = 3n, ratePerSecond = 10n): Claim => ({ watch, streamId, ratePerSecond, ticks });
const key = SessionKey.fromSeed(`0x${'11'.repeat(32)}`);

describe('tab voucher payload', () => {
  it('is domain ‖ genesis ‖ contract ‖ tab u64 ‖ compact length ‖ (watch u32, stream u64, rate u128, ticks u64)…, as tab.rs builds it', () => {
    const p = tabVoucherPayload(scope, [claim(0, 30n)]);
    expect(p.length).toBe(16 + 32 + 32 + 8 + 1 + 36); // tab_tests.rs pins the same 125 bytes
    expect(new TextDecoder().decode(p.subarray(0, 16))).toBe(TAB_DOMAIN);
    expect(u8aToHex(p.subarray(16, 48))).toBe(scope.genesisHash);
    expect(p.subarray(48, 80)).toEqual(decodeAddress(CONTRACT));
    expect([...p.subarray(80, 88)]).toEqual([7, 0, 0, 0, 0, 0, 0, 0]);
    expect(p[88]).toBe(4); // SCALE compact 1
    expect([...p.subarray(89, 93)]).toEqual([0, 0, 0, 0]);
    expect([...p.subarray(93, 101)]).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
    expect([...p.subarray(101, 117)]).toEqual([10, ...new Array(15).fill(0)]);
    expect([...p.subarray(117, 125)]).toEqual([30, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('tab voucher signatures', () => {
  it('verify for the tab key, and for nothing else: another key, tab, chain, count or rate', () => {
    const signed = signTabVoucher(key, scope, [claim(0, 30n), claim(2, 5n, 4n)]);
    expect(verifyTabVoucher(scope, key.publicKey, signed)).toBe(true);
    expect(verifyTabVoucher(scope, SessionKey.generate().publicKey, signed)).toBe(false);
    expect(verifyTabVoucher({ ...scope, tabId: 8n }, key.publicKey, { ...signed, tabId: 8n })).toBe(false);
    expect(verifyTabVoucher({ ...scope, genesisHash: `0x${'0a'.repeat(32)}` }, key.publicKey, signed)).toBe(false);
    expect(verifyTabVoucher(scope, key.publicKey, { ...signed, claims: [claim(0, 31n), claim(2, 5n, 4n)] })).toBe(false);
    expect(verifyTabVoucher(scope, key.publicKey, { ...signed, claims: [claim(0, 30n, 3n, 9n), claim(2, 5n, 4n)] })).toBe(false);
  });

  it('refuses the high-s twin and the 27/28 form of a real signature, as the contract does', () => {
    const signed = signTabVoucher(key, scope, [claim(0, 30n)]);
    const sig = hexToU8a(signed.signature);
    const s = BigInt(u8aToHex(sig.subarray(32, 64)));
    const twin = u8aConcat(sig.subarray(0, 32), hexToU8a('0x' + (SECP256K1_ORDER - s).toString(16).padStart(64, '0')), new Uint8Array([sig[64] ^ 1]));
    expect(verifyTabVoucher(scope, key.publicKey, { ...signed, signature: u8aToHex(twin) })).toBe(false);
    const eth = u8aConcat(sig.subarray(0, 64), new Uint8Array([sig[64] + 27]));
    expect(verifyTabVoucher(scope, key.publicKey, { ...signed, signature: u8aToHex(eth) })).toBe(false);
    expect(verifyTabVoucher(scope, key.publicKey, signed)).toBe(true);
  });

  it('refuses malformed signatures without throwing', () => {
    const signed = signTabVoucher(key, scope, [claim(0, 30n)]);
    expect(verifyTabVoucher(scope, key.publicKey, { ...signed, signature: '0x00' })).toBe(false);
    expect(verifyTabVoucher(scope, key.publicKey, { ...signed, signature: `0x${'ff'.repeat(65)}` })).toBe(false);
  });

  it('signs only well-formed claim lists: 1 to MAX_WATCHES watches in strictly increasing order', () => {
    expect(() => signTabVoucher(key, scope, [])).toThrow('holds 1 to 8 watches');
    expect(() => signTabVoucher(key, scope, [claim(1, 1n), claim(1, 2n)])).toThrow('strictly increasing');
    expect(() => signTabVoucher(key, scope, Array.from({ length: MAX_WATCHES + 1 }, (_, i) => claim(i, 1n)))).toThrow('holds 1 to 8');
  });
});

describe('toEntries', () => {
  it('sends a watch’s terms only while the tab does not hold it, and retire only where asked', () => {
    const signed = signTabVoucher(key, scope, [claim(0, 30n), claim(1, 5n, 4n)]);
    expect(toEntries(signed, new Set([0]), new Set([0])).entries).toEqual([
      { watch: 0, ticks: 30n, terms: null, retire: true },
      { watch: 1, ticks: 5n, terms: { streamId: 4n, ratePerSecond: 10n }, retire: false },
    ]);
  });
});

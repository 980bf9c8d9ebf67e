import { describe, expect, it } from 'vitest';
import { SessionKey } from '../protocol/voucher.ts';
import { signTabVoucher } from '../protocol/tab.ts';
import { fromTabWire, parseTabVoucherAuthorization, tabVoucherAuthorization, toTabWire } from './tab-wire.ts';
import { WireError } from './wire.ts';

const SCOPE = { genesisHash: `0x${'11'.repeat(32)}` as const, contract: '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM', tabId: 4n };
const signed = signTabVoucher(SessionKey.generate(), SCOPE, [
  { watch: 0, streamId: 7n, ratePerSecond: 10n ** 8n, ticks: 42n },
  { watch: 2, streamId: 9n, ratePerSecond: 0n, ticks: 3n },
]);

describe('tab voucher wire format', () => {
  it('round-trips through JSON and through the WHEP Authorization header', () => {
    expect(fromTabWire(JSON.parse(JSON.stringify(toTabWire(signed))))).toEqual(signed);
    expect(parseTabVoucherAuthorization(tabVoucherAuthorization(signed))).toEqual(signed);
  });

  const claim = (patch: Record<string, unknown>) => ({ ...toTabWire(signed), claims: [{ ...toTabWire(signed).claims[0], ...patch }] });
  it.each([
    ['a count given as a number', claim({ ticks: 42 }), /claims\[0\]\.ticks/],
    ['a negative count', claim({ ticks: '-1' }), /claims\[0\]\.ticks/],
    ['a count past u64', claim({ ticks: '18446744073709551616' }), /64 bits/],
    ['a watch that is not a whole number', claim({ watch: 1.5 }), /claims\[0\]\.watch/],
    ['no claims', { ...toTabWire(signed), claims: [] }, /claims must be a list/],
    ['watches out of order', { ...toTabWire(signed), claims: [...toTabWire(signed).claims].reverse() }, /order/],
    ['a short signature', { ...toTabWire(signed), signature: '0x1234' }, /65 bytes/],
  ])('refuses %s, naming what is wrong', (_, wire, message) => {
    expect(() => fromTabWire(wire)).toThrow(WireError);
    expect(() => fromTabWire(wire)).toThrow(message);
  });

  it('refuses a header that is not "TabVoucher <base64url JSON>"', () => {
    expect(() => parseTabVoucherAuthorization(null)).toThrow(WireError);
    expect(() => parseTabVoucherAuthorization('Voucher abc')).toThrow(/TabVoucher/);
    expect(() => parseTabVoucherAuthorization('TabVoucher bm90IGpzb24')).toThrow(/not JSON/);
  });
});

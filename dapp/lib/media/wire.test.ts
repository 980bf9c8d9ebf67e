import { describe, expect, it } from 'vitest';
import { SessionKey } from '../protocol/voucher.ts';
import { WireError, fromWire, parseVoucherAuthorization, toWire, voucherAuthorization } from './wire.ts';

const VIEWER = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';
const CONTRACT = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';
const signed = SessionKey.generate().sign(CONTRACT, { streamId: 7n, viewer: VIEWER, sessionId: 3n, cumulativeTicks: 42n });

describe('voucher wire format', () => {
  it('round-trips through JSON and through the WHEP Authorization header', () => {
    expect(fromWire(JSON.parse(JSON.stringify(toWire(signed))))).toEqual(signed);
    expect(parseVoucherAuthorization(voucherAuthorization(signed))).toEqual(signed);
  });

  it.each([
    ['a number instead of a decimal string', { cumulativeTicks: 42 }, /cumulativeTicks/],
    ['a negative count', { cumulativeTicks: '-1' }, /cumulativeTicks/],
    ['a count past u64', { cumulativeTicks: '18446744073709551616' }, /64 bits/],
    ['a short signature', { signature: '0x1234' }, /65 bytes/],
    ['a viewer that is not SS58', { viewer: 'alice' }, /SS58/],
  ])('refuses %s, naming the field', (_, patch, message) => {
    expect(() => fromWire({ ...toWire(signed), ...patch })).toThrow(message);
  });

  it('refuses a header that is not "Voucher <base64url JSON>"', () => {
    expect(() => parseVoucherAuthorization(null)).toThrow(WireError);
    expect(() => parseVoucherAuthorization('Bearer abc')).toThrow(/Voucher/);
    expect(() => parseVoucherAuthorization('Voucher bm90IGpzb24')).toThrow(/not JSON/);
  });
});

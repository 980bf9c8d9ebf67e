/**
 * The voucher as it travels over HTTP (POST /api/vouchers, and the WHEP `Authorization: Voucher …`
 * header): flat JSON with every integer as a decimal string. Shared by the browser modules and the
 * media server, which parses it strictly (`parseWireVoucher`).
 */
import type { SignedVoucher } from '../protocol/voucher.ts';

export interface WireVoucher {
  streamId: string;
  viewer: string;
  sessionId: string;
  cumulativeTicks: string;
  signature: string;
}

export class WireError extends Error {
  override name = 'WireError';
}

export function toWire(s: SignedVoucher): WireVoucher {
  const v = s.voucher;
  return {
    streamId: v.streamId.toString(),
    viewer: v.viewer,
    sessionId: v.sessionId.toString(),
    cumulativeTicks: v.cumulativeTicks.toString(),
    signature: s.signature,
  };
}

const U64_MAX = (1n << 64n) - 1n;

function u64(field: string, x: unknown): bigint {
  if (typeof x !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(x)) {
    throw new WireError(`${field} must be a decimal string (an unsigned 64-bit integer)`);
  }
  const n = BigInt(x);
  if (n > U64_MAX) throw new WireError(`${field} does not fit in 64 bits`);
  return n;
}

/** Parses and checks the shape of a wire voucher; throws WireError naming the bad field. */
export function fromWire(x: unknown): SignedVoucher {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new WireError('the voucher must be a JSON object');
  const o = x as Record<string, unknown>;
  const streamId = u64('streamId', o.streamId);
  const sessionId = u64('sessionId', o.sessionId);
  const cumulativeTicks = u64('cumulativeTicks', o.cumulativeTicks);
  if (typeof o.viewer !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(o.viewer)) {
    throw new WireError('viewer must be an SS58 address');
  }
  if (typeof o.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(o.signature)) {
    throw new WireError('signature must be 65 bytes as 0x-prefixed hex');
  }
  return {
    voucher: { streamId, viewer: o.viewer, sessionId, cumulativeTicks },
    signature: o.signature.toLowerCase() as `0x${string}`,
  };
}

function b64urlEncode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64urlDecode(s: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new WireError('the voucher is not base64url');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The WHEP `Authorization` header value for `s`. */
export function voucherAuthorization(s: SignedVoucher): string {
  return `Voucher ${b64urlEncode(JSON.stringify(toWire(s)))}`;
}

/** Parses an `Authorization: Voucher <base64url(JSON)>` header; throws WireError. */
export function parseVoucherAuthorization(header: string | null): SignedVoucher {
  const m = /^Voucher ([A-Za-z0-9_-]{1,2048})$/.exec(header ?? '');
  if (!m) throw new WireError('Authorization must be "Voucher <base64url JSON of the latest signed voucher>"');
  let json: unknown;
  try {
    json = JSON.parse(b64urlDecode(m[1]));
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError('the voucher in Authorization is not JSON');
  }
  return fromWire(json);
}

/** The request headers of a WHEP offer: who watches, in which session, with the latest voucher. */
export function whepHeaders(o: { viewer: string; sessionId: bigint; voucher: SignedVoucher }): Record<string, string> {
  return {
    'X-Vilo-Viewer': o.viewer,
    'X-Vilo-Session': o.sessionId.toString(),
    Authorization: voucherAuthorization(o.voucher),
  };
}

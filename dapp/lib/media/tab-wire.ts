/**
 * Tab vouchers (protocol v2) as they travel over HTTP: POST /api/tab-vouchers, and the WHEP
 * `Authorization: TabVoucher <base64url(JSON)>` header with `X-Vilo-Tab` and `X-Vilo-Watch`. Flat JSON,
 * every big integer as a decimal string; the media server parses it strictly (`fromTabWire`).
 */
import { checkClaims, MAX_WATCHES, type SignedTabVoucher } from '../protocol/tab.ts';
import { b64urlDecode, b64urlEncode, WireError } from './wire.ts';

export interface WireTabVoucher {
  tabId: string;
  claims: { watch: number; streamId: string; ratePerSecond: string; ticks: string }[];
  signature: string;
}

export function toTabWire(s: SignedTabVoucher): WireTabVoucher {
  return {
    tabId: s.tabId.toString(),
    claims: s.claims.map((c) => ({ watch: c.watch, streamId: c.streamId.toString(), ratePerSecond: c.ratePerSecond.toString(), ticks: c.ticks.toString() })),
    signature: s.signature,
  };
}

function uint(field: string, x: unknown, bits: number): bigint {
  if (typeof x !== 'string' || !/^(0|[1-9][0-9]{0,38})$/.test(x)) throw new WireError(`${field} must be a decimal string (an unsigned integer)`);
  const n = BigInt(x);
  if (n >= 1n << BigInt(bits)) throw new WireError(`${field} does not fit in ${bits} bits`);
  return n;
}

/** Parses and checks the shape of a wire tab voucher; throws WireError naming the bad field. */
export function fromTabWire(x: unknown): SignedTabVoucher {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new WireError('the tab voucher must be a JSON object');
  const o = x as Record<string, unknown>;
  const tabId = uint('tabId', o.tabId, 64);
  if (!Array.isArray(o.claims) || o.claims.length === 0 || o.claims.length > MAX_WATCHES) {
    throw new WireError(`claims must be a list of 1 to ${MAX_WATCHES} watches`);
  }
  const claims = o.claims.map((c: unknown, i: number) => {
    if (c === null || typeof c !== 'object') throw new WireError(`claims[${i}] must be an object`);
    const r = c as Record<string, unknown>;
    if (typeof r.watch !== 'number' || !Number.isInteger(r.watch) || r.watch < 0 || r.watch > 0xffff_ffff) {
      throw new WireError(`claims[${i}].watch must be a whole number below 2^32`);
    }
    return {
      watch: r.watch,
      streamId: uint(`claims[${i}].streamId`, r.streamId, 64),
      ratePerSecond: uint(`claims[${i}].ratePerSecond`, r.ratePerSecond, 128),
      ticks: uint(`claims[${i}].ticks`, r.ticks, 64),
    };
  });
  try {
    checkClaims(claims);
  } catch (e) {
    throw new WireError((e as Error).message);
  }
  if (typeof o.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(o.signature)) {
    throw new WireError('signature must be 65 bytes as 0x-prefixed hex');
  }
  return { tabId, claims, signature: o.signature.toLowerCase() as `0x${string}` };
}

/** The WHEP `Authorization` header value for `s`. */
export function tabVoucherAuthorization(s: SignedTabVoucher): string {
  return `TabVoucher ${b64urlEncode(JSON.stringify(toTabWire(s)))}`;
}

/** Parses `Authorization: TabVoucher <base64url(JSON)>`; throws WireError. */
export function parseTabVoucherAuthorization(header: string | null): SignedTabVoucher {
  const m = /^TabVoucher ([A-Za-z0-9_-]{1,4096})$/.exec(header ?? '');
  if (!m) throw new WireError('Authorization must be "TabVoucher <base64url JSON of the latest signed tab voucher>"');
  let json: unknown;
  try {
    json = JSON.parse(b64urlDecode(m[1]));
  } catch (e) {
    if (e instanceof WireError) throw e;
    throw new WireError('the tab voucher in Authorization is not JSON');
  }
  return fromTabWire(json);
}

/** The request headers of a WHEP offer paid from a tab: which tab, which watch, the latest voucher. */
export function tabWhepHeaders(o: { tabId: bigint; watch: number; voucher: SignedTabVoucher }): Record<string, string> {
  return { 'X-Vilo-Tab': o.tabId.toString(), 'X-Vilo-Watch': String(o.watch), Authorization: tabVoucherAuthorization(o.voucher) };
}

/** What the relay answers for each recorded watch of a tab (POST /api/tab-vouchers → 202). */
export interface WatchReport {
  watch: number;
  streamId: bigint;
  ratePerSecond: bigint;
  /** Highest count signed. */
  ticks: bigint;
  settledTicks: bigint;
  /** Retired on chain: settled in full, no longer to be carried by vouchers. */
  retired: boolean;
}

type WireWatch = { watch: number; streamId: string; ratePerSecond: string; ticks: string; settledTicks: string; retired: boolean };

export function toWireWatches(ws: WatchReport[]): WireWatch[] {
  return ws.map((w) => ({ watch: w.watch, streamId: w.streamId.toString(), ratePerSecond: w.ratePerSecond.toString(), ticks: w.ticks.toString(), settledTicks: w.settledTicks.toString(), retired: w.retired }));
}

export function fromWireWatches(ws: WireWatch[] = []): WatchReport[] {
  return ws.map((w) => ({ watch: w.watch, streamId: BigInt(w.streamId), ratePerSecond: BigInt(w.ratePerSecond), ticks: BigInt(w.ticks), settledTicks: BigInt(w.settledTicks), retired: w.retired }));
}

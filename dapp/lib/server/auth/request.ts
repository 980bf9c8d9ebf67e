import { json } from '@sveltejs/kit';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';

/** `body.address` as a canonical (generic, prefix 42) SS58 address, or null if it is not one. */
export function readAddress(body: unknown): string | null {
  const a = (body as { address?: unknown } | null)?.address;
  if (typeof a !== 'string' || a.length > 64) return null;
  try {
    return encodeAddress(decodeAddress(a), 42);
  } catch {
    return null;
  }
}

export function refuse(status: number, error: string, message: string): Response {
  return json({ error, message }, { status });
}

/**
 * What a `settle_tabs` did to each of its vouchers, read from the events of the block that includes
 * it — never from the dry run before signing, which was made against an older state (a viewer's
 * close or another relay's batch can land first in the same block) — and how a relay cuts a round
 * into extrinsics the chain can include.
 */
import type { TickStreamError, TickStreamEvent } from '../../../typechain/tick_stream.ts';

/**
 * `items` cut into consecutive batches that each pass `fits` (one extrinsic's weight, checked by a
 * dry run): the whole if it fits, else halves, recursively. A single item that does not fit is
 * returned alone (its submission then fails with the chain's own reason, and nothing else waits on it).
 */
export async function splitToFit<T>(items: readonly T[], fits: (batch: readonly T[]) => Promise<boolean>): Promise<T[][]> {
  if (items.length <= 1 || (await fits(items))) return items.length ? [[...items]] : [];
  const half = Math.ceil(items.length / 2);
  return [...(await splitToFit(items.slice(0, half), fits)), ...(await splitToFit(items.slice(half), fits))];
}

/** What one entry of a settled tab voucher did, as its TabSettled event states it. */
export type WatchOutcome = Extract<TickStreamEvent, { name: 'TabSettled' }>['args']['watches'][number];

/** A tab voucher settled (one outcome per entry, in entry order) or refused; `null`: the block says nothing about it. */
export type TabOutcome = { ok: WatchOutcome[] } | { err: TickStreamError } | null;

/**
 * Each tab voucher's outcome, in order, from this contract's events of a `settle_tabs` transaction:
 * the contract emits, voucher by voucher, one `TabSettled` (its entries' outcomes) or one
 * `TabVoucherRefused`.
 */
export function tabBatchOutcome(vouchers: readonly { tabId: bigint; entries: number }[], events: readonly TickStreamEvent[]): TabOutcome[] {
  const own = events.filter((e) => e.name === 'TabSettled' || e.name === 'TabVoucherRefused');
  let at = 0;
  return vouchers.map((v) => {
    const e = own[at];
    if (e?.name === 'TabVoucherRefused' && e.args.tabId === v.tabId) {
      at++;
      return { err: e.args.error };
    }
    if (e?.name === 'TabSettled' && e.args.tabId === v.tabId && e.args.watches.length === v.entries) {
      at++;
      return { ok: e.args.watches };
    }
    return null;
  });
}

/**
 * What a `record_ticks_batch` did to each of its vouchers, read from the events of the block that
 * includes it — never from the dry run before signing, which was made against an older state (a
 * viewer's leave or another relay's batch can land first in the same block).
 *
 * The contract emits, in voucher order: `TicksRecorded` for each voucher it settled (no new seconds
 * if it was already), `VoucherRefused` for each it refused, and `ViewerLeft` right after the
 * `TicksRecorded` that ran a session out of funds. A later voucher of a session ended earlier in the
 * batch gets no event of its own.
 */
import type { TickReceipt, TickStreamError, TickStreamEvent } from '../../../typechain/tick_stream.ts';

export interface BatchVoucher {
  streamId: bigint;
  viewer: string;
  sessionId: bigint;
  cumulativeTicks: bigint;
}

/** A voucher settled (`ok`) or refused (`err`) as the block says; `null`: the block says nothing about it. */
export type VoucherOutcome = { ok: TickReceipt } | { err: TickStreamError } | null;

const same = (a: { streamId: bigint; viewer: string; sessionId: bigint }, v: BatchVoucher) =>
  a.streamId === v.streamId && a.viewer === v.viewer && a.sessionId === v.sessionId;

/** Each voucher's outcome, in order, from this contract's events of the batch's transaction. */
export function batchOutcome(vouchers: readonly BatchVoucher[], events: readonly TickStreamEvent[]): VoucherOutcome[] {
  let at = 0;
  const ended = new Set<string>();
  const key = (v: BatchVoucher) => `${v.streamId}/${v.viewer}/${v.sessionId}`;
  return vouchers.map((v) => {
    if (ended.has(key(v))) return { ok: { newTicks: 0n, amount: 0n, sessionEnded: true } };
    // Skip to this voucher's own event: the next TicksRecorded or VoucherRefused, if it is this one's.
    let next = at;
    while (next < events.length && events[next].name !== 'TicksRecorded' && events[next].name !== 'VoucherRefused') {
      const e = events[next];
      if (e.name === 'ViewerLeft') ended.add(`${e.args.streamId}/${e.args.viewer}/${e.args.sessionId}`);
      next++;
    }
    const e = events[next];
    if (e?.name === 'VoucherRefused' && same(e.args, v) && e.args.cumulativeTicks === v.cumulativeTicks) {
      at = next + 1;
      return { err: e.args.error };
    }
    // (Its count is the session's settled count: below the voucher's when the escrow ran out.)
    if (e?.name === 'TicksRecorded' && same(e.args, v)) {
      at = next + 1;
      const left = events[at];
      const sessionEnded = left?.name === 'ViewerLeft' && same(left.args, v);
      if (sessionEnded) {
        ended.add(key(v));
        at++;
      }
      return { ok: { newTicks: e.args.newTicks, amount: e.args.amount, sessionEnded } };
    }
    if (ended.has(key(v))) return { ok: { newTicks: 0n, amount: 0n, sessionEnded: true } };
    return null;
  });
}

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

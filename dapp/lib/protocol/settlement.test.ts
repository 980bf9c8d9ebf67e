import { describe, expect, it } from 'vitest';
import { batchOutcome, splitToFit, type BatchVoucher } from './settlement.ts';
import type { TickStreamEvent } from '../../../typechain/tick_stream.ts';

const A = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const B = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
const v = (viewer: string, sessionId: bigint, cumulativeTicks: bigint): BatchVoucher => ({ streamId: 1n, viewer, sessionId, cumulativeTicks });
const recorded = (viewer: string, sessionId: bigint, cumulativeTicks: bigint, newTicks: bigint): TickStreamEvent => ({
  contract: 'tick_stream',
  name: 'TicksRecorded',
  args: { streamId: 1n, viewer, sessionId, cumulativeTicks, newTicks, amount: newTicks * 10n },
});
const refused = (viewer: string, sessionId: bigint, cumulativeTicks: bigint): TickStreamEvent => ({
  contract: 'tick_stream',
  name: 'VoucherRefused',
  args: { streamId: 1n, viewer, sessionId, cumulativeTicks, error: { type: 'BadSignature' } },
});
const left = (viewer: string, sessionId: bigint): TickStreamEvent => ({
  contract: 'tick_stream',
  name: 'ViewerLeft',
  args: { streamId: 1n, viewer, sessionId, ticks: 4n, reason: { type: 'OutOfFunds' } },
});

describe('batchOutcome: each voucher as the block says', () => {
  it('pairs settled and refused vouchers with their own events, in order', () => {
    const out = batchOutcome([v(A, 1n, 5n), v(B, 2n, 9n), v(A, 1n, 3n)], [recorded(A, 1n, 5n, 5n), refused(B, 2n, 9n), recorded(A, 1n, 5n, 0n)]);
    expect(out).toEqual([
      { ok: { newTicks: 5n, amount: 50n, sessionEnded: false } },
      { err: { type: 'BadSignature' } },
      { ok: { newTicks: 0n, amount: 0n, sessionEnded: false } },
    ]);
  });

  it('marks the voucher that ran a session dry, and a later voucher of that session, as ended', () => {
    const out = batchOutcome([v(A, 1n, 10n), v(A, 1n, 12n), v(B, 2n, 1n)], [recorded(A, 1n, 4n, 4n), left(A, 1n), recorded(B, 2n, 1n, 1n)]);
    // A's escrow covered 4 of the 10 seconds asked.
    expect(out[0]).toEqual({ ok: { newTicks: 4n, amount: 40n, sessionEnded: true } });
    expect(out[1]).toEqual({ ok: { newTicks: 0n, amount: 0n, sessionEnded: true } });
    expect(out[2]).toEqual({ ok: { newTicks: 1n, amount: 10n, sessionEnded: false } });
  });

  it('says nothing of a voucher the block is silent about, and never borrows another voucher’s event', () => {
    expect(batchOutcome([v(A, 1n, 5n), v(B, 2n, 5n)], [recorded(B, 2n, 5n, 5n)])).toEqual([null, { ok: { newTicks: 5n, amount: 50n, sessionEnded: false } }]);
    expect(batchOutcome([v(A, 1n, 5n)], [refused(A, 1n, 6n)])).toEqual([null]);
    expect(batchOutcome([v(A, 1n, 5n)], [])).toEqual([null]);
  });
});

describe('splitToFit: batches one extrinsic can hold', () => {
  it('keeps a batch that fits whole, and halves one that does not until each part fits, in order', async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const asked: number[] = [];
    const fits = async (b: readonly number[]) => (asked.push(b.length), b.length <= 36);
    const parts = await splitToFit(items, fits);
    expect(parts.map((p) => p.length)).toEqual([25, 25, 25, 25]);
    expect(parts.flat()).toEqual(items);
    expect(asked[0]).toBe(100);
    expect(await splitToFit(items.slice(0, 30), fits)).toEqual([items.slice(0, 30)]);
    expect(await splitToFit([], fits)).toEqual([]);
  });

  it('returns an item that fits in no batch alone instead of looping', async () => {
    expect(await splitToFit([1, 2, 3], async () => false)).toEqual([[1], [2], [3]]);
  });
});

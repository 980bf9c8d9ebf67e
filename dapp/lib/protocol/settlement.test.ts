import { describe, expect, it } from 'vitest';
import { splitToFit, tabBatchOutcome } from './settlement.ts';
import type { TickStreamEvent } from '../../../typechain/tick_stream.ts';

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

describe('tabBatchOutcome: each tab voucher as the block says', () => {
  const settled = (tabId: bigint, ...watches: [number, bigint][]): TickStreamEvent => ({
    contract: 'tick_stream',
    name: 'TabSettled',
    args: { tabId, watches: watches.map(([watch, newTicks]) => ({ watch, streamId: 1n, settled: newTicks, newTicks, unpaidTicks: 0n, amount: newTicks * 10n, retired: false })) },
  });
  const refusedTab = (tabId: bigint): TickStreamEvent => ({ contract: 'tick_stream', name: 'TabVoucherRefused', args: { tabId, error: { type: 'BadSignature' } } });

  it('gives each voucher its TabSettled entries, or its refusal, in order', () => {
    const out = tabBatchOutcome(
      [{ tabId: 1n, entries: 2 }, { tabId: 2n, entries: 1 }, { tabId: 1n, entries: 1 }],
      [settled(1n, [0, 5n], [1, 3n]), refusedTab(2n), settled(1n, [1, 0n])],
    );
    expect(out.map((o) => (o && 'ok' in o ? o.ok.map((w) => [w.watch, w.newTicks]) : o))).toEqual([
      [[0, 5n], [1, 3n]],
      { err: { type: 'BadSignature' } },
      [[1, 0n]],
    ]);
  });

  it('says nothing (null) of a voucher the block has no event for, and never gives it another tab’s', () => {
    const out = tabBatchOutcome([{ tabId: 1n, entries: 1 }, { tabId: 2n, entries: 1 }, { tabId: 3n, entries: 2 }], [settled(2n, [0, 4n]), settled(3n, [0, 1n])]);
    expect(out[0]).toBeNull();
    expect(out[1]).toEqual({ ok: [expect.objectContaining({ watch: 0, newTicks: 4n })] });
    expect(out[2]).toBeNull(); // one entry where the voucher had two: nothing is believed
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Relay, SETTLE_TIMEOUT_MS } from './relay.ts';
import { Store } from './store.ts';
import { Metrics } from './metrics.ts';
import type { Gate } from './gate.ts';
import type { ChainReader, ChainSettler, SettleResult, Settled } from './chain.ts';

const VIEWER = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';

afterEach(() => {
  vi.useRealTimers();
});

describe('relay settlement', () => {
  it('gives up on a settlement never reported in a block, marks nothing settled, and resubmits next round', async () => {
    vi.useFakeTimers();
    const store = new Store(':memory:');
    store.saveLatest({ streamId: 1n, viewer: VIEWER, sessionId: 2n, cumulativeTicks: 7n, signature: '0xab', receivedAtMs: Date.now() });
    const calls: bigint[][] = [];
    let hang = true;
    const settler: ChainSettler = {
      settle: (vouchers) => {
        calls.push(vouchers.map((v) => v.voucher.cumulativeTicks));
        if (hang) return new Promise<Settled>(() => {}); // submitted, never reported
        return Promise.resolve({ results: vouchers.map(() => ({ ok: { sessionEnded: false } }) as unknown as SettleResult), extrinsics: 1 });
      },
    };
    const log: string[] = [];
    const relay = new Relay({ chain: {} as ChainReader, settler, store, gate: {} as Gate, metrics: new Metrics(), intervalMs: 10_000, log: (l) => log.push(l) });

    const first = relay.settleNow();
    await vi.advanceTimersByTimeAsync(SETTLE_TIMEOUT_MS);
    await first;
    expect(log.at(-1)).toMatch(/settlement of 1 vouchers failed: not reported in a block within 60 s/);
    expect(store.latest(1n, VIEWER, 2n)?.settledTicks).toBe(0n);

    hang = false;
    await relay.settleNow(); // the next round is not blocked by the lost one
    expect(calls).toEqual([[7n], [7n]]);
    expect(store.latest(1n, VIEWER, 2n)?.settledTicks).toBe(7n);
    store.close();
  });
});

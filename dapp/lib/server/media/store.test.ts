import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Store } from './store.ts';
import { TokenBuckets } from './http.ts';
import { scratchDir } from '../../../../tests/scratch.ts';

const V = { streamId: 1n, viewer: '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy', sessionId: 2n, signature: '0xab' as const };

describe('relay store', () => {
  it('keeps only the highest voucher of a session, and it survives reopening the file', () => {
    const file = join(scratchDir('store'), 'relay.sqlite');
    const a = new Store(file);
    a.saveLatest({ ...V, cumulativeTicks: 5n, receivedAtMs: 1 });
    a.saveLatest({ ...V, cumulativeTicks: 3n, receivedAtMs: 2 });
    a.close();
    const b = new Store(file);
    expect(b.latest(1n, V.viewer, 2n)?.cumulativeTicks).toBe(5n);
    expect(b.unsettled(100)).toHaveLength(1);
    b.markSettled(1n, V.viewer, 2n, 5n);
    b.markSettled(1n, V.viewer, 2n, 4n); // never lowers
    expect(b.latest(1n, V.viewer, 2n)?.settledTicks).toBe(5n);
    expect(b.unsettled(100)).toHaveLength(0);
    b.close();
  });

  it('makes a session due for settlement at minTicks unsettled ticks, or when its vouchers stopped', () => {
    const s = new Store(':memory:');
    const at = (sessionId: bigint, cumulativeTicks: bigint, receivedAtMs: number) => s.saveLatest({ ...V, sessionId, cumulativeTicks, receivedAtMs });
    at(1n, 59n, 10_000); // watching, 59 unsettled
    at(2n, 60n, 10_000); // watching, 60 unsettled
    at(3n, 7n, 4_000); // vouchers stopped at t = 4 s
    const due = (now: number) => s.unsettled(100, { minTicks: 60n, idleSinceMs: now - 5_000 }).map((v) => v.sessionId);
    expect(due(8_000)).toEqual([2n]);
    expect(due(9_000)).toEqual([3n, 2n]); // oldest first: session 3's last voucher is 5 s old
    s.markSettled(1n, V.viewer, 2n, 60n);
    at(2n, 100n, 10_000); // 40 more since the settlement: not yet due
    expect(due(9_500)).toEqual([3n]);
    expect(s.unsettled(100).map((v) => v.sessionId)).toEqual([3n, 1n, 2n]); // default: every advance
    s.close();
  });

  it('stores a stream key as its hash only', () => {
    const s = new Store(':memory:');
    s.setKeyHash(9n, 'deadbeef', 123);
    expect(s.keyHash(9n)).toEqual({ keySha256: 'deadbeef', requestTsMs: 123 });
    const row = s.db.prepare('SELECT * FROM stream_keys').get() as Record<string, unknown>;
    expect(Object.keys(row).sort()).toEqual(['created_at_ms', 'key_sha256', 'request_ts_ms', 'stream_id']);
    s.close();
  });
});

describe('token bucket', () => {
  it('allows the burst, then the rate, per address', () => {
    let t = 0;
    const b = new TokenBuckets(2, 3, () => t);
    expect([1, 2, 3, 4].map(() => b.take('a'))).toEqual([true, true, true, false]);
    expect(b.take('b')).toBe(true);
    t += 500;
    expect([b.take('a'), b.take('a')]).toEqual([true, false]);
  });
});

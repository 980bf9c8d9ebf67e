import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Store } from './store.ts';
import { TokenBuckets } from './http.ts';
import { scratchDir } from '../../../../tests/scratch.ts';

describe('relay store', () => {
  it('keeps stream keys across reopening the file, and names the stream of a key', () => {
    const file = join(scratchDir('store'), 'relay.sqlite');
    const a = new Store(file);
    a.setKeyHash(3n, 'aa11', 100);
    a.setKeyHash(3n, 'bb22', 200); // a new key replaces the old one
    a.close();
    const b = new Store(file);
    expect(b.keyHash(3n)).toEqual({ keySha256: 'bb22', requestTsMs: 200 });
    expect(b.streamForKeyHash('bb22')).toBe(3n);
    expect(b.streamForKeyHash('aa11')).toBeUndefined();
    b.close();
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

import { describe, expect, it } from 'vitest';
import { ConfigError, edgeSecret, staleWhileRevalidate, wholeSetting } from './boot.ts';

describe('server settings from the environment', () => {
  it('takes a whole number ≥ 1, or the default when unset or empty', () => {
    expect(wholeSetting({ VILO_TAB_QUIET_MS: '600' }, 'VILO_TAB_QUIET_MS', 1)).toBe(600);
    expect(wholeSetting({}, 'VILO_TAB_QUIET_MS', 1)).toBe(1);
    expect(wholeSetting({ VILO_TAB_QUIET_MS: '' }, 'VILO_TAB_QUIET_MS', 1)).toBe(1);
  });

  it.each(['0', '-5', '1.5', 'ten', '1e3', '99999999999999999999'])('refuses %j with a ConfigError naming the setting', (raw) => {
    const read = () => wholeSetting({ VILO_SETTLE_INTERVAL_MS: raw }, 'VILO_SETTLE_INTERVAL_MS', 10_000);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`VILO_SETTLE_INTERVAL_MS must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, got "${raw}"`);
  });

  it('takes 0 where the setting allows it (a rate read for every new watch), and still refuses below the minimum', () => {
    expect(wholeSetting({ VILO_RATE_MAX_AGE_MS: '0' }, 'VILO_RATE_MAX_AGE_MS', 60_000, Number.MAX_SAFE_INTEGER, 0)).toBe(0);
    expect(() => wholeSetting({ VILO_RATE_MAX_AGE_MS: '-1' }, 'VILO_RATE_MAX_AGE_MS', 60_000, Number.MAX_SAFE_INTEGER, 0)).toThrow(`VILO_RATE_MAX_AGE_MS must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got "-1"`);
  });

  it('refuses a value above the maximum it is given', () => {
    expect(wholeSetting({ VILO_TAB_QUIET_MS: '300' }, 'VILO_TAB_QUIET_MS', 1, 300)).toBe(300);
    expect(() => wholeSetting({ VILO_TAB_QUIET_MS: '301' }, 'VILO_TAB_QUIET_MS', 1, 300)).toThrow('VILO_TAB_QUIET_MS must be a whole number from 1 to 300, got "301"');
  });
});

describe('staleWhileRevalidate: the stream and rate a new watch needs', () => {
  it('serves a fresh read as is, a stale one while one re-read runs, and awaits a new read past the maximum age', async () => {
    let t = 0;
    let reads = 0;
    const read = staleWhileRevalidate(5_000, 60_000, () => t);
    const fn = async () => ++reads;
    expect(await read('q:1', fn)).toBe(1);
    t = 4_000;
    expect(await read('q:1', fn)).toBe(1);
    expect(reads).toBe(1);
    t = 10_000; // stale: the old value at once, one re-read behind it however many ask
    const [a, b] = await Promise.all([read('q:1', fn), read('q:1', fn)]);
    expect([a, b]).toEqual([1, 1]);
    expect(reads).toBe(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(await read('q:1', fn)).toBe(2);
    t = 10_000 + 61_000; // too old to serve: wait for a new read
    expect(await read('q:1', fn)).toBe(3);
    expect(await read('q:1', fn, { fresh: true })).toBe(4); // asked for a read now: one, kept
    expect(await read('q:1', fn)).toBe(4);
    expect(reads).toBe(4);
  });

  it('a read ahead of a watch (a longer freshMs) reads only once half the maximum age is gone', async () => {
    let t = 0;
    let reads = 0;
    const read = staleWhileRevalidate(5_000, 60_000, () => t);
    const fn = async () => ++reads;
    await read('q:1', fn);
    t = 20_000; // stale for a watch, young enough to serve one: asked ahead, nothing is read
    await read('q:1', fn, { freshMs: 30_000 });
    expect(reads).toBe(1);
    t = 31_000; // half the maximum age gone: one read behind the value served
    expect(await read('q:1', fn, { freshMs: 30_000 })).toBe(1);
    expect(reads).toBe(2);
    await new Promise((r) => setTimeout(r, 0));
    t = 31_000 + 59_000; // the watch comes within the maximum age of that read: served at once
    expect(await read('q:1', fn)).toBe(2);
  });

  it('with a maximum age of 0 (VILO_RATE_MAX_AGE_MS=0) reads every time', async () => {
    let reads = 0;
    const read = staleWhileRevalidate(0, 0, () => 0);
    expect([await read('q:1', async () => ++reads), await read('q:1', async () => ++reads)]).toEqual([1, 2]);
  });
});

describe('edgeSecret: VILO_HLS_EDGE_SECRET, written into the edge’s nginx configuration', () => {
  it('takes 16–128 URL-safe characters as they are, and makes a new random one when unset', () => {
    expect(edgeSecret('abcdefghijklmnop_-0123')).toBe('abcdefghijklmnop_-0123');
    const [a, b] = [edgeSecret(undefined), edgeSecret('')];
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(b).not.toBe(a);
  });

  it.each(['short', 'x'.repeat(129), 'abcdefghijklmnop"; return 200; #', 'abcdefghijklmnop qrst', 'abcdefghijklmnop\nlocation / {}'])(
    'refuses %j with a ConfigError (nothing of it could reach nginx’s configuration)',
    (raw) => {
      expect(() => edgeSecret(raw)).toThrow(ConfigError);
    },
  );
});

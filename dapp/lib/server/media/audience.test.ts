import { describe, expect, it } from 'vitest';
import { HlsAudience } from './audience.ts';

describe('HlsAudience', () => {
  it('counts each session once per stream while its requests keep coming, and forgets it after the window', () => {
    let t = 0;
    const a = new HlsAudience(10_000, () => t);
    a.saw(1n, 'alice', 1n);
    a.saw(1n, 'alice', 1n); // playlist, then a fragment: one viewer
    a.saw(1n, 'bob', 2n);
    a.saw(2n, 'carol', 3n);
    expect([a.count(1n), a.count(2n), a.count(3n), a.count()]).toEqual([2, 1, 0, 3]);

    t = 8_000;
    a.saw(1n, 'alice', 1n);
    t = 10_500; // bob's and carol's last requests are 10.5 s old, alice's 2.5 s
    expect([a.count(1n), a.count(2n), a.count()]).toEqual([1, 0, 1]);
  });

  it('counts a rejoin (new session) of the same account as its own session', () => {
    const a = new HlsAudience(10_000, () => 0);
    a.saw(1n, 'alice', 1n);
    a.saw(1n, 'alice', 4n);
    expect(a.count(1n)).toBe(2);
  });
});

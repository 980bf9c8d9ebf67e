import { describe, expect, it } from 'vitest';
import { ChallengeStore, CHALLENGE_TTL_MS } from './challenges.ts';
import { SessionCookies } from './session-cookie.ts';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';

describe('challenge store', () => {
  it('issues a fresh random nonce in a message naming the account and the origin', () => {
    const s = new ChallengeStore();
    const a = s.issue(ALICE, 'http://x');
    const b = s.issue(ALICE, 'http://x');
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.message).toContain(ALICE);
    expect(a.message).toContain(a.nonce);
    expect(a.message).toContain('http://x');
  });

  it('hands a challenge back once only', () => {
    const s = new ChallengeStore();
    const c = s.issue(ALICE, 'o');
    expect(s.take(c.nonce, ALICE)?.message).toBe(c.message);
    expect(s.take(c.nonce, ALICE)).toBeNull();
  });

  it('refuses an expired challenge', () => {
    let t = 1_000;
    const s = new ChallengeStore(() => t);
    const c = s.issue(ALICE, 'o');
    t += CHALLENGE_TTL_MS;
    expect(s.take(c.nonce, ALICE)).toBeNull();
  });

  it("refuses another account's challenge and burns it", () => {
    const s = new ChallengeStore();
    const c = s.issue(ALICE, 'o');
    expect(s.take(c.nonce, BOB)).toBeNull();
    expect(s.take(c.nonce, ALICE)).toBeNull();
  });

  it('keeps at most `max` open challenges and sweeps expired ones', () => {
    let t = 0;
    const s = new ChallengeStore(() => t, 1_000, 3);
    const first = s.issue(ALICE, 'o');
    for (let i = 0; i < 5; i++) s.issue(ALICE, 'o');
    expect(s.size).toBe(3);
    expect(s.take(first.nonce, ALICE)).toBeNull();
    t = 2_000;
    s.issue(ALICE, 'o');
    expect(s.size).toBe(1);
  });
});

describe('session cookies', () => {
  it('round-trips an address until expiry', () => {
    let t = 5_000;
    const c = new SessionCookies('a secret of sixteen+ bytes', () => t);
    const { value } = c.issue(ALICE, 1_000);
    expect(c.verify(value)?.address).toBe(ALICE);
    t = 6_000;
    expect(c.verify(value)).toBeNull();
  });

  it('refuses a cookie with a swapped address, a forged mac or another secret', () => {
    const c = new SessionCookies('a secret of sixteen+ bytes');
    const { value } = c.issue(ALICE);
    expect(c.verify(value.replace(ALICE, BOB))).toBeNull();
    expect(c.verify(value.slice(0, -2) + (value.endsWith('AA') ? 'BB' : 'AA'))).toBeNull();
    expect(new SessionCookies('another secret, sixteen+').verify(value)).toBeNull();
    expect(new SessionCookies(undefined).verify(value)).toBeNull();
    expect(c.verify('garbage')).toBeNull();
    expect(c.verify(undefined)).toBeNull();
  });

  it('refuses a short secret', () => {
    expect(() => new SessionCookies('short')).toThrow('at least 16 bytes');
  });
});

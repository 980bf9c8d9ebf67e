import { describe, expect, it } from 'vitest';
import type { ChainReader, ChainSession } from './chain.ts';
import { Gate } from './gate.ts';

const VIEWER = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';

function world(over: Partial<{ session: ChainSession | null; escrow: bigint; subscribed: boolean; fail: boolean; stalled: boolean }> = {}) {
  const state = { session: { id: 1n, sessionKey: '0x00', ratePerSecond: 10n, ticksSettled: 4n } as ChainSession | null, escrow: 60n, subscribed: false, fail: false, stalled: false, ...over };
  let t = 1_000_000;
  let reads = 0;
  /** A stalled chain never answers (the gate's own read timeout is what ends such a read). */
  const answer = <T>(v: () => T): Promise<T> => {
    reads++;
    if (state.stalled) return new Promise<T>(() => {});
    if (state.fail) return Promise.reject(new Error('connection lost'));
    return Promise.resolve(v());
  };
  const chain: ChainReader = {
    tickStream: '',
    stream: async () => ({ creator: VIEWER, live: true }),
    session: () => answer(() => state.session),
    escrow: () => answer(() => state.escrow),
    hasSubscription: () => answer(() => state.subscribed),
  };
  const gate = new Gate(chain, { freshMs: 1_500, now: () => t, readTimeoutMs: 20, refreshMs: 1_000, coverageTrustMs: 60_000 });
  return { gate, state, advance: (ms: number) => (t += ms), reads: () => reads };
}

describe('payment gate', () => {
  it('opens for a fresh voucher within ticks_settled + ⌊escrow / rate⌋', async () => {
    const { gate } = world();
    expect((await gate.entitlement(1n, VIEWER, 1n)).allowedTicks).toBe(10n); // 4 + 60 / 10
    gate.accepted(1n, VIEWER, 1n, 10n);
    expect(await gate.decide(1n, VIEWER, 1n)).toEqual({ open: true });
  });

  it('closes once no voucher advanced the count for more than 1.5 s', async () => {
    const { gate, advance } = world();
    gate.accepted(1n, VIEWER, 1n, 5n);
    advance(1_400);
    expect((await gate.decide(1n, VIEWER, 1n)).open).toBe(true);
    gate.accepted(1n, VIEWER, 1n, 5n); // the same count again does not refresh
    advance(200);
    expect(await gate.decide(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'StaleVoucher' });
  });

  it('judges a playback request fresh as of its arrival, not after a slow chain read', async () => {
    const { gate, advance } = world();
    gate.accepted(1n, VIEWER, 1n, 5n);
    const arrivedAt = advance(100);
    advance(2_000); // the request waited on the chain
    expect(await gate.decide(1n, VIEWER, 1n, arrivedAt)).toEqual({ open: true });
    // A request that arrives with nothing fresh is still refused.
    expect(await gate.decide(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'StaleVoucher' });
    expect(gate.decideNow(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'StaleVoucher' });
  });

  it('closes when the count passes what the escrow covers, and reopens after a top-up', async () => {
    const { gate, state, advance } = world();
    gate.accepted(1n, VIEWER, 1n, 11n);
    expect(await gate.decide(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'EscrowExhausted' });
    state.escrow = 600n;
    advance(1_000);
    gate.accepted(1n, VIEWER, 1n, 12n);
    expect(await gate.decide(1n, VIEWER, 1n)).toEqual({ open: true });
  });

  it('does not limit a subscriber', async () => {
    const { gate } = world({ subscribed: true, escrow: 0n });
    gate.accepted(1n, VIEWER, 1n, 1_000n);
    expect(await gate.decide(1n, VIEWER, 1n)).toEqual({ open: true });
  });

  it('fails closed when the chain cannot be read', async () => {
    const { gate, state, advance } = world();
    state.fail = true;
    gate.accepted(1n, VIEWER, 1n, 5n);
    expect(await gate.decide(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'ChainUnavailable' });
    await expect(gate.entitlement(1n, VIEWER, 1n)).rejects.toMatchObject({ status: 503 });
    advance(10);
  });

  it('keeps a paying viewer open while the chain stalls, judged by the coverage last read', async () => {
    const { gate, state, advance } = world(); // coverage: 4 settled + 60 / 10 = 10 ticks
    gate.accepted(1n, VIEWER, 1n, 5n);
    expect(await gate.decide(1n, VIEWER, 1n)).toEqual({ open: true });
    state.stalled = true;
    for (let n = 6n; n <= 10n; n++) {
      advance(1_000); // a voucher a second, each past the refresh period: every decision starts a (hung) read
      gate.accepted(1n, VIEWER, 1n, n);
      expect(gate.decideNow(1n, VIEWER, 1n), `tick ${n}, chain stalled`).toEqual({ open: true });
      expect((await gate.currentEntitlement(1n, VIEWER, 1n)).allowedTicks).toBe(10n); // no wait on the chain
    }
  });

  it('cuts a viewer whose coverage ends while the chain stalls', async () => {
    const { gate, state, advance } = world();
    gate.accepted(1n, VIEWER, 1n, 9n);
    expect(await gate.decide(1n, VIEWER, 1n)).toEqual({ open: true });
    state.stalled = true;
    advance(1_000);
    gate.accepted(1n, VIEWER, 1n, 11n); // one past the 10 ticks the escrow covered
    expect(gate.decideNow(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'EscrowExhausted' });
  });

  it('fails closed once the last reading is older than its trust window', async () => {
    const { gate, state, advance } = world();
    gate.accepted(1n, VIEWER, 1n, 5n);
    expect(await gate.decide(1n, VIEWER, 1n)).toEqual({ open: true });
    state.stalled = true;
    advance(60_001);
    gate.accepted(1n, VIEWER, 1n, 6n);
    expect(gate.decideNow(1n, VIEWER, 1n)).toMatchObject({ open: false, reason: 'ChainUnavailable', message: /has not answered for 60 s/ });
  });

  it("uses a known session's key while the chain stalls, re-reading it in the background once per period", async () => {
    const { gate, state, advance, reads } = world();
    expect((await gate.sessionKey(1n, VIEWER, 1n)).id).toBe(1n);
    state.stalled = true;
    advance(31_000);
    const before = reads();
    for (let i = 0; i < 5; i++) expect((await gate.sessionKey(1n, VIEWER, 1n)).id).toBe(1n);
    expect(reads() - before).toBe(1);
    // A session id it has not seen is read at once, and a stalled chain then means "unavailable".
    await expect(gate.sessionKey(1n, VIEWER, 2n)).rejects.toMatchObject({ status: 503, name: 'ChainUnavailable' });
  });

  it('refuses a viewer without a session (402) and a voucher of another session (409)', async () => {
    await expect(world({ session: null }).gate.entitlement(1n, VIEWER, 1n)).rejects.toMatchObject({ status: 402, name: 'NotPaying' });
    await expect(world().gate.entitlement(1n, VIEWER, 2n)).rejects.toMatchObject({ status: 409, name: 'WrongSession' });
  });
});

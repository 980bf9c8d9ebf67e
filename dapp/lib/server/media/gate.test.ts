import { describe, expect, it } from 'vitest';
import type { ChainReader, ChainSession } from './chain.ts';
import { Gate } from './gate.ts';

const VIEWER = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';

function world(over: Partial<{ session: ChainSession | null; escrow: bigint; subscribed: boolean; fail: boolean }> = {}) {
  const state = { session: { id: 1n, sessionKey: '0x00', ratePerSecond: 10n, ticksSettled: 4n } as ChainSession | null, escrow: 60n, subscribed: false, fail: false, ...over };
  let t = 1_000_000;
  const chain: ChainReader = {
    tickStream: '',
    stream: async () => ({ creator: VIEWER, live: true }),
    session: async () => {
      if (state.fail) throw new Error('connection lost');
      return state.session;
    },
    escrow: async () => state.escrow,
    hasSubscription: async () => state.subscribed,
  };
  const gate = new Gate(chain, { freshMs: 1_500, now: () => t });
  return { gate, state, advance: (ms: number) => (t += ms) };
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

  it('refuses a viewer without a session (402) and a voucher of another session (409)', async () => {
    await expect(world({ session: null }).gate.entitlement(1n, VIEWER, 1n)).rejects.toMatchObject({ status: 402, name: 'NotPaying' });
    await expect(world().gate.entitlement(1n, VIEWER, 2n)).rejects.toMatchObject({ status: 409, name: 'WrongSession' });
  });
});

/** The tab gate and relay (protocol v2) against a chain of plain objects: admission, coverage, settlement policy. */
import { describe, expect, it } from 'vitest';
import { SessionKey } from '../../protocol/voucher.ts';
import { signTabVoucher, type Claim } from '../../protocol/tab.ts';
import type { ChainTab, TabChain, TabSettleItem, TabSettler } from './chain.ts';
import { Metrics } from './metrics.ts';
import { Store } from './store.ts';
import { owed, TabGate } from './tab-gate.ts';
import { TabRelay } from './tab-relay.ts';
import { TabStore } from './tab-store.ts';

const RELAY = '5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y';
const VIEWER = '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy';
const CONTRACT = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';
const GENESIS = `0x${'09'.repeat(32)}` as const;
const RATE = 10n;

function world(over: Partial<ChainTab> = {}) {
  const key = SessionKey.generate();
  const tab: ChainTab = { id: 1n, viewer: VIEWER, sessionKey: key.publicKey, relay: RELAY, balance: 100n * RATE, nextWatch: 0, watches: [], closing: false, ...over };
  // `quote` is the chain's rate; `remembered`, when set, the older one a cached read still gives.
  const state = { tab: tab as ChainTab | null, quote: RATE as bigint | Error, remembered: null as bigint | null, freshQuotes: 0, reads: 0, subscribed: false, stream: true, fail: false, stalled: false };
  let t = 1_000_000;
  const chain: TabChain = {
    tabScope: async () => ({ genesisHash: GENESIS, contract: CONTRACT }),
    tab: async () => {
      state.reads++;
      if (state.fail) throw new Error('connection refused');
      if (state.stalled) return new Promise<never>(() => {});
      return state.tab && structuredClone(state.tab);
    },
    quote: async (_, fresh) => {
      if (state.quote instanceof Error) throw state.quote;
      if (fresh) state.freshQuotes++;
      return !fresh && state.remembered !== null ? state.remembered : state.quote;
    },
    hasSubscription: async () => state.subscribed,
    stream: async () => (state.stream ? { creator: VIEWER, live: true } : null),
  };
  const submitted: TabSettleItem[][] = [];
  const settler: TabSettler = {
    relayAddress: RELAY,
    settleTabs: async (items) => {
      submitted.push(items);
      return {
        results: items.map((i) => ({
          ok: i.voucher.claims.map((c) => ({ streamId: c.streamId, watch: c.watch, settled: c.ticks, newTicks: c.ticks, unpaidTicks: 0n, amount: c.ticks * c.ratePerSecond, retired: i.retire.has(c.watch) })),
        })),
        extrinsics: 1,
      };
    },
  };
  const store = new TabStore(new Store(':memory:').db);
  const now = () => t;
  const gate = new TabGate(chain, (id) => store.watches(id), { relayAddress: () => RELAY, now, refreshMs: 1_000, readTimeoutMs: 50 });
  const relay = new TabRelay({ chain, settler, store, gate, metrics: new Metrics(), intervalMs: 1_000, now });
  const sign = (claims: Claim[], tabId = 1n) => signTabVoucher(key, { genesisHash: GENESIS, contract: CONTRACT, tabId }, claims);
  const watch = (w: number, streamId: bigint, ticks: bigint, ratePerSecond = RATE): Claim => ({ watch: w, streamId, ratePerSecond, ticks });
  return { state, gate, relay, store, sign, watch, submitted, advance: (ms: number) => (t += ms) };
}

describe('owed: what a tab’s watches may still charge', () => {
  it('counts signed seconds above the settled count at each watch’s rate, and nothing for a retired watch', () => {
    const tab: ChainTab = { id: 1n, viewer: VIEWER, sessionKey: '0x00', relay: RELAY, balance: 0n, nextWatch: 3, watches: [{ number: 2, streamId: 5n, ratePerSecond: 7n, settled: 10n }], closing: false };
    const signed = new Map([
      [0, { ticks: 50n, ratePerSecond: 3n }], // retired (below nextWatch, not held)
      [2, { ticks: 14n, ratePerSecond: 7n }], // 4 s above settled
      [3, { ticks: 5n, ratePerSecond: 2n }], // new, nothing settled
    ]);
    expect(owed(tab, signed)).toBe(4n * 7n + 5n * 2n);
  });
});

describe('tab relay: accepting vouchers', () => {
  it('accepts the tab key’s voucher for a new watch at the current rate, and the gate opens for it', async () => {
    const { relay, gate, sign, watch } = world();
    const states = await relay.accept(sign([watch(0, 3n, 5n)]));
    expect(states).toEqual([{ watch: 0, streamId: 3n, ratePerSecond: RATE, ticks: 5n, settledTicks: 0n, retired: false }]);
    expect(gate.decideNow(1n, 0)).toEqual({ open: true });
  });

  it('refuses another key’s voucher (BadSignature) and a voucher of a tab that is not open (NoTab)', async () => {
    const w = world();
    const forged = signTabVoucher(SessionKey.generate(), { genesisHash: GENESIS, contract: CONTRACT, tabId: 1n }, [w.watch(0, 3n, 5n)]);
    await expect(w.relay.accept(forged)).rejects.toMatchObject({ status: 401, name: 'BadSignature' });
    w.state.tab = null;
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 5n)], 2n))).rejects.toMatchObject({ status: 404, name: 'NoTab' });
  });

  it('refuses a new watch at a rate other than the stream’s current one (RateMismatch)', async () => {
    const { relay, sign, watch } = world();
    await expect(relay.accept(sign([watch(0, 3n, 5n, RATE - 1n)]))).rejects.toMatchObject({ status: 409, name: 'RateMismatch' });
  });

  it('reads the rate again before refusing a new watch: a price that fell since the relay last read it is taken, and only a rate the chain disagrees with is refused', async () => {
    const w = world();
    w.state.remembered = RATE; // what the relay read before the creator lowered the price
    w.state.quote = RATE / 2n;
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 1n, RATE / 2n)]))).resolves.toMatchObject([{ watch: 0, ratePerSecond: RATE / 2n }]);
    expect(w.state.freshQuotes).toBe(1);
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 2n, RATE / 2n), w.watch(1, 4n, 1n, RATE * 3n)]))).rejects.toMatchObject({ status: 409, name: 'RateMismatch' });
    expect(w.state.freshQuotes).toBe(2);
    // A rate that agrees with the last read costs no read.
    await w.relay.accept(w.sign([w.watch(0, 3n, 3n, RATE / 2n), w.watch(1, 4n, 1n, RATE)]));
    expect(w.state.freshQuotes).toBe(2);
  });

  it('takes a voucher shown for media only if it is among the watch’s newest and above its settled count (a settled one is public)', async () => {
    const w = world();
    for (let n = 1n; n <= 8n; n++) await w.relay.accept(w.sign([w.watch(0, 3n, n)]));
    await w.relay.acceptShown(w.sign([w.watch(0, 3n, 8n)]), 0); // the newest, again: fine
    await w.relay.acceptShown(w.sign([w.watch(0, 3n, 3n)]), 0); // 5 behind: the ticker moved on meanwhile
    await expect(w.relay.acceptShown(w.sign([w.watch(0, 3n, 2n)]), 0)).rejects.toMatchObject({ status: 402, message: expect.stringMatching(/it is at 8/) });
    w.store.markSettled(1n, 0, 6n, false); // the relay settled 6 s: that voucher is in a block
    await expect(w.relay.acceptShown(w.sign([w.watch(0, 3n, 6n)]), 0)).rejects.toMatchObject({ status: 402, message: expect.stringMatching(/settled on chain/) });
    await expect(w.relay.acceptShown(w.sign([w.watch(0, 3n, 8n)]), 1)).rejects.toMatchObject({ status: 403, name: 'VoucherMismatch' });
  });

  it('names why a new watch cannot begin: no such stream (404), no price plan yet (409, the contract’s name), the chain not answering (503)', async () => {
    const w = world();
    w.state.stream = false;
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 1n)]))).rejects.toMatchObject({ status: 404, name: 'StreamNotFound' });
    w.state.stream = true;
    w.state.quote = Object.assign(new Error('The stream has no price plan.'), { name: 'ContractError', error: { type: 'NoPricePlan' } });
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 1n)]))).rejects.toMatchObject({ status: 409, name: 'NoPricePlan' });
    w.state.quote = new Error('socket closed');
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 1n)]))).rejects.toMatchObject({ status: 503, name: 'ChainUnavailable' });
    expect(w.store.watches(1n)).toEqual([]); // nothing stored
  });

  it('takes a subscriber’s free watch while the subscription lasts, and no further second once it has ended (SubscriptionEnded)', async () => {
    const w = world();
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 1n, 0n)]))).rejects.toMatchObject({ status: 409, name: 'RateMismatch' });
    w.state.subscribed = true;
    await w.relay.accept(w.sign([w.watch(0, 3n, 1n, 0n)]));
    w.advance(1_000);
    await w.relay.accept(w.sign([w.watch(0, 3n, 2n, 0n)]));
    expect(w.gate.decideNow(1n, 0)).toEqual({ open: true });
    w.state.subscribed = false;
    w.advance(1_000);
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 3n, 0n)]))).rejects.toMatchObject({ status: 409, name: 'SubscriptionEnded' });
    w.advance(1_000);
    expect(w.gate.decideNow(1n, 0)).toMatchObject({ open: false, reason: 'StaleVoucher' });
    // The viewer goes on with a new watch at the stream's rate, on the same tab.
    await w.relay.accept(w.sign([w.watch(0, 3n, 2n, 0n), w.watch(1, 3n, 1n)]));
    expect(w.gate.decideNow(1n, 1)).toEqual({ open: true });
  });

  it('keeps a watch’s terms: a later voucher naming another rate is refused (WatchTermsChanged)', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)]));
    w.state.quote = RATE * 2n; // the price went up: it does not apply to this watch
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 6n, RATE * 2n)]))).rejects.toMatchObject({ name: 'WatchTermsChanged' });
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 6n)]))).resolves.toBeTruthy();
  });

  it('no double spend across streams: two watches together may not owe more than the balance (TabExhausted)', async () => {
    const { relay, gate, sign, watch } = world({ balance: 10n * RATE });
    await relay.accept(sign([watch(0, 3n, 6n)]));
    await expect(relay.accept(sign([watch(0, 3n, 6n), watch(1, 4n, 5n)]))).rejects.toMatchObject({ status: 402, name: 'TabExhausted' });
    await relay.accept(sign([watch(0, 3n, 6n), watch(1, 4n, 4n)]));
    expect(gate.decideNow(1n, 1)).toEqual({ open: true });
  });

  it('re-reads the tab before refusing past its balance, so a top-up is seen at once', async () => {
    const w = world({ balance: 5n * RATE });
    w.state.tab!.balance = 50n * RATE;
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 20n)]))).resolves.toBeTruthy();
  });

  it('refuses a closing tab (TabClosing) and a tab another relay serves (OtherRelay)', async () => {
    const closing = world({ closing: true });
    await expect(closing.relay.accept(closing.sign([closing.watch(0, 3n, 1n)]))).rejects.toMatchObject({ status: 409, name: 'TabClosing' });
    const other = world({ relay: VIEWER });
    await expect(other.relay.accept(other.sign([other.watch(0, 3n, 1n)]))).rejects.toMatchObject({ status: 403, name: 'OtherRelay' });
  });

  it('refuses a voucher whose every count is below one received (StaleVoucher)', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(1, 3n, 5n)]));
    await expect(w.relay.accept(w.sign([w.watch(1, 3n, 4n)]))).rejects.toMatchObject({ status: 409, name: 'StaleVoucher' });
  });

  it('takes a voucher still carrying a retired watch at its final count, but not counting it further (WatchRetired)', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)]));
    w.state.tab!.nextWatch = 1; // the relay's settlement retired watch 0
    w.gate.invalidate(1n);
    await new Promise((r) => setTimeout(r, 10));
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 5n), w.watch(1, 4n, 1n)]))).resolves.toBeTruthy();
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 6n), w.watch(1, 4n, 2n)]))).rejects.toMatchObject({ status: 409, name: 'WatchRetired' });
  });
});

describe('tab gate: media to a watch', () => {
  it('closes a watch whose vouchers stopped for 1.5 s, and every watch of a tab that began closing', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)]));
    w.advance(1_600);
    expect(w.gate.decideNow(1n, 0)).toMatchObject({ open: false, reason: 'StaleVoucher' });
    await w.relay.accept(w.sign([w.watch(0, 3n, 6n)]));
    expect(w.gate.decideNow(1n, 0)).toEqual({ open: true });
    w.state.tab!.closing = true;
    w.gate.invalidate(1n);
    await new Promise((r) => setTimeout(r, 10));
    expect(w.gate.decideNow(1n, 0)).toMatchObject({ open: false, reason: 'TabClosing' });
  });
});

describe('tab gate on a chain that fails or stalls', () => {
  const hung = () => new Promise((r) => setTimeout(r, 80)); // past the world's 50 ms read timeout

  it('fails closed when the tab cannot be read: no voucher taken, no media', async () => {
    const w = world();
    w.state.fail = true;
    await expect(w.relay.accept(w.sign([w.watch(0, 3n, 5n)]))).rejects.toMatchObject({ status: 503, name: 'ChainUnavailable' });
    expect(w.gate.decideNow(1n, 0)).toMatchObject({ open: false });
  });

  it('keeps a paying watch open while the chain stalls, judged by the tab last read', async () => {
    const w = world(); // balance: 100 s at RATE
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)]));
    w.state.stalled = true;
    for (let n = 6n; n <= 10n; n++) {
      w.advance(1_000); // a voucher a second, each past the refresh period: every decision starts a (hung) read
      await w.relay.accept(w.sign([w.watch(0, 3n, n)]));
      await hung();
      expect(w.gate.decideNow(1n, 0), `second ${n}, chain stalled`).toEqual({ open: true });
    }
  });

  it('cuts a watch whose tab is used up while the chain stalls', async () => {
    const w = world({ balance: 10n * RATE });
    await w.relay.accept(w.sign([w.watch(0, 3n, 9n)]));
    expect(w.gate.decideNow(1n, 0)).toEqual({ open: true });
    w.state.stalled = true;
    w.advance(1_000);
    w.gate.accepted(1n, 0, 11n, RATE); // one second past what the balance pays
    await hung();
    expect(w.gate.decideNow(1n, 0)).toMatchObject({ open: false, reason: 'TabExhausted' });
  });

  it('fails closed once the last reading is older than its trust window (60 s)', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)]));
    w.state.stalled = true;
    w.advance(60_001);
    w.gate.accepted(1n, 0, 6n, RATE);
    expect(w.gate.decideNow(1n, 0)).toMatchObject({ open: false, reason: 'ChainUnavailable' });
  });
});

describe('tab relay: when a tab is settled', () => {
  it('not while a viewer watches and owes little; at once when the tab closes, with one voucher for all its watches', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)]));
    await w.relay.accept(w.sign([w.watch(0, 3n, 6n), w.watch(1, 4n, 2n)]));
    await w.relay.settleNow();
    expect(w.submitted).toEqual([]);
    // The creators' pending earnings: what is signed and not settled, per stream.
    expect([w.store.pending(3n), w.store.pending(4n), w.store.pending(5n)]).toEqual([
      { plancks: 6n * RATE, watches: 1 },
      { plancks: 2n * RATE, watches: 1 },
      { plancks: 0n, watches: 0 },
    ]);
    w.state.tab!.closing = true;
    w.gate.invalidate(1n);
    await new Promise((r) => setTimeout(r, 10));
    await w.relay.settleNow();
    expect(w.submitted.length).toBe(1);
    expect(w.submitted[0].map((i) => i.voucher.claims.map((c) => [c.watch, c.ticks]))).toEqual([[[0, 6n], [1, 2n]]]);
    expect(w.store.watches(1n).map((s) => s.settledTicks)).toEqual([6n, 2n]);
    expect(w.store.pending(3n)).toEqual({ plancks: 0n, watches: 0 });
  });

  it('once its vouchers stop: final counts; a paused watch is kept (it may go on), a watch switched away from is retired', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 9n)]));
    w.advance(60_000);
    await w.relay.settleNow();
    expect(w.submitted.length).toBe(1);
    expect([...w.submitted[0][0].retire]).toEqual([]); // paused, not left: the same watch may go on
    expect(w.store.watches(1n)[0]).toMatchObject({ settledTicks: 9n, retired: false });
    // The viewer switches: watch 1 advances, watch 0 stays at 9; once quiet, 0 is retired, 1 kept.
    w.advance(1_000);
    await w.relay.accept(w.sign([w.watch(0, 3n, 9n), w.watch(1, 4n, 3n)]));
    w.advance(60_000);
    await w.relay.settleNow();
    expect(w.submitted.length).toBe(2);
    expect([...w.submitted[1][0].retire]).toEqual([0]);
  });

  it('retires every watch of a tab quiet for 10 minutes (the viewer is gone)', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 9n)]));
    w.advance(600_000);
    await w.relay.settleNow();
    expect([...w.submitted[0][0].retire]).toEqual([0]);
    expect(w.store.watches(1n)[0]).toMatchObject({ settledTicks: 9n, retired: true });
  });

  it('once it owes the minimum worth a settlement (owed ≥ K × cost), and at the latest an hour after a count went unsettled', async () => {
    const big = world({ balance: 10n ** 15n });
    await big.relay.accept(big.sign([big.watch(0, 3n, 25_000_000_000n)])); // 2.5 × 10^11 plancks at rate 10
    await big.relay.settleNow();
    expect(big.submitted.length).toBe(1);
    const slow = world();
    await slow.relay.accept(slow.sign([slow.watch(0, 3n, 5n)]));
    for (let i = 0; i < 59; i++) {
      slow.advance(59_000); // vouchers keep coming: never quiet
      await slow.relay.accept(slow.sign([slow.watch(0, 3n, 6n + BigInt(i))]));
      await slow.relay.settleNow();
    }
    expect(slow.submitted.length).toBe(0);
    slow.advance(59_000 * 2 + 1_000); // an hour since the first unsettled count
    await slow.relay.accept(slow.sign([slow.watch(0, 3n, 100n)]));
    await slow.relay.settleNow();
    expect(slow.submitted.length).toBe(1);
  });
});

describe('tab gate: the chain reads a flood of made-up tabs may cause', () => {
  it('reads a tab that does not exist once per 0.75 s, however often it is named', async () => {
    const w = world();
    w.state.tab = null;
    for (let i = 0; i < 50; i++) await expect(w.gate.reading(7n)).rejects.toMatchObject({ name: 'NoTab' });
    expect(w.state.reads).toBe(1);
    w.advance(751);
    await expect(w.gate.reading(7n)).rejects.toMatchObject({ name: 'NoTab' });
    expect(w.state.reads).toBe(2);
  });

  it('refuses at once (503 Busy, no read) past 16 reads at once of tabs never seen, while a tab that pays is served from its reading', async () => {
    const w = world();
    await w.relay.accept(w.sign([w.watch(0, 3n, 5n)])); // tab 1 pays: read once
    const readsBefore = w.state.reads;
    w.state.stalled = true; // the chain stops answering
    const pending = Array.from({ length: 16 }, (_, i) => w.gate.reading(100n + BigInt(i)).catch((e: Error) => e.name));
    await expect(w.gate.reading(999n)).rejects.toMatchObject({ status: 503, name: 'Busy' });
    expect(w.state.reads - readsBefore).toBe(16);
    // The payer's next voucher is checked against the reading it has, with no read waited on.
    await w.relay.accept(w.sign([w.watch(0, 3n, 6n)]));
    expect(w.gate.decideNow(1n, 0)).toEqual({ open: true });
    // The stalled reads time out (readTimeoutMs 50 ms) and free their places.
    expect(await Promise.all(pending)).toEqual(Array(16).fill('ChainUnavailable'));
    w.state.stalled = false;
    await expect(w.gate.reading(999n)).resolves.toMatchObject({ id: 1n });
  });
});

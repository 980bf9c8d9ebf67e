import { afterEach, describe, expect, it, vi } from 'vitest';
import { SessionKey } from '../protocol/voucher.ts';
import { fromTabWire } from './tab-wire.ts';
import { TabTicker } from './tab-ticker.ts';
import { owed } from '../protocol/owed.ts';

const scope = { genesisHash: `0x${'09'.repeat(32)}` as const, contract: '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM', tabId: 1n };

/** A relay that answers each voucher with `answer` and records what it got. */
function relay(answer: (claims: { watch: number; ticks: bigint }[]) => { status: number; body: unknown }) {
  const got: { watch: number; ticks: bigint }[][] = [];
  vi.stubGlobal('fetch', async (_url: string, init: { body: string }) => {
    const v = fromTabWire(JSON.parse(init.body));
    const claims = v.claims.map((c) => ({ watch: c.watch, ticks: c.ticks }));
    got.push(claims);
    const a = answer(claims);
    return new Response(JSON.stringify(a.body), { status: a.status });
  });
  return got;
}
const settle = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => vi.unstubAllGlobals());

describe('TabTicker: the tab’s voucher loop', () => {
  it('advances a watch only when the relay accepts the voucher that signs it', async () => {
    let accept = false;
    const got = relay(() => (accept ? { status: 202, body: { watches: [] } } : { status: 402, body: { error: 'TabExhausted', message: 'top up' } }));
    const t = new TabTicker({ scope, key: SessionKey.generate(), baseUrl: 'http://relay' });
    t.startWatch(0, 3n, 10n);
    await settle();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 1n }]);
    expect(t.ticksOf(0)).toBe(0n); // refused: not counted
    accept = true;
    await (t as unknown as { tick(): Promise<void> }).tick();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 1n }]); // the same second, signed again
    expect(t.ticksOf(0)).toBe(1n);
    t.stop();
  });

  it('shows the voucher on its way until the relay answers (video is asked with it), then only the accepted one', async () => {
    let answer: (r: Response) => void = () => {};
    vi.stubGlobal('fetch', () => new Promise<Response>((r) => (answer = r)));
    const t = new TabTicker({ scope, key: SessionKey.generate(), baseUrl: 'http://relay' });
    t.startWatch(0, 3n, 10n);
    const sent = t.sending();
    expect(sent?.claims).toEqual([{ watch: 0, streamId: 3n, ratePerSecond: 10n, ticks: 1n }]);
    expect(t.latest()).toBeUndefined();
    answer(new Response(JSON.stringify({ watches: [] }), { status: 202 }));
    await settle();
    await settle();
    expect(t.sending()).toBeUndefined();
    expect(t.latest()).toBe(sent);
    t.stop();
  });

  it('signs no second the tab does not cover (the gate’s rule from the last read), and goes on once it does', async () => {
    const got = relay(() => ({ status: 202, body: { watches: [] } }));
    const tab = { balance: 20n, nextWatch: 0, watches: [] as { number: number; settled: bigint }[] };
    const errors: string[] = [];
    const t = new TabTicker({
      scope,
      key: SessionKey.generate(),
      baseUrl: 'http://relay',
      covers: (next) => owed(tab, new Map(next.map((c) => [c.watch, c]))) <= tab.balance,
      onTick: (x) => void (x.error && errors.push(x.error)),
    });
    const tick = () => (t as unknown as { tick(): Promise<void> }).tick();
    t.startWatch(0, 3n, 10n);
    await settle();
    await tick();
    await tick(); // a third second would owe 30 > 20
    expect(got.map((c) => c[0].ticks)).toEqual([1n, 2n]);
    expect(t.ticksOf(0)).toBe(2n);
    expect(errors).toEqual([expect.stringMatching(/^TabExhausted/)]);
    tab.balance = 30n; // a top-up
    await tick();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 3n }]);
    t.stop();
  });

  it('leaves a refused start out of later vouchers (a watch begun again at the rate in force), but never one the relay accepted', async () => {
    let refuse = (claims: { watch: number }[]) => claims.some((c) => c.watch === 1);
    const got = relay((claims) => (refuse(claims) ? { status: 409, body: { error: 'RateMismatch', message: 'stream 3 costs 12 plancks/s now' } } : { status: 202, body: { watches: [] } }));
    const t = new TabTicker({ scope, key: SessionKey.generate(), baseUrl: 'http://relay' });
    const tick = () => (t as unknown as { tick(): Promise<void> }).tick();
    t.startWatch(0, 3n, 10n);
    await settle();
    expect(t.ticksOf(0)).toBe(1n);
    t.startWatch(1, 3n, 10n); // at a rate gone stale
    await settle();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 1n }, { watch: 1, ticks: 1n }]);
    t.dropUnaccepted(1);
    t.dropUnaccepted(0); // accepted: kept
    t.startWatch(2, 3n, 12n);
    await settle();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 1n }, { watch: 2, ticks: 1n }]);
    expect(t.ticksOf(2)).toBe(1n);
    refuse = () => false;
    await tick();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 1n }, { watch: 2, ticks: 2n }]);
    t.stop();
  });

  it('carries the watch left behind at its count, drops it once the relay retired it, and sends nothing while nothing is watched', async () => {
    let retired = false;
    const got = relay((claims) => ({
      status: 202,
      body: { watches: claims.map((c) => ({ watch: c.watch, streamId: '3', ratePerSecond: '10', ticks: String(c.ticks), settledTicks: retired && c.watch === 0 ? String(c.ticks) : '0', retired: retired && c.watch === 0 })) },
    }));
    const t = new TabTicker({ scope, key: SessionKey.generate(), baseUrl: 'http://relay' });
    t.startWatch(0, 3n, 10n);
    await settle();
    t.startWatch(1, 4n, 10n); // a switch
    await settle();
    expect(got.at(-1)).toEqual([{ watch: 0, ticks: 1n }, { watch: 1, ticks: 1n }]);
    retired = true;
    await (t as unknown as { tick(): Promise<void> }).tick();
    await (t as unknown as { tick(): Promise<void> }).tick();
    expect(got.at(-1)).toEqual([{ watch: 1, ticks: 3n }]);
    t.stopWatch();
    const sent = got.length;
    await (t as unknown as { tick(): Promise<void> }).tick();
    expect(got.length).toBe(sent);
    t.stop();
  });
});

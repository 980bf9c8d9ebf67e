/**
 * The tab relay and the media server's refusals (protocol v2), against the real chain and the built
 * app: a restart mid-stream loses no voucher and charges nothing twice; a tab is settled once it owes
 * enough, or once its vouchers stop; a tab that is gone is dropped after one refusal; and one test per
 * attack — each gets a named 4xx, stores nothing, and the server keeps serving.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import { signTabVoucher } from '../../dapp/lib/protocol/tab.ts';
import { tabVoucherAuthorization, toTabWire } from '../../dapp/lib/media/tab-wire.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { RATE, liveStream } from '../e2e/protocol-helpers.ts';
import { passChainTime } from '../e2e/tab-helpers.ts';
import { startApp, type App } from './harness.ts';
import { ownDeploymentFile, streamKey, until, untilChain, viewerWithTab } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
const dir = scratchDir('relay');
const settings = {
  VILO_RELAY_DB: join(dir, 'relay.sqlite'),
  VILO_SETTLE_INTERVAL_MS: '2000',
  // A tab is settled once its vouchers have stopped for 1.5 s (default 60 s).
  VILO_TAB_QUIET_MS: '1500',
  // Lets the flood test speak as several clients (adapter-node reads the client address from it).
  ADDRESS_HEADER: 'x-forwarded-for',
};

beforeAll(async () => {
  env = await setupEnv();
});
afterAll(async () => {
  await env?.api.disconnect();
});

async function post(app: App, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(app.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '10.0.0.1', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: { error?: string; message?: string; cumulativeTicks?: string; settledTicks?: string } = {};
  try {
    json = JSON.parse(text);
  } catch {
    /* SDP or empty */
  }
  return { status: res.status, json, text };
}

/** An app of its own for one test: its own relay database, `settings` with `extra` on top. */
const ownApp = (extra: Record<string, string> = {}) =>
  startApp(inject('chainUrl'), ownDeploymentFile(), { ...settings, VILO_RELAY_DB: join(scratchDir('relay'), 'relay.sqlite'), ...extra });

type Tabbed = Awaited<ReturnType<typeof viewerWithTab>>;
/** The tab's voucher for watch 0 of `streamId` at `n` seconds. */
const voucherOf = (t: Tabbed, streamId: bigint, n: bigint) => t.sign([{ watch: 0, streamId, ratePerSecond: RATE, ticks: n }]);
const sendVoucher = (app: App, t: Tabbed, streamId: bigint, n: bigint) => post(app, '/api/tab-vouchers', toTabWire(voucherOf(t, streamId, n)));
const settledOf = async (t: Tabbed) => (await env.ticks.query.tab(t.viewer.address, t.tabId)).value?.watches.find((w) => w.number === 0)?.settled ?? 0n;

// Real-time media on a 2-core machine: a test that misses a timing once (a loaded chain or encoder)
// runs once more; vitest reports the retry, and a real regression fails both runs.
describe('tab relay', { retry: 1 }, () => {
  it('loses no voucher and charges nothing twice across a restart mid-stream (earnings = rate × seconds)', async () => {
    const bob = env.accounts.bob;
    const streamId = await liveStream(env, bob);
    const deposit = RATE * 600n;
    const db = join(scratchDir('relay-restart'), 'relay.sqlite');
    let app = await ownApp({ VILO_RELAY_DB: db });
    const t = await viewerWithTab(env, app, 'relay-restart', deposit, RATE);
    try {
      for (let n = 1n; n <= 5n; n++) expect((await sendVoucher(app, t, streamId, n)).status).toBe(202);
      await untilChain(env.api, async () => (await settledOf(t)) === 5n, 60_000, 'the first settlement (vouchers quiet)');
      // Three more accepted, then the server goes down before they are settled.
      for (let n = 6n; n <= 8n; n++) expect((await sendVoucher(app, t, streamId, n)).status).toBe(202);
      await app.stop();
      expect(await settledOf(t)).toBe(5n);

      // The same database as before the stop: the stored vouchers must survive it.
      app = await ownApp({ VILO_RELAY_DB: db });
      await untilChain(env.api, async () => (await settledOf(t)) === 8n, 60_000, 'the vouchers stored before the restart to be settled');
      // The same count again (a client retrying after the restart) is acknowledged and changes nothing;
      // an older one is refused as stale; new ones go on.
      const again = await sendVoucher(app, t, streamId, 8n);
      expect(again.status, again.text).toBe(202);
      expect((await sendVoucher(app, t, streamId, 7n)).json.error).toBe('StaleVoucher');
      for (let n = 9n; n <= 10n; n++) expect((await sendVoucher(app, t, streamId, n)).status).toBe(202);
      await untilChain(env.api, async () => (await settledOf(t)) === 10n, 60_000, 'the last settlement');
      await new Promise((r) => setTimeout(r, 4_500)); // two more relay rounds: nothing more is charged

      expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(10n * RATE);
      expect((await env.ticks.query.tab(bob.address, t.tabId)).value!.balance).toBe(deposit - 10n * RATE);
      expect((await env.ticks.query.streamTicks(bob.address, streamId)).value).toBe(10n);
    } finally {
      await app.stop();
    }
  });

  it('with VILO_TAB_MIN_OWED settles a watching tab once it owes that much, and its final count once the vouchers stop', async () => {
    const bob = env.accounts.bob;
    const streamId = await liveStream(env, bob);
    // Owing 5 seconds' worth is enough; quiet only after 5 s.
    const app = await ownApp({ VILO_TAB_MIN_OWED: String(5n * RATE), VILO_TAB_QUIET_MS: '5000' });
    const t = await viewerWithTab(env, app, 'relay-min-owed', RATE * 600n, RATE);
    try {
      for (let n = 1n; n <= 4n; n++) expect((await sendVoucher(app, t, streamId, n)).status).toBe(202);
      await new Promise((r) => setTimeout(r, 3_000)); // a relay round (every 2 s) passes: 4 s owed < 5, nothing due
      expect(await settledOf(t)).toBe(0n);
      expect((await sendVoucher(app, t, streamId, 5n)).status).toBe(202);
      await untilChain(env.api, async () => (await settledOf(t)) === 5n, 60_000, 'the settlement at 5 s owed');
      for (let n = 6n; n <= 7n; n++) expect((await sendVoucher(app, t, streamId, n)).status).toBe(202);
      const lastVoucherAt = Date.now();
      await new Promise((r) => setTimeout(r, 3_000)); // 2 s owed: not due while the vouchers still may come
      expect(await settledOf(t)).toBe(5n);
      await untilChain(env.api, async () => (await settledOf(t)) === 7n, 60_000, 'the final count, once the vouchers stopped for 5 s');
      expect(Date.now() - lastVoucherAt).toBeGreaterThanOrEqual(4_500);
      expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(7n * RATE);
    } finally {
      await app.stop();
    }
  }, 120_000);

  it('drops the vouchers of a tab that is gone: one named refusal, no resubmission, no charge', async () => {
    const bob = env.accounts.bob;
    const streamId = await liveStream(env, bob);
    // The relay is down through the whole dispute window (a relay that is up settles a closing tab,
    // as it should: a slow one only made this a race with the window on a slow chain), so the
    // viewer's own close and finish land first; it comes back with the same database.
    const db = join(scratchDir('relay-gone'), 'relay.sqlite');
    let app = await ownApp({ VILO_RELAY_DB: db, VILO_TAB_QUIET_MS: '60000' });
    const t = await viewerWithTab(env, app, 'relay-gone', RATE * 600n, RATE);
    try {
      for (let n = 1n; n <= 3n; n++) expect((await sendVoucher(app, t, streamId, n)).status).toBe(202);
      await app.stop(); // not due (not quiet, owes little): nothing settled on the way down
      expect(await settledOf(t)).toBe(0n);
      // The viewer closes the tab and, once the window is over, finishes: the tab is gone, its 3 s unpaid.
      const closesAt = (await env.ticks.tx.closeTab(t.viewer, t.tabId)).one('TabClosing').endsAtMs;
      await passChainTime(env.api, env.accounts.alice, closesAt);
      await env.ticks.tx.finishClose(t.viewer, t.tabId);
      app = await ownApp({ VILO_RELAY_DB: db, VILO_TAB_QUIET_MS: '60000' });
      const refusals = () => app.output().split('\n').filter((l) => l.includes(`tab ${t.tabId} voucher refused`));
      await until(async () => refusals().length > 0, 40_000, "the relay's settlement attempt");
      // Found gone when read: nothing is submitted, said once, by name.
      expect(refusals()[0]).toMatch(/refused: NoTab \(the tab was gone when read; the signed seconds of 1 watch dropped, nothing submitted\)$/);
      await new Promise((r) => setTimeout(r, 5_000)); // two more relay rounds (every 2 s)
      expect(refusals()).toHaveLength(1);
      expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(0n);
    } finally {
      await app.stop();
    }
  }, 120_000);
});

describe('attacks: each gets a named 4xx, stores nothing, and others are still served', () => {
  let app: App;
  let streamId: bigint;
  let key: string;
  let t: Tabbed;
  /** A minimal but well-formed receive-only offer, as a browser would send (for the routes' checks). */
  const OFFER = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=fingerprint:sha-256 ' + Array(32).fill('AB').join(':'), 'a=setup:actpass', 'a=rtcp-mux', 'a=rtpmap:96 VP8/90000', '',
  ].join('\r\n');
  const tabHeaders = (watch: number, v: ReturnType<typeof voucherOf>, tabId = t.tabId) => ({ 'X-Vilo-Tab': tabId.toString(), 'X-Vilo-Watch': String(watch), Authorization: tabVoucherAuthorization(v) });

  beforeAll(async () => {
    app = await startApp(inject('chainUrl'), ownDeploymentFile(), { ...settings, VILO_RELAY_DB: join(dir, 'attacks.sqlite'), VILO_RATE_LIMIT: '5,20' });
    streamId = await liveStream(env, env.accounts.bob);
    key = await streamKey(app, env.accounts.bob, streamId);
    t = await viewerWithTab(env, app, 'relay-attacks', RATE * 600n, RATE);
  });
  afterAll(async () => {
    await app?.stop();
  });

  const sdp = (path: string, body: string, headers: Record<string, string>) =>
    post(app, path, body, { 'Content-Type': 'application/sdp', ...headers });

  it('a wrong or missing stream key gets 401 and nothing else', async () => {
    for (const auth of [{ Authorization: 'Bearer vk_wrong' }, {}, { Authorization: `Bearer ${key}x` }] as Record<string, string>[]) {
      const r = await sdp(`/whip/${streamId}`, OFFER, auth);
      expect(r.status).toBe(401);
      expect(r.json.error).toBe('Unauthorized');
    }
    expect(((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { live: boolean }).live).toBe(false);
  });

  it('a new stream key replaces the old one, and only the creator may ask for one', async () => {
    const eve = env.accounts.eve;
    const timestamp = Date.now();
    const { u8aToHex, stringToU8a } = await import('@polkadot/util');
    const signature = u8aToHex(eve.sign(stringToU8a(`vilokanam:stream-key:${streamId}:${timestamp}`)));
    const r = await post(app, `/api/streams/${streamId}/key`, { address: eve.address, timestamp, signature });
    expect(r.status).toBe(403);
    expect(r.json.error).toBe('NotCreator');
    const fresh = await streamKey(app, env.accounts.bob, streamId);
    expect((await sdp(`/whip/${streamId}`, OFFER, { Authorization: `Bearer ${key}` })).status).toBe(401);
    key = fresh;
  });

  it('a malformed SDP gets 400 (MalformedSdp)', async () => {
    for (const body of ['hello', 'v=0\r\nm=video 9 RTP/AVP 96\r\n', OFFER.replace(/a=fingerprint[^\r]*\r\n/, '')]) {
      const r = await sdp(`/whip/${streamId}`, body, { Authorization: `Bearer ${key}` });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error).toBe('MalformedSdp');
    }
  });

  it('an oversized body gets 413 and nothing is stored', async () => {
    const big = JSON.stringify({ ...toTabWire(voucherOf(t, streamId, 1n)), pad: 'x'.repeat(10_000) });
    expect((await post(app, '/api/tab-vouchers', big)).status).toBe(413);
    const bigSdp = OFFER + 'a=x-pad:' + 'y'.repeat(40_000) + '\r\n';
    expect((await sdp(`/whip/${streamId}`, bigSdp, { Authorization: `Bearer ${key}` })).status).toBe(413);
  });

  it('an unknown stream gets 404', async () => {
    const ghost = t.sign([{ watch: 0, streamId: 987654321n, ratePerSecond: RATE, ticks: 1n }]);
    const r = await sdp(`/whep/987654321`, OFFER, tabHeaders(0, ghost));
    expect(r.status).toBe(404);
    const v = await post(app, '/api/tab-vouchers', toTabWire(ghost));
    expect(v.status).toBe(404);
    expect(v.json.error).toBe('StreamNotFound');
  });

  it('a forged tab voucher (another key) is refused with 401 BadSignature and not stored', async () => {
    const scope = { genesisHash: env.api.genesisHash.toHex() as `0x${string}`, contract: env.ticks.address, tabId: t.tabId };
    const forged = signTabVoucher(SessionKey.generate(), scope, [{ watch: 0, streamId, ratePerSecond: RATE, ticks: 500n }]);
    const r = await post(app, '/api/tab-vouchers', toTabWire(forged));
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('BadSignature');
    // Had the forged count been stored, this honest lower count would now be stale (409).
    expect((await sendVoucher(app, t, streamId, 2n)).status).toBe(202);
    // A real voucher with its count raised after signing is a forgery too.
    const wire = toTabWire(voucherOf(t, streamId, 3n));
    const raised = { ...wire, claims: wire.claims.map((c) => ({ ...c, ticks: '300' })) };
    expect((await post(app, '/api/tab-vouchers', raised)).status).toBe(401);
  });

  it('a voucher shown for another tab, watch or stream than it names is refused (403 VoucherMismatch)', async () => {
    const v = voucherOf(t, streamId, 3n);
    expect((await post(app, '/api/tab-vouchers', toTabWire(v))).status).toBe(202);
    for (const [path, headers] of [
      [`/whep/${streamId}`, tabHeaders(0, v, t.tabId + 1n)], // another tab
      [`/whep/${streamId}`, tabHeaders(1, v)], // another watch
      [`/whep/${streamId + 1n}`, tabHeaders(0, v)], // another stream
    ] as const) {
      const r = await sdp(path, OFFER, headers);
      expect(r.status, r.text).toBe(403);
      expect(r.json.error).toBe('VoucherMismatch');
    }
    // A new watch signing a cheaper rate than the stream's is refused by name.
    const cheap = t.sign([{ watch: 0, streamId, ratePerSecond: RATE, ticks: 3n }, { watch: 1, streamId, ratePerSecond: RATE - 1n, ticks: 1n }]);
    expect((await post(app, '/api/tab-vouchers', toTabWire(cheap))).json.error).toBe('RateMismatch');
    expect((await sendVoucher(app, t, streamId, 4n)).status).toBe(202);
  });

  it('a flood from one address gets 429 while another address is still served', async () => {
    const flood = await Promise.all(Array.from({ length: 60 }, () => post(app, '/api/tab-vouchers', '{}', { 'X-Forwarded-For': '10.6.6.6' })));
    expect(flood.filter((r) => r.status === 429).length).toBeGreaterThan(30);
    expect(flood.find((r) => r.status === 429)?.json.error).toBe('TooManyRequests');
    expect((await post(app, '/api/tab-vouchers', toTabWire(voucherOf(t, streamId, 5n)), { 'X-Forwarded-For': '10.0.0.2' })).status).toBe(202);
  });
});

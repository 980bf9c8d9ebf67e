/**
 * The relay and the media server's refusals, against the real chain and the built app: a restart
 * mid-stream loses no voucher and charges nothing twice; and one test per attack — each gets a
 * named 4xx, stores nothing, and the server keeps serving.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { SessionKey } from '../../dapp/lib/protocol/voucher.ts';
import { toWire, voucherAuthorization } from '../../dapp/lib/media/wire.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { RATE, join as joinStream, liveStream, type Joined } from '../e2e/protocol-helpers.ts';
import { startApp, type App } from './harness.ts';
import { ownDeploymentFile, streamKey, until, untilChain } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
const dir = scratchDir('relay');
const settings = {
  VILO_RELAY_DB: join(dir, 'relay.sqlite'),
  VILO_SETTLE_INTERVAL_MS: '2000',
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
const ownApp = (extra: Record<string, string>) =>
  startApp(inject('chainUrl'), ownDeploymentFile(), { ...settings, VILO_RELAY_DB: join(scratchDir('relay'), 'relay.sqlite'), ...extra });

const sendVoucher = (app: App, s: Joined, n: bigint) => post(app, '/api/vouchers', toWire(s.voucher(n)));

// Real-time media on a 2-core machine: a test that misses a timing once (a loaded chain or encoder)
// runs once more; vitest reports the retry, and a real regression fails both runs.
describe('relay', { retry: 1 }, () => {
  it('loses no voucher and charges nothing twice across a restart mid-stream (earnings = rate × ticks)', async () => {
    const [bob, dave] = [env.accounts.bob, env.accounts.dave];
    const streamId = await liveStream(env, bob);
    const deposit = RATE * 600n;
    const escrowBefore = (await env.payments.query.escrowOf(dave.address, dave.address)).value;
    const s = await joinStream(env, dave, streamId, deposit);
    const settled = async () => (await env.ticks.query.sessionOf(dave.address, streamId, dave.address)).value?.ticksSettled ?? -1n;

    let app = await startApp(inject('chainUrl'), ownDeploymentFile(), settings);
    try {
      for (let n = 1n; n <= 5n; n++) expect((await sendVoucher(app, s, n)).status).toBe(202);
      await untilChain(env.api, async () => (await settled()) === 5n, 60_000, 'the first settlement');
      // Three more accepted, then the server goes down before its next settlement.
      for (let n = 6n; n <= 8n; n++) expect((await sendVoucher(app, s, n)).status).toBe(202);
      await app.stop();
      expect(await settled()).toBe(5n);

      app = await startApp(inject('chainUrl'), ownDeploymentFile(), settings);
      await untilChain(env.api, async () => (await settled()) === 8n, 60_000, 'the vouchers stored before the restart to be settled');
      // The same count again (a client retrying after the restart) is acknowledged and changes nothing;
      // an older one is refused as stale; new ones go on.
      const again = await sendVoucher(app, s, 8n);
      expect([again.status, again.json.settledTicks]).toEqual([202, '8']);
      expect((await sendVoucher(app, s, 7n)).json.error).toBe('StaleVoucher');
      for (let n = 9n; n <= 10n; n++) expect((await sendVoucher(app, s, n)).status).toBe(202);
      await untilChain(env.api, async () => (await settled()) === 10n, 60_000, 'the last settlement');
      await new Promise((r) => setTimeout(r, 4_500)); // two more relay rounds: nothing more is charged

      expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(10n * RATE);
      expect((await env.payments.query.escrowOf(dave.address, dave.address)).value).toBe(escrowBefore + deposit - 10n * RATE);
      expect((await env.ticks.query.streamTicks(dave.address, streamId)).value).toBe(10n);
    } finally {
      await app.stop();
      await env.ticks.tx.leaveStream(dave, streamId, null, true);
    }
  });

  it('with VILO_SETTLE_MIN_TICKS=5 settles a watching session only every 5 ticks, and its final count once the vouchers stop', async () => {
    const [bob, eve] = [env.accounts.bob, env.accounts.eve];
    const streamId = await liveStream(env, bob);
    const s = await joinStream(env, eve, streamId, RATE * 600n);
    const settled = async () => (await env.ticks.query.sessionOf(eve.address, streamId, eve.address)).value?.ticksSettled ?? -1n;
    const app = await ownApp({ VILO_SETTLE_MIN_TICKS: '5' });
    try {
      for (let n = 1n; n <= 4n; n++) expect((await sendVoucher(app, s, n)).status).toBe(202);
      await new Promise((r) => setTimeout(r, 3_000)); // a relay round (every 2 s) passes: 4 < 5, nothing due
      expect(await settled()).toBe(0n);
      expect((await sendVoucher(app, s, 5n)).status).toBe(202);
      await untilChain(env.api, async () => (await settled()) === 5n, 60_000, 'the settlement at 5 unsettled ticks');
      for (let n = 6n; n <= 7n; n++) expect((await sendVoucher(app, s, n)).status).toBe(202);
      const lastVoucherAt = Date.now();
      await new Promise((r) => setTimeout(r, 3_000)); // 2 unsettled: not due while the vouchers still may come
      expect(await settled()).toBe(5n);
      await untilChain(env.api, async () => (await settled()) === 7n, 60_000, 'the final count, once the vouchers stopped for 5 s');
      expect(Date.now() - lastVoucherAt).toBeGreaterThanOrEqual(4_500);
      expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(7n * RATE);
    } finally {
      await app.stop();
      await env.ticks.tx.leaveStream(eve, streamId, null, true);
    }
  }, 120_000);

  it('drops a voucher whose session ended on chain: one named refusal (NoSession), no resubmission, no charge', async () => {
    const [bob, ferdie] = [env.accounts.bob, env.accounts.ferdie];
    const streamId = await liveStream(env, bob);
    const s = await joinStream(env, ferdie, streamId, RATE * 600n);
    // A slow relay, so the viewer's own leave (with the same final voucher) lands before it settles.
    const app = await ownApp({ VILO_SETTLE_INTERVAL_MS: '8000' });
    try {
      for (let n = 1n; n <= 3n; n++) expect((await sendVoucher(app, s, n)).status).toBe(202);
      await env.ticks.tx.leaveStream(ferdie, streamId, s.voucher(3n), true);
      const refusals = () => app.output().split('\n').filter((l) => l.includes(`/${s.sessionId}@3 refused`));
      await until(async () => refusals().length > 0, 30_000, "the relay's settlement attempt");
      expect(refusals()[0]).toMatch(/refused: NoSession$/);
      await new Promise((r) => setTimeout(r, 17_000)); // two more relay rounds
      expect(refusals()).toHaveLength(1);
      expect((await env.payments.query.earningsOf(ferdie.address, streamId)).value).toBe(3n * RATE);
    } finally {
      await app.stop();
    }
  }, 120_000);
});

describe('attacks: each gets a named 4xx, stores nothing, and others are still served', () => {
  let app: App;
  let streamId: bigint;
  let key: string;
  let s: Joined;
  /** A minimal but well-formed receive-only offer, as a browser would send (for the routes' checks). */
  const OFFER = [
    'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=fingerprint:sha-256 ' + Array(32).fill('AB').join(':'), 'a=setup:actpass', 'a=rtcp-mux', 'a=rtpmap:96 VP8/90000', '',
  ].join('\r\n');

  beforeAll(async () => {
    app = await startApp(inject('chainUrl'), ownDeploymentFile(), { ...settings, VILO_RELAY_DB: join(dir, 'attacks.sqlite'), VILO_RATE_LIMIT: '5,20' });
    streamId = await liveStream(env, env.accounts.bob);
    key = await streamKey(app, env.accounts.bob, streamId);
    s = await joinStream(env, env.accounts.ferdie, streamId, RATE * 600n);
  });
  afterAll(async () => {
    await app?.stop();
    await env.ticks.tx.leaveStream(env.accounts.ferdie, streamId, null, true).catch(() => {});
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
    const big = JSON.stringify({ ...toWire(s.voucher(1n)), pad: 'x'.repeat(10_000) });
    expect((await post(app, '/api/vouchers', big)).status).toBe(413);
    const bigSdp = OFFER + 'a=x-pad:' + 'y'.repeat(40_000) + '\r\n';
    expect((await sdp(`/whip/${streamId}`, bigSdp, { Authorization: `Bearer ${key}` })).status).toBe(413);
  });

  it('an unknown stream gets 404', async () => {
    const r = await sdp(`/whep/987654321`, OFFER, { 'X-Vilo-Viewer': env.accounts.ferdie.address, 'X-Vilo-Session': '1', Authorization: voucherAuthorization(s.voucher(1n)) });
    expect(r.status).toBe(404);
    expect(r.json.error).toBe('StreamNotFound');
    const forOther = SessionKey.generate().sign(env.ticks.address, { streamId: 987654321n, viewer: env.accounts.ferdie.address, sessionId: s.sessionId, cumulativeTicks: 1n });
    const v = await post(app, '/api/vouchers', toWire(forOther));
    expect(v.status).toBe(404);
    expect(v.json.error).toBe('StreamNotFound');
  });

  it('a forged voucher (another key) is refused with 401 BadSignature and not stored', async () => {
    const forged = SessionKey.generate().sign(env.ticks.address, { streamId, viewer: env.accounts.ferdie.address, sessionId: s.sessionId, cumulativeTicks: 500n });
    const r = await post(app, '/api/vouchers', toWire(forged));
    expect(r.status).toBe(401);
    expect(r.json.error).toBe('BadSignature');
    // Had the forged count been stored, this honest lower count would now be stale (409).
    expect((await sendVoucher(app, s, 2n)).status).toBe(202);
    // A real voucher with its count raised after signing is a forgery too.
    const raised = { ...toWire(s.voucher(3n)), cumulativeTicks: '300' };
    expect((await post(app, '/api/vouchers', raised)).status).toBe(401);
  });

  it('a voucher for another viewer or another session is refused', async () => {
    // Ferdie's voucher presented as Eve's media request.
    const asEve = await sdp(`/whep/${streamId}`, OFFER, { 'X-Vilo-Viewer': env.accounts.eve.address, 'X-Vilo-Session': s.sessionId.toString(), Authorization: voucherAuthorization(s.voucher(3n)) });
    expect(asEve.status).toBe(403);
    expect(asEve.json.error).toBe('VoucherMismatch');
    // A voucher naming a session Ferdie does not have (signed by the real key).
    const wrong = s.key.sign(env.ticks.address, { streamId, viewer: env.accounts.ferdie.address, sessionId: s.sessionId + 1000n, cumulativeTicks: 4n });
    const r = await post(app, '/api/vouchers', toWire(wrong));
    expect(r.status).toBe(409);
    expect(r.json.error).toBe('WrongSession');
    // Eve has no session at all: a voucher in her name is refused whoever signed it.
    const eves = s.key.sign(env.ticks.address, { streamId, viewer: env.accounts.eve.address, sessionId: s.sessionId, cumulativeTicks: 4n });
    expect((await post(app, '/api/vouchers', toWire(eves))).json.error).toBe('NotPaying');
    expect((await sendVoucher(app, s, 3n)).status).toBe(202);
  });

  it('a flood from one address gets 429 while another address is still served', async () => {
    const flood = await Promise.all(Array.from({ length: 60 }, () => post(app, '/api/vouchers', '{}', { 'X-Forwarded-For': '10.6.6.6' })));
    expect(flood.filter((r) => r.status === 429).length).toBeGreaterThan(30);
    expect(flood.find((r) => r.status === 429)?.json.error).toBe('TooManyRequests');
    expect((await post(app, '/api/vouchers', toWire(s.voucher(4n)), { 'X-Forwarded-For': '10.0.0.2' })).status).toBe(202);
  });
});

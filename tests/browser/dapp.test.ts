/**
 * The dApp in a real browser (Debian Chromium) against the built app and the local chain, with the
 * test-only injected wallet. Journeys: a viewer opens a tab and pays per second from it; a viewer's
 * tab runs out, and a subscriber watches free; a creator registers, prices, goes live from the
 * camera, sees earnings pending and settled, and withdraws; an RTMP stream over HLS; no wallet.
 * Money is checked on chain through the generated bindings, to the planck.
 */
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, lowPriority, screenshot, startApp, type App } from './harness.ts';
import { requestStreamKey } from './media-page.ts';
import { publisherPage, untilChain } from './media-helpers.ts';
import {
  blockNumber,
  connectWallet as connect,
  freshViewer,
  failing,
  go as goTo,
  number,
  open as openPage,
  poll,
  transfers,
  type Ctx,
} from './dapp-helpers.ts';
import { rtmpEncoderArgs } from './media-clients.ts';
import { freePort } from '../../scripts/chain/launch.ts';
import { spawn } from 'node:child_process';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { liveStream, plan, RATE } from '../e2e/protocol-helpers.ts';
import { openTab } from '../e2e/tab-helpers.ts';
import { toTabWire } from '../../dapp/lib/media/tab-wire.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let browser: Browser;
let rtmpPort: number;
let edgePort: number;

beforeAll(async () => {
  env = await setupEnv();
  // A private copy of the deployment record: another test run on this machine rewrites the shared one.
  const dir = scratchDir('dapp');
  const deployment = join(dir, 'deployment.json');
  writeFileSync(deployment, JSON.stringify(inject('deployment'), (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  app = await startApp(inject('chainUrl'), deployment, {
    VILO_SETTLE_INTERVAL_MS: '2000',
    // A tab is settled 3 s after its vouchers stop (default 60 s), so a journey sees the creator paid.
    VILO_TAB_QUIET_MS: '3000',
    // The relay reads a stream's rate for each new watch (by default it may take one read within a
    // minute), so the journey where the price changes just before Watch meets a relay that knows it.
    VILO_RATE_MAX_AGE_MS: '0',
    VILO_RELAY_DB: join(dir, 'relay.sqlite'),
    VILO_ICE_HOSTS: '127.0.0.1',
    VILO_RTMP_PORT: String((rtmpPort = await freePort())),
    // RTMP streams' HLS comes from the signed-URL edge, whose URLs last 4 s: a watch renews them.
    VILO_HLS_EDGE_PORT: String((edgePort = await freePort())),
    VILO_HLS_EDGE_TTL_S: '4',
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  if (app) {
    mkdirSync(join(ARTIFACTS), { recursive: true });
    writeFileSync(join(ARTIFACTS, 'dapp-server.log'), app.output());
  }
  await env?.api.disconnect();
});

const s = () => ({ browser, env, app });
const open = (accounts: { uri: string; name: string }[] | null) => openPage(s(), accounts);
const go = (page: Page, path: string) => goTo(app, page, path);
const connectWallet = (c: Ctx, name: string) => connect(app, c, name);

// Real-time media on a 2-core machine: a test that misses a timing once (a loaded chain or encoder)
// runs once more; vitest reports the retry, and a real regression fails both runs.
describe('dApp in Chromium', { retry: 1 }, () => {
  it('a viewer connects, signs in, opens a tab with one approval, pays rate × N, reloads, tops up, stops; the relay pays the creator', async () => {
    const { eve } = env.accounts;
    const streamId = await liveStream(env, eve, plan({ tiers: [{ price: RATE * 3_600n, periodMs: 86_400_000n }] }));
    await env.registry.tx.updateStream(eve, streamId, { title: `Evening jazz ${streamId}`, description: 'Piano trio, live from the club', category: 'music', thumbnailCid: null });
    const dana = await freshViewer(env, 'Dana');

    // The creator goes live from the browser camera, so the viewer gets real video.
    const creator = await open([{ uri: '//Eve', name: 'Eve' }]);
    await connectWallet(creator, 'Eve');
    await go(creator.page, `/creator/${streamId}`);
    await creator.page.getByRole('button', { name: 'Go live from camera' }).click();
    await creator.page.getByTestId('preview').waitFor({ timeout: 30_000 });
    expect(creator.wallet!.requests.map((r) => r.kind)).toEqual(['raw']); // the stream-key request only

    const v = await open([{ uri: dana.uri, name: dana.name }]);
    await connectWallet(v, 'Dana');
    await v.page.getByRole('button', { name: 'Sign in with this account' }).click();
    await v.page.getByTestId('signed-in').waitFor();
    expect(v.wallet!.requests).toHaveLength(1);
    expect(v.wallet!.requests[0].kind).toBe('raw');
    expect((await v.context.cookies()).find((c) => c.name === 'vilo_session')?.httpOnly).toBe(true);
    await screenshot(v.page, 'wallet');

    await go(v.page, '/');
    await v.page.locator(`[data-stream-id="${streamId}"]`).waitFor();
    await v.page.getByTestId('search').fill('jazz piano');
    await poll(() => v.page.locator(`[data-stream-id="${streamId}"]`).count()).toBe(1);
    // The card shows a picture the media server took from the camera's video (named by its CID).
    const picture = v.page.locator(`[data-stream-id="${streamId}"] [data-testid="thumbnail-picture"]`);
    await poll(async () => (await picture.count()) && picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 30_000 }).toBe(480);
    expect(await picture.getAttribute('src')).toBe(`/thumbs/${await picture.getAttribute('data-cid')}.jpg`);
    await screenshot(v.page, 'discover');

    const earnings0 = (await env.payments.query.earningsOf(dana.address, streamId)).value;
    await go(v.page, `/watch/${streamId}`);
    // Before watching, the page says where the money goes (rate, the creator's share, the tab).
    expect(await v.page.getByTestId('where-money-goes').textContent()).toContain('to the creator');
    await v.page.getByTestId('tab-deposit').fill('0.0006'); // 600 s at 1 µUNIT/s
    const before = v.wallet!.requests.length;
    await v.page.getByRole('button', { name: 'Open a tab and watch' }).click();
    await v.page.getByTestId('tab-meter').waitFor({ timeout: 30_000 });
    // ONE approval: the tab (deposit + session key). The watch itself is signed by the tab's key.
    expect(v.wallet!.requests.slice(before).map((r) => r.kind)).toEqual(['payload']);
    const tab = (await env.ticks.query.tabOf(dana.address, dana.address)).value!;
    expect(tab.balance).toBe(RATE * 600n);

    // Watch: the meter ticks each second and the cost is ticks × rate.
    await poll(async () => number(v.page, 'tab-meter', 'data-ticks'), { timeout: 30_000 }).toBeGreaterThanOrEqual(8n);
    const ticks = await number(v.page, 'tab-meter', 'data-ticks');
    const spent = await number(v.page, 'tab-meter', 'data-spent');
    expect(spent % RATE).toBe(0n);
    expect(spent / RATE).toBeGreaterThanOrEqual(ticks - 1n); // read one attribute after the other
    await v.page.getByTestId('video').waitFor({ timeout: 20_000 });
    await poll(() => v.page.getByTestId('video').evaluate((el: HTMLVideoElement) => el.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);
    await screenshot(v.page, 'watch');

    // A reload goes on with the same watch: no wallet request, the count goes on from where it was.
    const requestsBeforeReload = v.wallet!.requests.length;
    const ticksBeforeReload = await number(v.page, 'tab-meter', 'data-ticks');
    await v.page.reload();
    await v.page.locator('html[data-ready="true"]').waitFor();
    await v.page.getByTestId('tab-meter').waitFor({ timeout: 30_000 });
    await poll(async () => number(v.page, 'tab-meter', 'data-ticks'), { timeout: 30_000 }).toBeGreaterThan(ticksBeforeReload + 1n);
    expect(v.wallet!.requests.length).toBe(requestsBeforeReload);
    await v.page.getByTestId('video').waitFor({ timeout: 20_000 });

    // Top up the tab: one approval, and the balance grows by exactly that.
    await v.page.getByTestId('topup-amount').fill('0.0003');
    await v.page.getByRole('button', { name: 'Top up' }).click();
    await poll(() => v.page.getByTestId('tx').first().getAttribute('data-status'), { timeout: 30_000 }).toMatch(/inBlock|finalized/);
    expect(v.wallet!.requests.slice(before).map((r) => r.kind)).toEqual(['payload', 'payload']);

    // Stop: nothing more is signed; the relay settles the watch once its vouchers stop (quiet), and
    // the creator is paid rate × the seconds signed, less the platform fee, to the planck.
    await v.page.getByRole('button', { name: 'Stop watching' }).click();
    await poll(() => v.page.getByTestId('tab-meter').count()).toBe(0);
    let watch: { settled: bigint; terms: { ratePerSecond: bigint } } | undefined;
    await untilChain(
      env.api,
      async () => !!(watch = (await env.ticks.query.tabOf(dana.address, dana.address)).value?.watches.find((w) => w.terms.streamId === streamId && w.settled >= ticks)),
      60_000,
      () => `the relay to settle the stopped watch (server: ${app.output().slice(-800)})`,
    );
    const n = watch!.settled;
    const feeBps = BigInt((await env.payments.query.feeBps(dana.address)).value);
    const charged = RATE * n;
    expect((await env.payments.query.earningsOf(dana.address, streamId)).value - earnings0).toBe(charged - (charged * feeBps) / 10_000n);
    expect((await env.ticks.query.tabOf(dana.address, dana.address)).value!.balance).toBe(RATE * 900n - charged);
    await screenshot(v.page, 'watch-stopped');

    // The creator doubles the price while the page still shows the old one (it reads the rate every
    // 3 s and a watch begins at the rate it shows, without reading it again): the relay, which reads
    // the rate here, refuses a watch at a stale rate, and the page begins it again at the one in
    // force, with no error shown.
    await env.pricing.tx.setPricePlan(eve, streamId, plan({ ratePerSecond: RATE * 2n, tiers: [{ price: RATE * 3_600n, periodMs: 86_400_000n }] }));
    await v.page.getByTestId('watch-from-tab').click();
    await poll(async () => number(v.page, 'tab-meter', 'data-ticks'), { timeout: 30_000 }).toBeGreaterThanOrEqual(3n);
    const spentAtNewRate = await number(v.page, 'tab-meter', 'data-spent');
    expect(spentAtNewRate % (RATE * 2n)).toBe(0n);
    expect(spentAtNewRate).toBeGreaterThanOrEqual(RATE * 2n * 3n);
    expect(await v.page.getByTestId('tab-notice').count()).toBe(0);
    await v.page.getByRole('button', { name: 'Stop watching' }).click();

    await creator.page.getByRole('button', { name: 'Stop camera' }).click();
    // The only errors the page met: the refusal of the watch begun at the stale rate — of its first
    // voucher, and of the video asked with that voucher while the relay checked it — at most once each.
    const refusals = failing(v.errors).filter((e) => /status of 409 \(Conflict\) \(http:\/\/[^)]*\/(api\/tab-vouchers|whep\/\d+)\)$/.test(e));
    expect(refusals.filter((e) => e.includes('/api/tab-vouchers')).length).toBeLessThanOrEqual(1);
    expect(refusals.filter((e) => e.includes('/whep/')).length).toBeLessThanOrEqual(1);
    expect(failing(v.errors).filter((e) => !refusals.includes(e))).toEqual([]);
    expect(failing(creator.errors)).toEqual([]);
    await v.context.close();
    await creator.context.close();
  }, 300_000);

  it("pauses a viewer whose tab is used up, settles from the viewer's own wallet, and a subscriber watches free", async () => {
    const { eve } = env.accounts;
    const tier = { price: RATE * 3_600n, periodMs: 86_400_000n };
    const streamId = await liveStream(env, eve, plan({ tiers: [tier] }));
    const fay = await freshViewer(env, 'Fay');
    // Watching is offered only while a publisher is sending (live.test.ts).
    const publisher = await publisherPage(browser, app, streamId, await requestStreamKey(app, eve, streamId));
    onTestFailed(async () => void (await publisher.context().close().catch(() => {})));
    const v = await open([{ uri: fay.uri, name: fay.name }]);
    await connectWallet(v, 'Fay');
    await go(v.page, `/watch/${streamId}`);
    await v.page.getByTestId('tab-deposit').fill('0.000005'); // five seconds at 1 µUNIT/s
    await v.page.getByRole('button', { name: 'Open a tab and watch' }).click();
    await v.page.getByTestId('tab-meter').waitFor({ timeout: 30_000 });
    await poll(() => v.page.getByTestId('tab-meter').getAttribute('data-phase'), { timeout: 30_000 }).toBe('stopped');
    expect(await number(v.page, 'tab-meter', 'data-ticks')).toBe(5n);
    expect(await v.page.getByTestId('runway').textContent()).toContain('your tab is used up');
    await screenshot(v.page, 'watch-runway-ended');
    // No more seconds are signed: the count stays at five.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await number(v.page, 'tab-meter', 'data-ticks')).toBe(5n);

    const tabId = (await env.ticks.query.tabOf(fay.address, fay.address)).value!.id;
    const watchOf = async () => (await env.ticks.query.tab(fay.address, tabId)).value!.watches.find((w) => w.terms.streamId === streamId);
    const earnings0 = (await env.payments.query.earningsOf(fay.address, streamId)).value;
    await v.page.getByTestId('tab-settle-now').click();
    await poll(async () => (await watchOf())?.settled, { timeout: 30_000 }).toBe(5n);
    expect((await env.ticks.query.tab(fay.address, tabId)).value!.balance).toBe(0n);
    const feeBps = BigInt((await env.payments.query.feeBps(fay.address)).value);
    const afterFee = (x: bigint) => x - (x * feeBps) / 10_000n;
    expect((await env.payments.query.earningsOf(fay.address, streamId)).value - earnings0).toBe(afterFee(RATE * 5n));

    // A subscription: the watch goes on as a new one at no rate; seconds are signed, nothing charged.
    await v.page.getByRole('button', { name: 'Buy tier 1' }).click();
    await v.page.getByTestId('subscribed').waitFor({ timeout: 30_000 });
    expect((await env.payments.query.hasSubscription(fay.address, fay.address, streamId)).value).toBe(true);
    await poll(() => v.page.getByTestId('tab-meter').getAttribute('data-phase'), { timeout: 30_000 }).toBe('watching');
    await poll(async () => number(v.page, 'tab-meter', 'data-ticks')).toBeGreaterThanOrEqual(3n);
    expect(await number(v.page, 'tab-meter', 'data-spent')).toBe(0n); // the meter agrees: free
    expect(await v.page.getByTestId('runway').textContent()).toContain('Subscribed');
    await v.page.getByTestId('video').waitFor({ timeout: 20_000 });
    await v.page.getByTestId('tab-settle-now').click();
    await poll(async () => (await env.ticks.query.tab(fay.address, tabId)).value!.watches.some((w) => w.terms.streamId === streamId && w.terms.ratePerSecond === 0n && w.settled >= 3n)).toBe(true);
    // The creator got the tier's price and the five paid seconds; the tab paid nothing more.
    expect((await env.payments.query.earningsOf(fay.address, streamId)).value - earnings0).toBe(afterFee(RATE * 5n) + afterFee(tier.price));
    expect((await env.ticks.query.tab(fay.address, tabId)).value!.balance).toBe(0n);
    await screenshot(v.page, 'watch-subscribed');
    expect(failing(v.errors)).toEqual([]);
    await v.context.close();
    await publisher.context().close();
  }, 240_000);

  it('a creator registers a stream, prices it, gets a stream key and withdraws earnings', async () => {
    const { bob } = env.accounts;
    const dave = (await freshViewer(env, 'Cy')).pair;
    const c = await open([{ uri: '//Bob', name: 'Bob' }]);
    await connectWallet(c, 'Bob');
    await go(c.page, `/creator`);
    await c.page.getByTestId('title').fill('Rust live coding');
    await c.page.getByTestId('category').fill('Coding');
    await c.page.getByTestId('rate').fill('0.00012'); // 2 µUNIT per second
    await c.page.getByTestId('tier-0-price').fill('1.5');
    await c.page.getByTestId('tier-0-days').fill('30');
    await screenshot(c.page, 'creator-register');
    await c.page.getByRole('button', { name: 'Register stream' }).click();
    await c.page.waitForURL(/\/creator\/\d+$/, { timeout: 60_000 });
    const streamId = BigInt(c.page.url().split('/').pop()!);
    expect(c.wallet!.requests.map((r) => r.kind)).toEqual(['payload', 'payload', 'payload']);
    const stream = (await env.registry.query.getStream(bob.address, streamId)).value!;
    expect(stream).toMatchObject({ creator: bob.address, title: 'Rust live coding', category: 'coding', live: true });
    expect((await env.pricing.query.pricePlan(bob.address, streamId)).value).toMatchObject({
      ratePerSecond: 2_000_000n,
      tiers: [{ price: 1_500_000_000_000n, periodMs: 30n * 86_400_000n }],
    });

    // A stream key for OBS, shown once, with the WHIP URL.
    await c.page.getByRole('button', { name: 'Create stream key' }).click();
    await poll(() => c.page.getByTestId('stream-key').textContent()).toMatch(/^vk_/);
    expect(await c.page.getByTestId('whip-url').textContent()).toBe(`${app.url}/whip/${streamId}`);

    // A viewer's tab signs 30 seconds of this stream to the relay: the studio shows them pending;
    // the relay settles once the viewer's vouchers stop, and the studio shows the earnings.
    const { relay } = (await (await fetch(`${app.url}/api/tabs/relay`)).json()) as { relay: string };
    const viewer = await openTab({ ticks: env.ticks, payments: env.payments, genesisHash: env.api.genesisHash.toHex() }, dave, relay, 2_000_000n * 100n);
    const voucher = viewer.sign([{ watch: 0, streamId, ratePerSecond: 2_000_000n, ticks: 30n }]);
    const posted = await fetch(`${app.url}/api/tab-vouchers`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(toTabWire(voucher)) });
    expect(posted.status, await posted.clone().text()).toBe(202);
    const charged = 2_000_000n * 30n;
    await poll(async () => number(c.page, 'pending', 'data-plancks'), { timeout: 20_000 }).toBe(charged);
    await screenshot(c.page, 'creator-studio-pending');
    const feeBps = BigInt((await env.payments.query.feeBps(bob.address)).value);
    const earned = charged - (charged * feeBps) / 10_000n;
    await poll(async () => number(c.page, 'earnings', 'data-plancks'), { timeout: 60_000 }).toBe(earned);
    await poll(async () => number(c.page, 'pending', 'data-plancks'), { timeout: 20_000 }).toBe(0n);
    await screenshot(c.page, 'creator-studio');
    // The tab stays open for other tests' streams to be none of its business: close it.
    await env.ticks.tx.closeTab(dave, viewer.tabId);

    const block0 = await blockNumber(env.api);
    await c.page.getByRole('button', { name: 'Withdraw earnings' }).click();
    await c.page.getByTestId('withdrawn').waitFor({ timeout: 30_000 });
    expect(await transfers(env.api, env.payments.address, bob.address, block0)).toEqual([earned]);
    expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(0n);

    // A profile: the name viewers see beside the stream on Discover and the watch page, with the
    // address it belongs to (a name is anyone's to choose).
    await go(c.page, '/creator');
    await c.page.getByTestId('profile-name').fill("Bob's workshop");
    await c.page.getByRole('button', { name: /^(Set|Save) profile$/ }).click();
    await poll(async () => (await env.registry.query.profileOf(bob.address, bob.address)).value?.name, { timeout: 30_000 }).toBe("Bob's workshop");
    await go(c.page, '/');
    const card = c.page.locator(`[data-stream-id="${streamId}"]`);
    await poll(() => card.getByTestId('creator-name').textContent(), { timeout: 20_000 }).toBe("Bob's workshop");
    expect(await card.getByTestId('creator').getAttribute('title')).toBe(bob.address);
    await go(c.page, `/watch/${streamId}`);
    await poll(() => c.page.getByTestId('creator-name').textContent(), { timeout: 20_000 }).toBe("Bob's workshop");
    await screenshot(c.page, 'watch-creator-profile');
    expect(failing(c.errors)).toEqual([]);
    await c.context.close();
  }, 300_000);

  it('a viewer watches a stream its creator sends over RTMP (OBS without WHIP): HLS in the watch page from the signed-URL edge, paid by the tab', async () => {
    const { charlie } = env.accounts;
    const streamId = await liveStream(env, charlie);
    const key = await requestStreamKey(app, charlie, streamId);
    const encoder = lowPriority(spawn('ffmpeg', rtmpEncoderArgs(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`, 120), { stdio: 'ignore' }));
    try {
      const hal = await freshViewer(env, 'Hal');
      await poll(async () => ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { hls: boolean }).hls).toBe(true);
      const v = await open([{ uri: hal.uri, name: hal.name }]);
      const fetched: string[] = [];
      v.page.on('request', (r) => void (/\.(ts|m3u8)$/.test(r.url()) && fetched.push(r.url())));
      await connectWallet(v, 'Hal');
      await go(v.page, `/watch/${streamId}`);
      await v.page.getByTestId('tab-deposit').fill('0.0006');
      await v.page.getByRole('button', { name: 'Open a tab and watch' }).click();
      await v.page.getByTestId('tab-meter').waitFor({ timeout: 30_000 });
      const video = v.page.getByTestId('video');
      await video.waitFor({ timeout: 30_000 });
      // hls.js plays through Media Source Extensions: the picture has a size and time moves on.
      await poll(() => video.evaluate((el: HTMLVideoElement) => el.videoWidth), { timeout: 30_000 }).toBe(640);
      const t0 = await video.evaluate((el: HTMLVideoElement) => el.currentTime);
      await poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), { timeout: 15_000 }).toBeGreaterThan(t0 + 2);
      expect(await number(v.page, 'tab-meter', 'data-ticks')).toBeGreaterThan(0n);
      // Every playlist and fragment came from the edge, none from the media server; and the page
      // renewed its signed prefix (4 s each) while it played: past the first one's life, it plays on.
      expect(fetched.length).toBeGreaterThan(0);
      expect(fetched.filter((u) => !u.startsWith(`http://127.0.0.1:${edgePort}/edge/`))).toEqual([]);
      const prefixes = () => new Set(fetched.map((u) => new URL(u).pathname.split('/')[2]));
      await poll(() => prefixes().size, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
      const t1 = await video.evaluate((el: HTMLVideoElement) => el.currentTime);
      await poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), { timeout: 10_000 }).toBeGreaterThan(t1 + 2);
      await screenshot(v.page, 'watch-hls');
      await v.page.getByRole('button', { name: 'Stop watching' }).click();
      await poll(() => v.page.getByTestId('video').count()).toBe(0);
      expect(failing(v.errors)).toEqual([]);
      await v.context.close();
    } finally {
      encoder.kill('SIGKILL');
    }
  }, 180_000);

  it('without a wallet, says what to install', async () => {
    const c = await open(null);
    await go(c.page, `/wallet`);
    await c.page.getByRole('button', { name: 'Connect wallet' }).click();
    await c.page.getByTestId('install-wallet').waitFor();
    const text = await c.page.getByTestId('install-wallet').textContent();
    for (const w of ['Polkadot.js extension', 'Talisman', 'SubWallet', 'Nova Wallet']) expect(text).toContain(w);
    // On this local dev chain (only), the well-known dev accounts are offered, clearly marked.
    await c.page.getByRole('heading', { name: 'Development accounts' }).waitFor();
    await screenshot(c.page, 'no-wallet');
    await c.page.getByRole('button', { name: 'Use development accounts' }).click();
    const alice = c.page.getByRole('radio', { name: /Alice \(dev account\)/ });
    await alice.check();
    expect(await c.page.locator('label.account', { has: alice }).textContent()).toContain('development account · local chain only');
    expect(failing(c.errors)).toEqual([]);
    await c.context.close();
  });
});

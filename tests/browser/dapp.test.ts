/**
 * The dApp in a real browser (Debian Chromium) against the built app and the local chain, with the
 * test-only injected wallet. Journeys: a viewer pays per second and leaves with the refund; a viewer's
 * runway ends; a creator registers, prices, goes live from the camera and withdraws; no wallet.
 * Money is checked on chain through the generated bindings, to the planck.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser, lowPriority, screenshot, startApp, type App } from './harness.ts';
import { requestStreamKey } from './media-page.ts';
import { publisherPage } from './media-helpers.ts';
import {
  blockNumber,
  connectWallet as connect,
  emptyEscrow as empty,
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
import { join as joinStream, liveStream, plan, RATE } from '../e2e/protocol-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let browser: Browser;
let rtmpPort: number;

beforeAll(async () => {
  env = await setupEnv();
  // A private copy of the deployment record: another test run on this machine rewrites the shared one.
  const dir = scratchDir('dapp');
  const deployment = join(dir, 'deployment.json');
  writeFileSync(deployment, JSON.stringify(inject('deployment'), (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  app = await startApp(inject('chainUrl'), deployment, {
    VILO_SETTLE_INTERVAL_MS: '2000',
    VILO_RELAY_DB: join(dir, 'relay.sqlite'),
    VILO_ICE_HOSTS: '127.0.0.1',
    VILO_RTMP_PORT: String((rtmpPort = await freePort())),
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
const emptyEscrow = (who: Env['accounts']['dave']) => empty(env, who);

// Real-time media on a 2-core machine: a test that misses a timing once (a loaded chain or encoder)
// runs once more; vitest reports the retry, and a real regression fails both runs.
describe('dApp in Chromium', { retry: 1 }, () => {
  it('a viewer connects, signs in, joins with one approval, pays rate × N, tops up, leaves with the refund', async () => {
    const { alice, dave, eve } = env.accounts;
    void alice;
    const streamId = await liveStream(env, eve, plan({ tiers: [{ price: RATE * 3_600n, periodMs: 86_400_000n }] }));
    await env.registry.tx.updateStream(eve, streamId, { title: `Evening jazz ${streamId}`, description: 'Piano trio, live from the club', category: 'music', thumbnailCid: null });
    await emptyEscrow(dave);

    // The creator goes live from the browser camera, so the viewer gets real video.
    const creator = await open([{ uri: '//Eve', name: 'Eve' }]);
    await connectWallet(creator, 'Eve');
    await go(creator.page, `/creator/${streamId}`);
    await creator.page.getByRole('button', { name: 'Go live from camera' }).click();
    await creator.page.getByTestId('preview').waitFor({ timeout: 30_000 });
    expect(creator.wallet!.requests.map((r) => r.kind)).toEqual(['raw']); // the stream-key request only

    const v = await open([{ uri: '//Dave', name: 'Dave' }]);
    await connectWallet(v, 'Dave');
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
    await screenshot(v.page, 'discover');

    const earnings0 = (await env.payments.query.earningsOf(dave.address, streamId)).value;
    const ticks0 = (await env.ticks.query.viewerTicks(dave.address, streamId, dave.address)).value;
    const block0 = await blockNumber(env.api);
    const deposit = RATE * 600n;
    await go(v.page, `/watch/${streamId}`);
    await v.page.getByTestId('deposit').fill('0.0006');
    const before = v.wallet!.requests.length;
    await v.page.getByRole('button', { name: 'Join and watch' }).click();
    await v.page.getByTestId('meter').waitFor({ timeout: 30_000 });
    // ONE approval for deposit + session key + locked rate.
    expect(v.wallet!.requests.slice(before).map((r) => r.kind)).toEqual(['payload']);

    // Watch: the meter ticks each second and the cost is ticks × rate.
    await poll(async () => number(v.page, 'meter', 'data-ticks'), { timeout: 30_000 }).toBeGreaterThanOrEqual(8n);
    const ticks = await number(v.page, 'meter', 'data-ticks');
    const spent = await number(v.page, 'meter', 'data-spent');
    expect(spent % RATE).toBe(0n);
    expect(spent / RATE).toBeGreaterThanOrEqual(ticks - 1n); // read one attribute after the other
    await v.page.getByTestId('video').waitFor({ timeout: 20_000 });
    await poll(() => v.page.getByTestId('video').evaluate((el: HTMLVideoElement) => el.videoWidth), { timeout: 20_000 }).toBeGreaterThan(0);
    // The relay settles every 2 s: earnings move on chain while watching.
    await poll(async () => (await env.payments.query.earningsOf(dave.address, streamId)).value, { timeout: 20_000 }).toBeGreaterThan(earnings0);
    await screenshot(v.page, 'watch');

    // A reload resumes the same session from sessionStorage: no wallet request, the count goes on.
    const requestsBeforeReload = v.wallet!.requests.length;
    const ticksBeforeReload = await number(v.page, 'meter', 'data-ticks');
    await v.page.reload();
    await v.page.locator('html[data-ready="true"]').waitFor();
    await v.page.getByTestId('meter').waitFor({ timeout: 30_000 });
    await poll(async () => number(v.page, 'meter', 'data-ticks'), { timeout: 30_000 }).toBeGreaterThan(ticksBeforeReload + 1n);
    expect(v.wallet!.requests.length).toBe(requestsBeforeReload);

    // Top up.
    await v.page.getByTestId('topup-amount').fill('0.0003');
    await v.page.getByRole('button', { name: 'Top up' }).click();
    await poll(() => v.page.getByTestId('tx').first().getAttribute('data-status'), { timeout: 30_000 }).toMatch(/inBlock|finalized/);
    expect(v.wallet!.requests.slice(before).map((r) => r.kind)).toEqual(['payload', 'payload']);

    // Leave: the final voucher settles the rest; the unspent escrow comes back.
    await v.page.getByRole('button', { name: 'Leave and refund' }).click();
    await v.page.getByTestId('refund').waitFor({ timeout: 30_000 });
    const n = (await env.ticks.query.viewerTicks(dave.address, streamId, dave.address)).value - ticks0;
    expect(n).toBeGreaterThanOrEqual(ticks);
    expect((await env.payments.query.earningsOf(dave.address, streamId)).value - earnings0).toBe(RATE * n);
    const refund = deposit + RATE * 300n - RATE * n;
    expect((await env.payments.query.escrowOf(dave.address, dave.address)).value).toBe(0n);
    expect(await transfers(env.api, env.payments.address, dave.address, block0)).toEqual([refund]);
    expect(await v.page.getByTestId('refund').textContent()).toContain(String(Number(refund) / 1e12).replace(/0+$/, ''));
    expect((await env.ticks.query.sessionOf(dave.address, streamId, dave.address)).value).toBeNull();
    await screenshot(v.page, 'watch-left');

    await creator.page.getByRole('button', { name: 'Stop camera' }).click();
    expect(failing(v.errors)).toEqual([]);
    expect(failing(creator.errors)).toEqual([]);
    await v.context.close();
    await creator.context.close();
  }, 300_000);

  it("stops a viewer whose runway ends, and settles from the viewer's own wallet", async () => {
    const { eve, ferdie } = env.accounts;
    const tier = { price: RATE * 3_600n, periodMs: 86_400_000n };
    const streamId = await liveStream(env, eve, plan({ tiers: [tier] }));
    await emptyEscrow(ferdie);
    // Joining is offered only while a publisher is sending (live.test.ts).
    const publisher = await publisherPage(browser, app, streamId, await requestStreamKey(app, eve, streamId));
    const v = await open([{ uri: '//Ferdie', name: 'Ferdie' }]);
    await connectWallet(v, 'Ferdie');
    await go(v.page, `/watch/${streamId}`);
    await v.page.getByTestId('deposit').fill('0.000005'); // five seconds at 1 µUNIT/s
    await v.page.getByRole('button', { name: 'Join and watch' }).click();
    await v.page.getByTestId('meter').waitFor({ timeout: 30_000 });
    await poll(() => v.page.getByTestId('meter').getAttribute('data-phase'), { timeout: 30_000 }).toBe('stopped');
    expect(await number(v.page, 'meter', 'data-ticks')).toBe(5n);
    expect(await v.page.getByTestId('runway').textContent()).toContain('your deposit is used up');
    await screenshot(v.page, 'watch-runway-ended');
    // No more vouchers: the count stays at five.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await number(v.page, 'meter', 'data-ticks')).toBe(5n);

    await v.page.getByRole('button', { name: 'Settle now' }).click();
    await poll(async () => (await env.ticks.query.viewerTicks(ferdie.address, streamId, ferdie.address)).value, { timeout: 30_000 }).toBe(5n);
    expect((await env.payments.query.escrowOf(ferdie.address, ferdie.address)).value).toBe(0n);
    expect((await env.payments.query.earningsOf(ferdie.address, streamId)).value).toBe(RATE * 5n);

    // A subscription: while it lasts the seconds are recorded and nothing is charged per second.
    await v.page.getByRole('button', { name: 'Buy tier 1' }).click();
    await v.page.getByTestId('subscribed').waitFor({ timeout: 30_000 });
    expect((await env.payments.query.hasSubscription(ferdie.address, ferdie.address, streamId)).value).toBe(true);
    await poll(() => v.page.getByTestId('meter').getAttribute('data-phase'), { timeout: 30_000 }).toBe('watching');
    await poll(async () => number(v.page, 'meter', 'data-ticks')).toBeGreaterThanOrEqual(8n);
    await v.page.getByRole('button', { name: 'Settle now' }).click();
    await poll(async () => (await env.ticks.query.viewerTicks(ferdie.address, streamId, ferdie.address)).value).toBeGreaterThanOrEqual(8n);
    expect((await env.payments.query.earningsOf(ferdie.address, streamId)).value).toBe(RATE * 5n + tier.price);
    expect((await env.payments.query.escrowOf(ferdie.address, ferdie.address)).value).toBe(0n);
    expect(await number(v.page, 'meter', 'data-spent')).toBe(RATE * 5n); // the meter agrees
    await screenshot(v.page, 'watch-subscribed');
    expect(failing(v.errors)).toEqual([]);
    await v.context.close();
    await publisher.context().close();
  }, 240_000);

  it('a creator registers a stream, prices it, gets a stream key and withdraws earnings', async () => {
    const { bob, dave } = env.accounts;
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

    // A viewer watches 30 seconds (settled through the bindings); the studio shows the earnings.
    await emptyEscrow(dave);
    const j = await joinStream(env, dave, streamId, 2_000_000n * 100n, 2_000_000n);
    await env.ticks.tx.leaveStream(dave, streamId, j.voucher(30n), true);
    const earned = 2_000_000n * 30n;
    await poll(async () => number(c.page, 'earnings', 'data-plancks'), { timeout: 20_000 }).toBe(earned);
    await screenshot(c.page, 'creator-studio');

    const block0 = await blockNumber(env.api);
    await c.page.getByRole('button', { name: 'Withdraw earnings' }).click();
    await c.page.getByTestId('withdrawn').waitFor({ timeout: 30_000 });
    expect(await transfers(env.api, env.payments.address, bob.address, block0)).toEqual([earned]);
    expect((await env.payments.query.earningsOf(bob.address, streamId)).value).toBe(0n);
    expect(failing(c.errors)).toEqual([]);
    await c.context.close();
  }, 240_000);

  it('a viewer watches a stream its creator sends over RTMP (OBS without WHIP): HLS in the watch page', async () => {
    const { charlie, dave } = env.accounts;
    const streamId = await liveStream(env, charlie);
    const key = await requestStreamKey(app, charlie, streamId);
    const encoder = lowPriority(spawn('ffmpeg', rtmpEncoderArgs(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`, 120), { stdio: 'ignore' }));
    try {
      await emptyEscrow(dave);
      await poll(async () => ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { hls: boolean }).hls).toBe(true);
      const v = await open([{ uri: '//Dave', name: 'Dave' }]);
      await connectWallet(v, 'Dave');
      await go(v.page, `/watch/${streamId}`);
      await v.page.getByTestId('deposit').fill('0.0006');
      await v.page.getByRole('button', { name: 'Join and watch' }).click();
      await v.page.getByTestId('meter').waitFor({ timeout: 30_000 });
      const video = v.page.getByTestId('video');
      await video.waitFor({ timeout: 30_000 });
      // hls.js plays through Media Source Extensions: the picture has a size and time moves on.
      await poll(() => video.evaluate((el: HTMLVideoElement) => el.videoWidth), { timeout: 30_000 }).toBe(640);
      const t0 = await video.evaluate((el: HTMLVideoElement) => el.currentTime);
      await poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), { timeout: 15_000 }).toBeGreaterThan(t0 + 2);
      await screenshot(v.page, 'watch-hls');
      await v.page.getByRole('button', { name: 'Leave and refund' }).click();
      await v.page.getByTestId('refund').waitFor({ timeout: 30_000 });
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

/**
 * "Live" means a publisher is sending (issue 13): Discover and the watch page follow the media
 * server, not only the registry's flag. When the creator's tab closes, the stream shows
 * "Reconnecting…", no new watch is offered (a sentence says why), and an open watch stops signing (so
 * stops paying) until the publisher is back. A tab whose browser is gone is closed from another
 * browser, and its rest comes back after the dispute window, to the planck.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, startApp, type App } from './harness.ts';
import { ownDeploymentFile, publisherPage, streamKey, untilChain } from './media-helpers.ts';
import { blockNumber, connectWallet, failing, freshViewer, go, number, open, poll, transfers } from './dapp-helpers.ts';
import { passChainTime } from '../e2e/tab-helpers.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { liveStream, RATE } from '../e2e/protocol-helpers.ts';
import { scratchDir } from '../scratch.ts';
import { formatBalance } from '../../dapp/lib/format/money.ts';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import type { KeyringPair } from '@polkadot/keyring/types';

let env: Env;
let app: App;
let browser: Browser;
const s = () => ({ browser, env, app });

beforeAll(async () => {
  env = await setupEnv();
  app = await startApp(inject('chainUrl'), ownDeploymentFile(), {
    VILO_SETTLE_INTERVAL_MS: '2000',
    // A tab is settled 3 s after its vouchers stop (default 60 s): the pause is paid for at once.
    VILO_TAB_QUIET_MS: '3000',
    VILO_RELAY_DB: join(scratchDir('live'), 'relay.sqlite'),
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await env?.api.disconnect();
});

/** What POST /whip answers `key` with a non-SDP body: 400 once the key is accepted, 401 if not. */
const whipAnswer = async (streamId: bigint, key: string) => {
  const res = await fetch(`${app.url}/whip/${streamId}`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/sdp' }, body: 'not sdp' });
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
};
const whipWith = async (streamId: bigint, key: string) => (await whipAnswer(streamId, key)).status;

/** The studio's camera credential: the creator's wallet signature of a publish request. */
const publishToken = (who: KeyringPair, streamId: bigint, timestamp = Date.now(), signedStream = streamId) =>
  `creator.${who.address}.${timestamp}.${u8aToHex(who.sign(stringToU8a(`vilokanam:publish:${signedStream}:${timestamp}`)))}`;

const onAirBadge = (page: Page, streamId: bigint) => page.locator(`[data-stream-id="${streamId}"] [data-testid="on-air"]`);
/** Buttons that would start watching (from a tab, or opening one). */
const watchButtons = async (page: Page) => (await page.getByTestId('watch-from-tab').count()) + (await page.getByTestId('open-and-watch').count());

describe('live is true', { retry: 1 }, () => {
  it('follows the publisher: LIVE while it sends, Reconnecting… and no watching or charges while it is gone, and back', async () => {
    const { bob } = env.accounts;
    const streamId = await liveStream(env, bob);
    const dana = await freshViewer(env, 'Dana');

    // The registry says live, but nobody sends yet: not LIVE, and no watching.
    const visitor = await open(s(), [{ uri: '//Ferdie', name: 'Ferdie' }]);
    await connectWallet(app, visitor, 'Ferdie');
    await go(app, visitor.page, `/watch/${streamId}`);
    await poll(() => visitor.page.getByTestId('off-air').textContent()).toContain('Nobody is broadcasting on this stream right now');
    expect(await watchButtons(visitor.page)).toBe(0);

    let publisher = await publisherPage(browser, app, streamId, await streamKey(app, bob, streamId));
    const viewer = await open(s(), [{ uri: dana.uri, name: dana.name }]);
    await connectWallet(app, viewer, 'Dana');
    await go(app, viewer.page, '/');
    await poll(() => onAirBadge(viewer.page, streamId).textContent()).toBe('LIVE');

    await go(app, viewer.page, `/watch/${streamId}`);
    await viewer.page.getByTestId('tab-deposit').fill('0.0006');
    await viewer.page.getByRole('button', { name: 'Open a tab and watch' }).click();
    await viewer.page.getByTestId('tab-meter').waitFor({ timeout: 30_000 });
    await poll(async () => number(viewer.page, 'tab-meter', 'data-ticks'), { timeout: 30_000 }).toBeGreaterThanOrEqual(3n);
    expect(await viewer.page.getByTestId('on-air').textContent()).toBe('LIVE');
    // The page's video state is the <video> element's: frames are being presented.
    await poll(() => viewer.page.getByTestId('video-state').textContent()).toBe('Video: playing');

    // The creator's tab closes: within a few seconds the stream is "Reconnecting…" everywhere, the
    // viewer's count stops (nothing signed, nothing charged) and a newcomer cannot start watching.
    await publisher.context().close();
    await poll(() => viewer.page.getByTestId('tab-meter').getAttribute('data-phase'), { timeout: 10_000 }).toBe('off-air');
    expect(await viewer.page.getByTestId('on-air').textContent()).toBe('Reconnecting…');
    const pausedAt = await number(viewer.page, 'tab-meter', 'data-ticks');
    await go(app, visitor.page, '/');
    await poll(() => onAirBadge(visitor.page, streamId).textContent()).toBe('Reconnecting…');
    await go(app, visitor.page, `/watch/${streamId}`);
    await poll(() => visitor.page.getByTestId('off-air').textContent()).toContain('waiting for them to reconnect');
    expect(await watchButtons(visitor.page)).toBe(0);
    await screenshot(viewer.page, 'watch-off-air');
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await number(viewer.page, 'tab-meter', 'data-ticks')).toBe(pausedAt);
    // The relay settles what was signed (its vouchers stopped), and no more.
    const tabId = (await env.ticks.query.tabOf(dana.address, dana.address)).value!.id;
    const settledOf = async () => (await env.ticks.query.tab(dana.address, tabId)).value?.watches.find((w) => w.terms.streamId === streamId)?.settled;
    let settled: bigint | undefined;
    await untilChain(env.api, async () => (settled = await settledOf()) === pausedAt, 60_000, () => `the relay to settle ${pausedAt} ticks (settled: ${settled})`);

    // The creator is back: the same watch goes on (and pays) from where it paused.
    publisher = await publisherPage(browser, app, streamId, await streamKey(app, bob, streamId));
    await poll(() => viewer.page.getByTestId('tab-meter').getAttribute('data-phase'), { timeout: 15_000 }).toBe('watching');
    await poll(async () => number(viewer.page, 'tab-meter', 'data-ticks'), { timeout: 20_000 }).toBeGreaterThan(pausedAt + 1n);
    await viewer.page.getByTestId('video').waitFor({ timeout: 20_000 });
    await poll(() => viewer.page.getByTestId('video-state').textContent(), { timeout: 20_000 }).toBe('Video: playing');

    // The viewer's browser is gone without closing the tab: another browser (no key) sees the tab,
    // closes it, and after the dispute window gets the rest back, to the planck.
    await viewer.context.close();
    const v2 = await open(s(), [{ uri: dana.uri, name: dana.name }]);
    await connectWallet(app, v2, 'Dana');
    await go(app, v2.page, `/watch/${streamId}`);
    await poll(() => v2.page.getByTestId('tab-panel').textContent()).toContain('was opened in another browser');
    await go(app, v2.page, '/tab');
    await v2.page.getByTestId('tab-close').click();
    await poll(() => v2.page.getByTestId('tab').getAttribute('data-closing')).toBe('true');
    const closing = (await env.ticks.query.tab(dana.address, tabId)).value!;
    const [, windowMs] = (await env.ticks.query.tabTerms(dana.address)).value;
    await passChainTime(env.api, env.accounts.alice, closing.closingSinceMs! + windowMs);
    const paid = (await settledOf()) ?? 0n;
    expect(paid, 'the relay settled the seconds after the publisher came back').toBeGreaterThan(pausedAt);
    const left = (await env.ticks.query.tab(dana.address, tabId)).value!.balance;
    expect(left).toBe(RATE * 600n - RATE * paid);
    const since = await blockNumber(env.api);
    const finish = v2.page.getByTestId('tab-finish');
    await poll(() => finish.isEnabled(), { timeout: 30_000 }).toBe(true);
    await finish.click();
    await v2.page.getByTestId('tab-refund').waitFor({ timeout: 30_000 });
    expect(await transfers(env.api, env.ticks.address, dana.address, since)).toEqual([left]);
    expect((await env.ticks.query.tabOf(dana.address, dana.address)).value).toBeNull();

    expect(failing(v2.errors)).toEqual([]);
    expect(failing(visitor.errors)).toEqual([]);
    await publisher.context().close();
    await v2.context.close();
    await visitor.context.close();
  }, 300_000);

  it('going live from the camera keeps the encoder key; the key is copied, and replaced only when confirmed', async () => {
    // Eve: not Charlie, whose account the relay settles with (two senders of one account collide).
    const { eve } = env.accounts;
    const streamId = await liveStream(env, eve);
    const c = await open(s(), [{ uri: '//Eve', name: 'Eve' }]);
    await c.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
    await connectWallet(app, c, 'Eve');
    await go(app, c.page, `/creator/${streamId}`);
    await c.page.getByRole('button', { name: 'Create stream key' }).click();
    const k1 = (await c.page.getByTestId('stream-key').textContent({ timeout: 30_000 }))!;
    expect(k1).toMatch(/^vk_/);
    await c.page.getByTestId('copy-key').click();
    expect(await c.page.evaluate(() => navigator.clipboard.readText())).toBe(k1);
    expect(await whipWith(streamId, k1)).toBe(400);
    expect(await whipWith(streamId, 'vk_wrong')).toBe(401);

    // Another day, the studio no longer holds the key (shown once); the camera goes live with one
    // signed publish request and OBS's key is untouched.
    const issued = ((await (await fetch(`${app.url}/api/streams/${streamId}/key`)).json()) as { issuedAtMs: number }).issuedAtMs;
    await go(app, c.page, `/creator/${streamId}`);
    await poll(() => c.page.getByTestId('key-status').textContent()).toContain('not shown again');
    const approvals = c.wallet!.requests.length;
    await c.page.getByRole('button', { name: 'Go live from camera' }).click();
    await c.page.getByTestId('preview').waitFor({ timeout: 30_000 });
    await poll(async () => ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { state: string }).state).toBe('live');
    expect(await whipWith(streamId, k1)).toBe(400);
    expect(((await (await fetch(`${app.url}/api/streams/${streamId}/key`)).json()) as { issuedAtMs: number }).issuedAtMs).toBe(issued);
    expect(c.wallet!.requests.slice(approvals).map((r) => r.kind)).toEqual(['raw']); // one signature, no key request
    await screenshot(c.page, 'studio-keys');

    // Rotating asks first; Cancel keeps the key, confirming replaces it.
    await c.page.getByRole('button', { name: 'Rotate stream key…' }).click();
    await c.page.getByRole('button', { name: 'Cancel' }).click();
    expect(await whipWith(streamId, k1)).toBe(400);
    await c.page.getByRole('button', { name: 'Rotate stream key…' }).click();
    await c.page.getByRole('button', { name: 'Replace the key' }).click();
    await poll(() => c.page.getByTestId('stream-key').textContent()).not.toBe(k1);
    const k2 = (await c.page.getByTestId('stream-key').textContent())!;
    expect(await whipWith(streamId, k1)).toBe(401);
    expect(await whipWith(streamId, k2)).toBe(400);

    await c.page.getByRole('button', { name: 'Stop camera' }).click();
    expect(failing(c.errors)).toEqual([]);
    await c.context.close();
  }, 180_000);

  it('fits a 390 px phone: a one-row header on every page, and going live above the studio charts', async () => {
    const { eve } = env.accounts;
    const streamId = await liveStream(env, eve);
    const c = await open(s(), [{ uri: '//Eve', name: 'Eve' }], { width: 390, height: 844 });
    await connectWallet(app, c, 'Eve');
    const pages: [string, string, string][] = [
      ['/', 'mobile-discover', `[data-stream-id="${streamId}"]`],
      [`/watch/${streamId}`, 'mobile-watch', '[data-testid="where-money-goes"]'],
      [`/creator/${streamId}`, 'mobile-studio', '#live-h'],
      ['/wallet', 'mobile-wallet', '[data-testid="balances"]'],
      ['/tab', 'mobile-tab', '[data-testid="no-tab"], [data-testid="tab"]'],
    ];
    for (const [path, name, filled] of pages) {
      await go(app, c.page, path);
      await c.page.locator(filled).first().waitFor({ timeout: 30_000 }); // the chain's answers are on the page
      const header = (await c.page.locator('header').boundingBox())!;
      expect(header.height, `${path}: header height`).toBeLessThan(60);
      // Nothing is wider than the screen (no sideways scrolling).
      expect(await c.page.evaluate(() => document.documentElement.scrollWidth), `${path}: page width`).toBeLessThanOrEqual(390);
      await screenshot(c.page, name);
    }
    // The wallet page shows the account's money: free, its tab, earnings to withdraw — as on chain.
    await go(app, c.page, '/wallet');
    const tab = (await env.ticks.query.tabOf(eve.address, eve.address)).value;
    await poll(() => c.page.getByTestId('balance-tab').textContent()).toBe(tab ? formatBalance(tab.balance) : 'none');
    expect(await c.page.getByTestId('balance-free').textContent()).toMatch(/UNIT/);
    // Once development accounts are in use, they are no longer offered.
    await c.page.getByRole('button', { name: 'Use development accounts' }).click();
    await poll(() => c.page.getByRole('button', { name: 'Use development accounts' }).count()).toBe(0);

    await go(app, c.page, `/creator/${streamId}`);
    const goLive = (await c.page.getByRole('heading', { name: 'Go live' }).boundingBox())!;
    const earnings = (await c.page.getByRole('heading', { name: 'Earnings and audience' }).boundingBox())!;
    expect(goLive.y).toBeLessThan(earnings.y);
    expect(goLive.y).toBeLessThan(844); // on the first screen
    expect(failing(c.errors)).toEqual([]);
    await c.context.close();
  }, 120_000);

  it('refuses a forged, replayed, expired or foreign signed publish request by name, and publishes nothing', async () => {
    const { eve, bob } = env.accounts;
    const streamId = await liveStream(env, eve);
    const whipError = async (key: string) => {
      const { status, error } = await whipAnswer(streamId, key);
      return `${status} ${error}`;
    };
    const token = publishToken(eve, streamId);
    expect(await whipError(token)).toBe('400 MalformedSdp'); // accepted: the SDP is what failed
    expect(await whipError(token)).toBe('401 ReplayedRequest');
    expect(await whipError(publishToken(bob, streamId))).toBe('403 NotCreator');
    expect(await whipError(publishToken(eve, streamId, Date.now() - 6 * 60_000))).toBe('401 ExpiredRequest');
    expect(await whipError(publishToken(eve, streamId, Date.now(), streamId + 1n))).toBe('401 BadSignature');
    expect(((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { state: string }).state).toBe('offline');
  });
});

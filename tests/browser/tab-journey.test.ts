/**
 * The viewer's journey on protocol v2, in Chromium with the test wallet: open a tab (one approval),
 * watch one stream, switch to another with no approval, "Settle now" from the viewer's own wallet,
 * see the tab (balance, locked, watches),
 * close it (the dispute window shown), and after the window finish — the rest of the deposit back to
 * the planck, every second watched paid to the creators as the relay settled it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, lowPriority, screenshot, startApp, type App } from './harness.ts';
import { encoderPublisher, type EncoderPublisher } from './media-clients.ts';
import { ownDeploymentFile, streamKey, untilChain } from './media-helpers.ts';
import { blockNumber, connectWallet, failing, freshViewer, go, open, poll, transfers } from './dapp-helpers.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { liveStream, RATE } from '../e2e/protocol-helpers.ts';
import { passChainTime } from '../e2e/tab-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let browser: Browser;
const s = () => ({ browser, env, app });

beforeAll(async () => {
  env = await setupEnv();
  app = await startApp(inject('chainUrl'), ownDeploymentFile(), {
    VILO_SETTLE_INTERVAL_MS: '2000',
    VILO_RELAY_DB: join(scratchDir('tab-journey'), 'relay.sqlite'),
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await env?.api.disconnect();
});

/** The page's <video> advanced by two seconds of pictures. */
async function playing(page: Page) {
  const video = page.getByTestId('video');
  await video.waitFor({ timeout: 30_000 });
  await poll(() => video.evaluate((el: HTMLVideoElement) => el.videoWidth), { timeout: 30_000 }).toBe(640);
  const t0 = await video.evaluate((el: HTMLVideoElement) => el.currentTime);
  await poll(() => video.evaluate((el: HTMLVideoElement) => el.currentTime), { timeout: 15_000 }).toBeGreaterThan(t0 + 2);
}

describe('a viewer’s tab', { retry: 1 }, () => {
  it('one approval for two streams; the tab shows balance and lock; closing and finishing bring the rest back', async () => {
    const bob = env.accounts.bob;
    const streams = [await liveStream(env, bob), await liveStream(env, bob)];
    const pubs: EncoderPublisher[] = [];
    // A viewer of its own per attempt (one open tab per viewer).
    const viewer = await freshViewer(env, 'Tabby');
    const c = await open(s(), [{ uri: viewer.uri, name: viewer.name }]);
    try {
      for (const id of streams) {
        const p = await encoderPublisher({ baseUrl: app.url, streamId: id, streamKey: await streamKey(app, bob, id), codec: 'vp8', size: '640x360', bitrate: '400k' });
        lowPriority(p.ffmpeg);
        pubs.push(p);
      }
      await connectWallet(app, c, 'Tabby');

      // Open the tab: the one approval.
      await go(app, c.page, '/tab');
      await c.page.getByTestId('tab-deposit').fill('0.001'); // 10^9 plancks = 1000 s at 10^6/s
      const before = c.wallet!.requests.length;
      await c.page.getByRole('button', { name: 'Open a tab' }).click();
      await c.page.getByTestId('tab').waitFor({ timeout: 30_000 });
      expect(c.wallet!.requests.length).toBe(before + 1);
      const tabId = (await env.ticks.query.tabOf(viewer.address, viewer.address)).value!.id;

      // Watch the first stream from the tab, then switch to the second: no approval.
      for (const id of streams) {
        await go(app, c.page, `/watch/${id}`);
        await c.page.getByTestId('watch-from-tab').click({ timeout: 30_000 });
        await playing(c.page);
        await poll(() => c.page.getByTestId('tab-meter').getAttribute('data-ticks')).not.toBe('0');
      }
      expect(c.wallet!.requests.length, 'watching two streams took no approval beyond the tab').toBe(before + 1);
      await screenshot(c.page, 'tab-watch');

      // "Settle now" from the viewer's own wallet: one approval, and the watch is settled on chain.
      await c.page.getByTestId('tab-settle-now').click();
      // The wallet is asked once; should it not be, the page's own error says why.
      await poll(async () => ((await c.page.getByTestId('error').count()) ? `${c.wallet!.requests.length} (page: ${await c.page.getByTestId('error').textContent()})` : c.wallet!.requests.length)).toBe(before + 2);
      await untilChain(
        env.api,
        async () => ((await env.ticks.query.tab(viewer.address, tabId)).value?.watches ?? []).some((w) => w.terms.streamId === streams[1] && w.settled > 0n),
        30_000,
        'the viewer’s own settlement in a block',
      );

      // The tab page: balance, what watching locks, the watches.
      await go(app, c.page, '/tab');
      await poll(() => c.page.getByTestId('tab-watch').count()).toBeGreaterThanOrEqual(1);
      await screenshot(c.page, 'tab-open');

      // Close: one approval; the dispute window is shown; the relay settles what was signed.
      await c.page.getByTestId('tab-close').click();
      await poll(() => c.page.getByTestId('tab').getAttribute('data-closing')).toBe('true');
      expect(c.wallet!.requests.length).toBe(before + 3);
      await poll(() => c.page.getByTestId('tab-window').textContent()).toContain('Closing');
      await screenshot(c.page, 'tab-closing');
      await untilChain(
        env.api,
        async () => {
          const t = (await env.ticks.query.tab(viewer.address, tabId)).value!;
          return streams.every((id) => t.watches.some((w) => w.terms.streamId === id && w.settled > 0n)) || t.balance < 10n ** 9n - 4n * RATE;
        },
        60_000,
        () => `the relay to settle the closing tab (server: ${app.output().slice(-1200)})`,
      );

      // After the window (chain time): finish; the rest of the balance comes back, to the planck.
      const closing = (await env.ticks.query.tab(viewer.address, tabId)).value!;
      const [, windowMs] = (await env.ticks.query.tabTerms(viewer.address)).value;
      await passChainTime(env.api, env.accounts.alice, closing.closingSinceMs! + windowMs);
      const finish = c.page.getByTestId('tab-finish');
      await poll(() => finish.isEnabled(), { timeout: 30_000 }).toBe(true);
      const left = (await env.ticks.query.tab(viewer.address, tabId)).value!.balance;
      const since = await blockNumber(env.api);
      await finish.click();
      await c.page.getByTestId('tab-refund').waitFor({ timeout: 30_000 });
      expect(await env.ticks.query.tab(viewer.address, tabId).then((r) => r.value)).toBeNull();
      // The block's transfer from tick_stream to the viewer is the balance left, to the planck.
      expect(await transfers(env.api, env.ticks.address, viewer.address, since)).toEqual([left]);
      // Every planck that left the tab went to a creator's earnings (the tab paid nothing else).
      const paidOut = 10n ** 9n - left;
      expect(paidOut % RATE, 'whole seconds at the signed rate').toBe(0n);
      expect(paidOut).toBeGreaterThan(0n);
      expect(failing(c.errors)).toEqual([]);
    } finally {
      for (const p of pubs) await p.stop();
      await c.context.close();
    }
  });
});

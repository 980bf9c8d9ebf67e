/**
 * Live media behind the payment gate, end to end: Chromium's fake camera publishes over WHIP to the
 * app's own Node server (werift SFU), other Chromium contexts play over WHEP from a tab while the
 * dApp's TabTicker signs a voucher a second; the gate reads the real chain.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { RATE, liveStream } from '../e2e/protocol-helpers.ts';
import { launchBrowser, startApp, type App } from './harness.ts';
import { ownDeploymentFile, publisherPage, streamKey, tabViewerPage, until, untilChain, viewerWithTab, type TabViewerSpec } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let browser: Browser;
let streamId: bigint;

beforeAll(async () => {
  env = await setupEnv();
  app = await startApp(inject('chainUrl'), ownDeploymentFile(), {
    VILO_RELAY_DB: join(scratchDir('media'), 'relay.sqlite'),
    VILO_SETTLE_INTERVAL_MS: '2000',
    // A tab whose vouchers pause for 2 s is settled: the replay test needs a settled voucher.
    VILO_TAB_QUIET_MS: '2000',
  });
  browser = await launchBrowser();
  streamId = await liveStream(env, env.accounts.bob);
  const key = await streamKey(app, env.accounts.bob, streamId);
  await publisherPage(browser, app, streamId, key);
  await until(async () => ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { live: boolean }).live, 10_000, 'the publisher');
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await env?.api.disconnect();
});

/** Undo steps of the running test (close pages), run even when it fails. */
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

const withTab = (label: string, deposit: bigint) => viewerWithTab(env, app, label, deposit, RATE);

async function viewer(spec: TabViewerSpec) {
  const v = await tabViewerPage(browser, app, spec);
  cleanup.push(() => v.page.context().close());
  return v;
}

// Real-time media on a 2-core machine: a test that misses a timing once (a loaded chain or encoder)
// runs once more; vitest reports the retry, and a real regression fails both runs.
describe('WHIP → SFU → WHEP behind the payment gate', { retry: 1 }, () => {
  it('plays to a paying viewer (frames keep decoding) and refuses a forged or tabless one', async () => {
    const t = await withTab('media-payer', RATE * 600n);
    const paying = await viewer(t.spec(streamId));
    await paying.startTicker();
    await paying.firstVoucher();
    expect(await paying.play()).toBeNull();
    await until(async () => (await paying.framesDecoded()) > 10, 15_000, 'decoded frames');
    const a = await paying.framesDecoded();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await paying.framesDecoded()).toBeGreaterThan(a + 5);

    // Another key's voucher for this tab, and a voucher of a tab that does not exist: no video.
    const forged = await viewer({ ...t.spec(streamId, 1), seed: `0x${'42'.repeat(32)}` });
    expect(await forged.play(3n)).toMatchObject({ status: 401 });
    const tabless = await viewer({ ...t.spec(streamId), tabId: 999_999n });
    expect(await tabless.play(1n)).toMatchObject({ status: 404 });
    await paying.stopTicker();
  });

  it('refuses playback to someone replaying a tab voucher that is already settled (public on chain)', async () => {
    const t = await withTab('media-replay', RATE * 600n);
    const spec = t.spec(streamId);
    const owner = await viewer(spec);
    await owner.startTicker();
    await until(async () => (await owner.ticks()) >= 3n, 20_000, 'three vouchers');
    // The owner pauses; the relay settles the tab once its vouchers are quiet (2 s here), so the
    // voucher is in a block for anyone to read. The owner goes on, and an attacker replays it at once.
    await owner.stopTicker();
    await new Promise((r) => setTimeout(r, 1_000));
    const last = await owner.ticks();
    let settledSeen = 0n;
    const settled = async () => (settledSeen = (await env.ticks.query.tab(t.viewer.address, t.tabId)).value?.watches.find((w) => w.number === 0)?.settled ?? 0n);
    const relayLog = () => app.output().split('\n').filter((l) => l.includes('[tabs]') || l.includes('[relay]')).slice(-5).join('\n');
    await untilChain(env.api, async () => (await settled()) >= last, 60_000, () => `settlement of tick ${last} (settled: ${settledSeen}); relay log:\n${relayLog()}`);
    await owner.startTicker();
    await until(async () => (await owner.ticks()) > last, 10_000, 'the owner to go on');
    const attacker = await viewer(spec);
    const refused = await attacker.play(last);
    expect(refused, `replaying the settled ${last}-second voucher while the owner is at ${await owner.ticks()}`).toMatchObject({ status: 402 });
    expect(refused?.message).toMatch(/settled/);
    await owner.stopTicker();
  });

  it('stops a viewer within 2 s of their vouchers stopping while a paying viewer keeps playing', async () => {
    const quitter = await viewer((await withTab('media-quitter', RATE * 600n)).spec(streamId));
    const payer = await viewer((await withTab('media-stayer', RATE * 600n)).spec(streamId));
    for (const v of [quitter, payer]) {
      await v.startTicker();
      await v.firstVoucher();
      expect(await v.play()).toBeNull();
    }
    await until(async () => (await quitter.framesDecoded()) > 10 && (await payer.framesDecoded()) > 10, 30_000, 'both decoding');

    await quitter.stopTicker();
    // The vouchers stop with the last one the server accepted (one may still be in flight): wait for
    // it, then look at 2 s and 4 s after it.
    await new Promise((r) => setTimeout(r, 1_000));
    const lastAccepted = Math.max(...(await quitter.tickLog()).filter((t) => t.accepted).map((t) => t.at));
    const at = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, lastAccepted + ms - Date.now())));
    await at(2_000);
    const q1 = await quitter.framesDecoded();
    const p1 = await payer.framesDecoded();
    await at(4_000);
    const q2 = await quitter.framesDecoded();
    const p2 = await payer.framesDecoded();
    expect(q2 - q1, `the quitter decoded ${q2 - q1} frames between 2 s and 4 s after its last voucher`).toBeLessThanOrEqual(1);
    expect(p2 - p1, `the paying viewer stopped decoding; ticker: ${JSON.stringify((await payer.tickLog()).slice(-3))}\nserver: ${app.output().slice(-1500)}`).toBeGreaterThan(5);

    // Vouchers again: the picture comes back.
    await quitter.startTicker();
    await until(async () => (await quitter.framesDecoded()) > q2 + 10, 10_000, 'playback to resume');
    await quitter.stopTicker();
    await payer.stopTicker();
  });

  it('cuts a viewer whose tab runs out and resumes after a top-up', async () => {
    // Long enough that the runway outlasts WHEP setup (which reads the chain; seconds under load).
    const RUNWAY = 15n;
    const t = await withTab('media-runway', RATE * RUNWAY);
    const v = await viewer(t.spec(streamId));
    await v.startTicker();
    await v.firstVoucher();
    expect(await v.play()).toBeNull();
    await until(async () => (await v.tickLog()).some((x) => !x.accepted && x.error?.startsWith('TabExhausted')), 30_000, 'the tab to run out');
    expect(await v.ticks()).toBe(RUNWAY);
    await new Promise((r) => setTimeout(r, 2_000));
    const f1 = await v.framesDecoded();
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await v.framesDecoded()) - f1).toBeLessThanOrEqual(1);

    await env.ticks.tx.topUp(t.viewer, t.tabId, { value: RATE * 600n });
    await until(async () => (await v.ticks()) > RUNWAY, 10_000, 'vouchers to be accepted after the top-up');
    await until(async () => (await v.framesDecoded()) > f1 + 10, 10_000, 'playback to resume after the top-up');
    await v.stopTicker();
  });
});

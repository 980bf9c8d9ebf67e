/**
 * A slow chain does not cut a paying viewer: the media server reads the chain through a proxy that
 * holds every answer for 10 s. The gate keeps serving the viewer whose payment its last reading
 * proves, and still cuts, within 2 s, the viewer whose tab runs out during the stall (protocol v2).
 *
 * On a chain of its own: the suite's chopsticks chain is slowest by the end of a full run (tens of
 * seconds a block), and this test needs the stall it makes to be the only one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Chain } from '../../scripts/chain/launch.ts';
import type { Env } from '../e2e/helpers.ts';
import { ownChain } from '../own-chain.ts';
import type { Browser } from 'playwright-core';
import { RATE, liveStream } from '../e2e/protocol-helpers.ts';
import { stallingProxy, type StallingProxy } from '../stalling-proxy.ts';
import { launchBrowser, startApp, type App } from './harness.ts';
import { publisherPage, streamKey, tabViewerPage, until, viewerWithTab } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';

const STALL_MS = 10_000;

let chain: Chain;
let env: Env;
let proxy: StallingProxy;
let app: App;
let browser: Browser;
let streamId: bigint;

beforeAll(async () => {
  let deploymentFile: string;
  ({ chain, env, deploymentFile } = await ownChain('stall'));
  proxy = await stallingProxy(chain.url);
  app = await startApp(proxy.url, deploymentFile, {
    VILO_RELAY_DB: join(scratchDir('stall'), 'relay.sqlite'),
    VILO_SETTLE_INTERVAL_MS: '4000',
  });
  browser = await launchBrowser();
  streamId = await liveStream(env, env.accounts.bob);
  await publisherPage(browser, app, streamId, await streamKey(app, env.accounts.bob, streamId));
  await until(async () => ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { live: boolean }).live, 10_000, 'the publisher');
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await proxy?.close();
  await env?.api.disconnect();
  await chain?.stop();
}, 60_000);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  proxy.resume();
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function watching(label: string, deposit: bigint) {
  const t = await viewerWithTab(env, app, label, deposit, RATE);
  const v = await tabViewerPage(browser, app, t.spec(streamId));
  cleanup.push(() => v.page.context().close());
  await v.startTicker();
  await v.firstVoucher();
  expect(await v.play()).toBeNull();
  return v;
}

describe('the payment gate on a stalled chain', { retry: 1 }, () => {
  it('keeps playing to a payer through a 10 s stall and cuts, within 2 s, the viewer whose coverage ends in it', async () => {
    // Eve's tab covers RUNWAY seconds; Ferdie's ten minutes.
    const RUNWAY = 30n;
    const payer = await watching('stall-ferdie', RATE * 600n);
    const short = await watching('stall-eve', RATE * RUNWAY);
    await until(async () => (await payer.framesDecoded()) > 10 && (await short.framesDecoded()) > 10, 30_000, 'both decoding');
    // Stall so that Eve's coverage ends about 4 s into it.
    await until(async () => (await short.ticks()) >= RUNWAY - 4n, 40_000, 'Eve near the end of her coverage');

    const stallStart = Date.now();
    const stall = proxy.stall(STALL_MS);
    const samples: { at: number; payer: number; short: number }[] = [];
    while (Date.now() < stallStart + STALL_MS - 250) {
      samples.push({ at: Date.now(), payer: await payer.framesDecoded(), short: await short.framesDecoded() });
      await new Promise((r) => setTimeout(r, 250));
    }
    await stall;

    // The payer: frames kept decoding through the whole stall (no gap of 2 s without a new frame).
    let lastNew = samples[0];
    let longestGap = 0;
    for (const s of samples) {
      if (s.payer > lastNew.payer) lastNew = s;
      longestGap = Math.max(longestGap, s.at - lastNew.at);
    }
    const gateLog = app.output().split('\n').filter((l) => l.includes('[gate]')).slice(-5).join('\n');
    expect(longestGap, `the payer's longest time without a new frame during the stall; gate log:\n${gateLog}`).toBeLessThan(2_000);
    expect(samples.at(-1)!.payer - samples[0].payer).toBeGreaterThan(100);

    // Eve: her vouchers stopped at her coverage, and her frames within 2 s of the last accepted one.
    expect(await short.ticks()).toBe(RUNWAY);
    const lastAccepted = Math.max(...(await short.tickLog()).filter((t) => t.accepted).map((t) => t.at));
    expect(lastAccepted - stallStart, 'Eve’s coverage ended inside the stall').toBeLessThan(STALL_MS - 4_000);
    const at2s = samples.find((s) => s.at >= lastAccepted + 2_000)!;
    const at4s = samples.findLast((s) => s.at <= lastAccepted + 4_000)!;
    expect(at4s.at - at2s.at).toBeGreaterThan(1_000);
    expect(at4s.short - at2s.short, `Eve decoded frames 2–4 s after her last covered voucher`).toBeLessThanOrEqual(1);
    await payer.stopTicker();
    await short.stopTicker();
    // Two tabs, two WHEP setups and a 30 s runway on a chain loaded by the rest of the suite.
  }, 240_000);
});

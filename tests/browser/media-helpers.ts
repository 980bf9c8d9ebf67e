/**
 * Shared by the media browser tests: pages that publish over WHIP or play over WHEP from a tab with
 * the dApp's TabTicker, driven through page.evaluate on the app's origin (the client bundle and
 * stream keys come from media-page.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ApiPromise } from '@polkadot/api';
import { cameraPublisherPage, mediaClientPage } from './media-page.ts';
import type { App } from './harness.ts';
import { scratchDir } from '../scratch.ts';
import { freshViewer } from './dapp-helpers.ts';
import type { Hex } from '../../dapp/lib/protocol/voucher.ts';
import type { Env } from '../e2e/helpers.ts';
import { openTab } from '../e2e/tab-helpers.ts';

/**
 * This run's deployment record in a file of its own: test-results/deployment.json is shared by every
 * vitest run in the checkout, and a concurrent run on another chain would overwrite it.
 */
export function ownDeploymentFile(): string {
  const file = join(scratchDir('deploy'), 'deployment.json');
  writeFileSync(file, JSON.stringify(inject('deployment')));
  return file;
}

export { requestStreamKey as streamKey } from './media-page.ts';

/** A page publishing its fake camera and microphone over WHIP. */
export const publisherPage = (browser: Browser, app: App, streamId: bigint, key: string): Promise<Page> => cameraPublisherPage(browser, app.url, streamId, key);

/**
 * A viewer of its own (funded by Alice) with a tab of `deposit` naming the app's relay: what a
 * viewer's one approval makes. `spec(streamId, watch)` describes a watch of it for `tabViewerPage`.
 */
export async function viewerWithTab(env: Env, app: App, label: string, deposit: bigint, ratePerSecond: bigint) {
  const viewer = (await freshViewer(env, label)).pair;
  // The server answers before its chain connection is up; until then it names no relay (null).
  let relay: string | null = null;
  for (const deadline = Date.now() + 30_000; !relay; await new Promise((r) => setTimeout(r, 200))) {
    relay = ((await (await fetch(`${app.url}/api/tabs/relay`)).json()) as { relay: string | null }).relay;
    if (!relay && Date.now() > deadline) throw new Error(`${app.url} named no relay within 30 s (its chain connection is not up)`);
  }
  const genesisHash = env.api.genesisHash.toHex() as Hex;
  const tab = await openTab({ ticks: env.ticks, payments: env.payments, genesisHash }, viewer, relay, deposit);
  return {
    viewer,
    ...tab,
    spec: (streamId: bigint, watch = 0): TabViewerSpec => ({ tabId: tab.tabId, seed: tab.key.seed, genesisHash, contract: env.ticks.address, streamId, watch, ratePerSecond }),
  };
}

export interface TabViewerSpec {
  tabId: bigint;
  /** The tab's session key seed. */
  seed: string;
  genesisHash: string;
  contract: string;
  streamId: bigint;
  watch: number;
  ratePerSecond: bigint;
}

/**
 * A page with the dApp's own TabTicker for one watch of a tab (protocol v2); `play` starts WHEP
 * playback into a <video> element with the tab's latest accepted voucher (or one signed for
 * `signTicks`).
 */
export async function tabViewerPage(browser: Browser, app: App, v: TabViewerSpec) {
  const page = await mediaClientPage(browser, app.url);
  const spec = { ...v, tabId: v.tabId.toString(), streamId: v.streamId.toString(), ratePerSecond: v.ratePerSecond.toString() };
  await page.evaluate((s) => {
    const w = window as unknown as Record<string, any>;
    w.tickLog = [];
    w.spec = s;
    w.key = w.ViloMedia.SessionKey.fromSeed(s.seed);
    w.scope = { genesisHash: s.genesisHash, contract: s.contract, tabId: BigInt(s.tabId) };
    w.started = false;
    w.ticker = new w.ViloMedia.TabTicker({
      scope: w.scope,
      key: w.key,
      onTick: (e: { accepted: boolean; error?: string }) => w.tickLog.push({ at: Date.now(), ticks: w.ticker.ticksOf(s.watch).toString(), accepted: e.accepted, error: e.error }),
    });
  }, spec);
  return {
    page,
    startTicker: () =>
      page.evaluate(() => {
        const w = window as any;
        if (w.started) w.ticker.resumeWatch(w.spec.watch);
        else w.ticker.startWatch(w.spec.watch, BigInt(w.spec.streamId), BigInt(w.spec.ratePerSecond));
        w.started = true;
      }),
    stopTicker: () => page.evaluate(() => (window as any).ticker.stopWatch()),
    ticks: async () => BigInt(await page.evaluate(() => (window as any).ticker.ticksOf((window as any).spec.watch).toString())),
    tickLog: () => page.evaluate(() => (window as any).tickLog as { at: number; ticks: string; accepted: boolean; error?: string }[]),
    async firstVoucher(): Promise<void> {
      try {
        await page.waitForFunction(() => (window as any).ticker.latest() !== undefined, undefined, { timeout: 45_000 });
      } catch {
        const log = await page.evaluate(() => (window as any).tickLog);
        throw new Error(`no voucher accepted in 45 s; ticker: ${JSON.stringify(log.slice(-3))}\nserver: ${app.output().slice(-2000)}`);
      }
    },
    play: (signTicks?: bigint) =>
      page.evaluate(async (signTicks) => {
        const w = window as unknown as Record<string, any>;
        const s = w.spec;
        const M = w.ViloMedia;
        const claim = (n: bigint) => ({ watch: s.watch, streamId: BigInt(s.streamId), ratePerSecond: BigInt(s.ratePerSecond), ticks: n });
        const voucher = signTicks !== undefined ? M.signTabVoucher(w.key, w.scope, [claim(BigInt(signTicks))]) : w.ticker.latest();
        try {
          w.playback = await M.playWith({ streamId: BigInt(s.streamId), headers: M.tabWhepHeaders({ tabId: BigInt(s.tabId), watch: s.watch, voucher }) });
          const video = document.createElement('video');
          video.muted = true;
          video.autoplay = true;
          video.playsInline = true;
          video.srcObject = w.playback.stream;
          document.body.append(video);
          return null;
        } catch (e) {
          const m = e as { name: string; status?: number; message: string };
          return { name: m.name, status: m.status, message: m.message, ticks: w.tickLog.slice(-4) };
        }
      }, signTicks?.toString()),
    framesDecoded: () =>
      page.evaluate(async () => {
        const pc = (window as any).playback?.pc as RTCPeerConnection | undefined;
        if (!pc) return 0;
        let n = 0;
        (await pc.getStats()).forEach((r: any) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.framesDecoded ?? 0;
        });
        return n;
      }),
  };
}

/** Polls `f` every 100 ms until it holds; `what` (or what it returns, computed on timeout) names the wait in the error. */
export async function until(f: () => Promise<boolean>, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
}

/**
 * Waits for chain state: evaluates `f` now and again at each new best block of `api`'s chain (state
 * changes only then), until it holds or `ms` pass. Polling a contract query every 100 ms instead costs
 * the local chain a runtime call each time (~0.2 s on chopsticks) and slows the very blocks awaited.
 */
export async function untilChain(
  api: ApiPromise,
  f: () => Promise<boolean>,
  ms: number,
  what: string | (() => string),
): Promise<void> {
  let unsubscribe: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let busy = false;
      let again = false;
      const check = async () => {
        if (busy) return void (again = true);
        busy = true;
        try {
          do {
            again = false;
            if (await f()) return resolve();
          } while (again);
        } catch (e) {
          reject(e);
        } finally {
          busy = false;
        }
      };
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)), ms);
      api.rpc.chain.subscribeNewHeads(() => void check()).then((u) => (unsubscribe = u), reject);
      void check();
    });
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }
}

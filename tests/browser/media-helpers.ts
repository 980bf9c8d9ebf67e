/**
 * Shared by the media browser tests: pages that publish over WHIP or play over WHEP with a
 * VoucherTicker, driven through page.evaluate on the app's origin (the client bundle and stream keys
 * come from media-page.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ApiPromise } from '@polkadot/api';
import { mediaClientScript } from './media-page.ts';
import type { App } from './harness.ts';
import { scratchDir } from '../scratch.ts';

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

async function mediaPage(browser: Browser, app: App): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(app.url + '/');
  await page.addScriptTag({ content: mediaClientScript() });
  return page;
}

/** A page publishing its fake camera and microphone over WHIP. */
export async function publisherPage(browser: Browser, app: App, streamId: bigint, key: string): Promise<Page> {
  const page = await mediaPage(browser, app);
  await page.evaluate(
    async ({ id, key }) => {
      const w = window as unknown as Record<string, any>;
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
      w.publishing = await w.ViloMedia.publish({ streamId: BigInt(id), streamKey: key, media });
    },
    { id: streamId.toString(), key },
  );
  return page;
}

export interface ViewerSpec {
  streamId: bigint;
  viewer: string;
  sessionId: bigint;
  /** Session key seed (the key registered at join). */
  seed: string;
  contract: string;
  startTicks?: bigint;
}

/** A page with a VoucherTicker for `v`; `play` starts WHEP playback into a <video> element. */
export async function viewerPage(browser: Browser, app: App, v: ViewerSpec) {
  const page = await mediaPage(browser, app);
  const spec = { ...v, streamId: v.streamId.toString(), sessionId: v.sessionId.toString(), startTicks: (v.startTicks ?? 0n).toString() };
  await page.evaluate((s) => {
    const w = window as unknown as Record<string, any>;
    w.tickLog = [];
    w.ticker = new w.ViloMedia.VoucherTicker({
      contract: s.contract,
      key: w.ViloMedia.SessionKey.fromSeed(s.seed),
      streamId: BigInt(s.streamId),
      viewer: s.viewer,
      sessionId: BigInt(s.sessionId),
      startTicks: BigInt(s.startTicks),
      onTick: (e: { ticks: bigint; accepted: boolean; error?: string }) => w.tickLog.push({ at: Date.now(), ticks: e.ticks.toString(), accepted: e.accepted, error: e.error }),
    });
    w.spec = s;
  }, spec);
  return {
    page,
    startTicker: () => page.evaluate(() => (window as any).ticker.start()),
    stopTicker: () => page.evaluate(() => (window as any).ticker.stop()),
    ticks: async () => BigInt(await page.evaluate(() => (window as any).ticker.ticks.toString())),
    tickLog: () => page.evaluate(() => (window as any).tickLog as { at: number; ticks: string; accepted: boolean; error?: string }[]),
    /** Waits for the first accepted voucher. */
    async firstVoucher(): Promise<void> {
      try {
        // Setup, not the property under test: the server's first reads of a new session wait on the
        // chain, which late in a full run on chopsticks answers in seconds, not milliseconds.
        await page.waitForFunction(() => (window as any).ticker.latest() !== undefined, undefined, { timeout: 45_000 });
      } catch {
        const log = await page.evaluate(() => (window as any).tickLog);
        throw new Error(`no voucher accepted in 45 s; ticker: ${JSON.stringify(log.slice(-3))}\nserver: ${app.output().slice(-2000)}`);
      }
    },
    /**
     * Starts playback with the ticker's latest voucher (or one signed for `signTicks`); resolves with
     * null on success or the MediaError {name, status, message}.
     */
    play: (signTicks?: bigint) =>
      page.evaluate(async (signTicks) => {
        const w = window as unknown as Record<string, any>;
        const s = w.spec;
        const sign = (n: bigint) =>
          w.ViloMedia.SessionKey.fromSeed(s.seed).sign(s.contract, {
            streamId: BigInt(s.streamId), viewer: s.viewer, sessionId: BigInt(s.sessionId), cumulativeTicks: n,
          });
        const started = Date.now();
        const attempt = () =>
          w.ViloMedia.play({
            streamId: BigInt(s.streamId),
            viewer: s.viewer,
            sessionId: BigInt(s.sessionId),
            voucher: signTicks !== undefined ? sign(BigInt(signTicks)) : (w.ticker.latest() ?? sign(1n)),
          });
        try {
          try {
            w.playback = await attempt();
          } catch (e) {
            // Like the watch page: a voucher that went stale (settled) while a loaded server answered
            // is retried once with the newest one. Any other refusal is the answer.
            const m = e as { status?: number; message: string };
            if (signTicks !== undefined || m.status !== 402 || !/already at/.test(m.message) || w.ticker.latest() === undefined) throw e;
            w.playback = await attempt();
          }
          const video = document.createElement('video');
          video.muted = true;
          video.autoplay = true;
          video.playsInline = true;
          video.srcObject = w.playback.stream;
          document.body.append(video);
          return null;
        } catch (e) {
          const m = e as { name: string; status?: number; message: string };
          return { name: m.name, status: m.status, message: m.message, now: Date.now(), started, ticks: w.tickLog.slice(-4) };
        }
      }, signTicks?.toString()),
    /** inbound-rtp video framesDecoded (0 before any). */
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

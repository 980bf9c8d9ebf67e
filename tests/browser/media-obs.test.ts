/**
 * Publishing as OBS 30+ does (Settings → Stream → Service WHIP, Bearer token = stream key): a werift
 * WHIP client fed by ffmpeg (testsrc2 720p30, H.264 constrained baseline, zerolatency) publishes,
 * and a Chromium viewer paying from a tab decodes it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { RATE, liveStream } from '../e2e/protocol-helpers.ts';
import { launchBrowser, lowPriority, startApp, type App } from './harness.ts';
import { encoderPublisher, type EncoderPublisher } from './media-clients.ts';
import { ownDeploymentFile, streamKey, tabViewerPage, until, viewerWithTab } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';
import { cidOf } from '../../dapp/lib/server/media/thumbnails.ts';
import { pictureSize } from './media-clients.ts';

let env: Env;
let app: App;
let browser: Browser;

beforeAll(async () => {
  env = await setupEnv();
  app = await startApp(inject('chainUrl'), ownDeploymentFile(), {
    VILO_RELAY_DB: join(scratchDir('obs'), 'relay.sqlite'),
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await env?.api.disconnect();
});

// Real-time media on a 2-core machine: a test that misses a timing once (a loaded chain or encoder)
// runs once more; vitest reports the retry, and a real regression fails both runs.
describe('an OBS-like WHIP encoder', { retry: 1 }, () => {
  it('publishes H.264 720p with the stream key as Bearer token, and a paying browser viewer decodes it', async () => {
    const streamId = await liveStream(env, env.accounts.bob);
    const key = await streamKey(app, env.accounts.bob, streamId);
    let pub: EncoderPublisher | undefined;
    const t = await viewerWithTab(env, app, 'obs-viewer', RATE * 600n, RATE);
    try {
      await expect(encoderPublisher({ baseUrl: app.url, streamId, streamKey: 'not-the-key' })).rejects.toThrow(/WHIP refused: 401/);
      pub = await encoderPublisher({ baseUrl: app.url, streamId, streamKey: key, codec: 'h264' });
      lowPriority(pub.ffmpeg);
      await until(async () => pub!.packets() > 100, 15_000, 'the encoder to produce RTP');
      expect(((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { live: boolean }).live).toBe(true);

      const v = await tabViewerPage(browser, app, t.spec(streamId));
      await v.startTicker();
      await v.firstVoucher();
      expect(await v.play()).toBeNull();
      await until(async () => (await v.framesDecoded()) > 15, 20_000, 'decoded H.264 frames');
      const a = await v.framesDecoded();
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await v.framesDecoded() - 5, `ticker: ${JSON.stringify((await v.tickLog()).slice(-3))}\nserver: ${app.output().slice(-1500)}`).toBeGreaterThan(a);
      const codec = await v.page.evaluate(async () => {
        let mime = '';
        (await (window as any).playback.pc.getStats()).forEach((r: any) => {
          if (r.type === 'codec' && r.mimeType?.startsWith('video/')) mime = r.mimeType;
        });
        return mime;
      });
      expect(codec).toBe('video/H264');

      // The media server took a thumbnail from the live video: a 480-wide JPEG named by its IPFS CID.
      let thumb: { cid: string; takenAtMs: number } | null = null;
      await until(async () => !!(thumb = ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { thumbnail: typeof thumb }).thumbnail), 15_000, `a thumbnail (server: ${app.output().slice(-800)})`);
      const res = await fetch(`${app.url}/thumbs/${thumb!.cid}.jpg`);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('cache-control')).toContain('immutable');
      const jpeg = new Uint8Array(await res.arrayBuffer());
      expect(await cidOf(jpeg)).toBe(thumb!.cid);
      expect(await pictureSize(jpeg)).toEqual({ width: 480, height: 270 }); // 1280 × 720 scaled
      const discover = ((await (await fetch(`${app.url}/api/media?ids=${streamId}`)).json()) as { streams: Record<string, { thumbnail: { cid: string } }> }).streams;
      expect(discover[streamId.toString()].thumbnail.cid).toBe(thumb!.cid);
      const unknown = await fetch(`${app.url}/thumbs/bafkrei${'a'.repeat(52)}.jpg`);
      expect([unknown.status, ((await unknown.json()) as { error: string }).error]).toEqual([404, 'NoSuchThumbnail']);
      await v.page.context().close();
    } finally {
      await pub?.stop();
    }
  });
});

/**
 * RTMP ingest (nginx + libnginx-mod-rtmp, started by the app's server) and HLS playback behind the
 * same payment gate as WHEP, against the real chain: an encoder (ffmpeg) publishes with the stream
 * key; a wrong key is refused; the playlist and fragments go only to a viewer whose tab's vouchers
 * are fresh, and stop within 2 s of the vouchers stopping; the HTTP edge (nginx `secure_link`) serves
 * them to signed URLs only, which the media server gives a paying watch for a few seconds.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TabTicker } from '../../dapp/lib/media/tab-ticker.ts';
import { tabWhepHeaders } from '../../dapp/lib/media/tab-wire.ts';
import type { Hex } from '../../dapp/lib/protocol/voucher.ts';
import { freePort } from '../../scripts/chain/launch.ts';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { RATE, liveStream } from '../e2e/protocol-helpers.ts';
import { lowPriority, startApp, type App } from './harness.ts';
import { pictureSize, rtmpEncoderArgs } from './media-clients.ts';
import { cidOf } from '../../dapp/lib/server/media/thumbnails.ts';
import { ownDeploymentFile, streamKey, until, viewerWithTab } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let app: App;
let rtmpPort: number;
let edgePort: number;
/** How long the edge's signed URLs are good for in these tests, s. */
const EDGE_TTL_S = 3;


beforeAll(async () => {
  env = await setupEnv();
  rtmpPort = await freePort();
  edgePort = await freePort();
  app = await startApp(inject('chainUrl'), ownDeploymentFile(), {
    VILO_RELAY_DB: join(scratchDir('rtmp'), 'relay.sqlite'),
    VILO_RTMP_PORT: String(rtmpPort),
    VILO_HLS_EDGE_PORT: String(edgePort),
    VILO_HLS_EDGE_TTL_S: String(EDGE_TTL_S),
  });
  await until(async () => app.output().includes('[rtmp] HLS edge on'), 10_000, `RTMP ingest and its edge to start; server: ${app.output().slice(-500)}`);
});

afterAll(async () => {
  await app?.stop();
  await env?.api.disconnect();
});

describe('RTMP ingest and HLS behind the payment gate', { retry: 1 }, () => {
  it('refuses a wrong stream key: the encoder is disconnected and nothing is written', async () => {
    const streamId = await liveStream(env, env.accounts.bob);
    await streamKey(app, env.accounts.bob, streamId);
    const r = spawnSync('ffmpeg', rtmpEncoderArgs(`rtmp://127.0.0.1:${rtmpPort}/live/not-the-key`, 2), { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    await until(async () => app.output().includes('[rtmp] publish refused: unknown stream key'), 5_000, 'the refusal in the log');
    expect(app.output()).not.toContain('not-the-key');
  });

  it('serves the playlist and fragments only to a paying viewer, and stops within 2 s of the vouchers stopping', async () => {
    const { bob } = env.accounts;
    const streamId = await liveStream(env, bob);
    const key = await streamKey(app, bob, streamId);
    let encoder: ChildProcess | undefined;
    const t = await viewerWithTab(env, app, 'rtmp-viewer', RATE * 600n, RATE);
    const spec = t.spec(streamId);
    let lastAccepted = 0;
    const ticker = new TabTicker({
      scope: { genesisHash: spec.genesisHash as Hex, contract: spec.contract, tabId: t.tabId },
      key: t.key,
      baseUrl: app.url,
      onTick: (e) => {
        if (e.accepted) lastAccepted = Date.now();
      },
    });
    const get = (file: string, paying = true) =>
      fetch(`${app.url}/hls/${streamId}/${file}`, {
        headers:
          paying && ticker.latest()
            ? tabWhepHeaders({ tabId: t.tabId, watch: 0, voucher: ticker.latest()! })
            : { 'X-Vilo-Tab': t.tabId.toString(), 'X-Vilo-Watch': '0' },
      });
    try {
      encoder = lowPriority(spawn('ffmpeg', rtmpEncoderArgs(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`, 90), { stdio: 'ignore' }));
      ticker.startWatch(0, streamId, RATE);
      await until(async () => ticker.latest() !== undefined, 15_000, 'the first voucher');
      await until(async () => (await get('index.m3u8')).status === 200, 20_000, 'the HLS playlist');

      // Unpaid: the same tab and watch without a voucher → 402 with the reason.
      const unpaid = await get('index.m3u8', false);
      expect(unpaid.status).toBe(402);
      expect(((await unpaid.json()) as { error: string }).error).toBe('NotPaying');

      // Paid: the playlist names fragments, and a fragment is MPEG-TS.
      const playlist = await (await get('index.m3u8')).text();
      expect(playlist).toMatch(/^#EXTM3U/);
      expect(playlist).not.toContain(key);
      const fragment = playlist.split('\n').filter((l) => l.endsWith('.ts')).at(-1)!;
      const ts = await get(fragment);
      expect(ts.status).toBe(200);
      const bytes = new Uint8Array(await ts.arrayBuffer());
      expect(bytes.length).toBeGreaterThan(1_000);
      expect([bytes[0], bytes[188]]).toEqual([0x47, 0x47]); // TS sync bytes

      // The paying HLS viewer is counted once (playlist and fragment requests alike).
      const status = (await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { viewers: number; hls: boolean };
      expect(status).toMatchObject({ viewers: 1, hls: true });
      expect(await (await fetch(`${app.url}/metrics`)).text()).toMatch(/^vilo_hls_viewers 1$/m);

      // A thumbnail from the newest fragment: 480 × 270 (640 × 360 scaled), named by its CID.
      let thumb: { cid: string } | null = null;
      await until(async () => !!(thumb = ((await (await fetch(`${app.url}/api/streams/${streamId}/media`)).json()) as { thumbnail: typeof thumb }).thumbnail), 10_000, `a thumbnail (server: ${app.output().slice(-800)})`);
      const jpeg = new Uint8Array(await (await fetch(`${app.url}/thumbs/${thumb!.cid}.jpg`)).arrayBuffer());
      expect(await cidOf(jpeg)).toBe(thumb!.cid);
      expect(await pictureSize(jpeg)).toEqual({ width: 480, height: 270 });

      // Vouchers stop: within 2 s of the last accepted one, nothing more is served.
      ticker.stop();
      await new Promise((r) => setTimeout(r, 500));
      await new Promise((r) => setTimeout(r, Math.max(0, lastAccepted + 2_000 - Date.now())));
      const cut = await get('index.m3u8');
      expect(cut.status).toBe(402);
      expect(((await cut.json()) as { message: string }).message).toMatch(/no voucher advanced watch 0/);
    } finally {
      ticker.stop();
      encoder?.kill('SIGKILL');
    }
  });

  it('an HTTP edge serves a paying watch’s signed URL without asking anyone; a forged, foreign or expired one gets nothing; a viewer who stopped paying gets no new one', async () => {
    const { bob } = env.accounts;
    const streamId = await liveStream(env, bob);
    const other = await liveStream(env, bob);
    const key = await streamKey(app, bob, streamId);
    let encoder: ChildProcess | undefined;
    const t = await viewerWithTab(env, app, 'edge-viewer', RATE * 600n, RATE);
    const spec = t.spec(streamId);
    const ticker = new TabTicker({ scope: { genesisHash: spec.genesisHash as Hex, contract: spec.contract, tabId: t.tabId }, key: t.key, baseUrl: app.url });
    const askEdge = (paying = true) =>
      fetch(`${app.url}/api/streams/${streamId}/hls-edge`, {
        method: 'POST',
        headers: paying && ticker.latest() ? tabWhepHeaders({ tabId: t.tabId, watch: 0, voucher: ticker.latest()! }) : { 'X-Vilo-Tab': t.tabId.toString(), 'X-Vilo-Watch': '0' },
      });
    try {
      encoder = lowPriority(spawn('ffmpeg', rtmpEncoderArgs(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`, 90), { stdio: 'ignore' }));
      ticker.startWatch(0, streamId, RATE);
      await until(async () => ticker.latest() !== undefined, 15_000, 'the first voucher');

      // No voucher: no URL.
      const unpaid = await askEdge(false);
      expect(unpaid.status).toBe(402);
      expect(((await unpaid.json()) as { error: string }).error).toBe('NotPaying');

      // Paying: a prefix on the edge's port, good for the configured few seconds.
      const res = await askEdge();
      expect(res.status).toBe(201);
      const grant = (await res.json()) as { url: string; expiresAtMs: number };
      expect(new URL(grant.url).port).toBe(String(edgePort));
      expect(grant.expiresAtMs - Date.now()).toBeGreaterThan(0);
      expect(grant.expiresAtMs - Date.now()).toBeLessThanOrEqual(EDGE_TTL_S * 1000);
      let playlist = '';
      await until(async () => {
        const r = await fetch(`${grant.url}index.m3u8`);
        playlist = r.status === 200 ? await r.text() : '';
        return playlist.startsWith('#EXTM3U');
      }, 20_000, 'the playlist from the edge');
      const fragment = playlist.split('\n').filter((l) => l.endsWith('.ts')).at(-1)!;
      const ts = await fetch(`${grant.url}${fragment}`);
      expect(ts.status).toBe(200);
      expect(ts.headers.get('server')).toMatch(/^nginx/); // the edge answered, not the media server
      const bytes = new Uint8Array(await ts.arrayBuffer());
      expect([bytes[0], bytes[188]]).toEqual([0x47, 0x47]);

      // A token changed by one character, or the prefix used for another stream: refused.
      const [, , token] = new URL(grant.url).pathname.split('/');
      const forged = grant.url.replace(`/${token}/`, `/${token[0] === 'A' ? 'B' : 'A'}${token.slice(1)}/`);
      expect((await fetch(`${forged}index.m3u8`)).status).toBe(403);
      expect((await fetch(`${grant.url.replace(`/${streamId}/`, `/${other}/`)}index.m3u8`)).status).toBe(403);
      // A file the edge does not serve under any prefix.
      expect((await fetch(`${grant.url}../../../../etc/passwd`)).status).toBe(404);

      // Payment stops: the next ask is refused once the vouchers are stale, and the last URL ends at its expiry.
      ticker.stop();
      await until(async () => (await askEdge()).status === 402, 5_000, 'the edge URL refused once the vouchers stopped');
      await new Promise((r) => setTimeout(r, Math.max(0, grant.expiresAtMs + 1_100 - Date.now())));
      expect((await fetch(`${grant.url}index.m3u8`)).status).toBe(410);
    } finally {
      ticker.stop();
      encoder?.kill('SIGKILL');
    }
  });
});

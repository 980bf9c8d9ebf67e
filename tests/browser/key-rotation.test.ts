/**
 * A creator replaces a stream key because it leaked: whatever the old key let in stops broadcasting
 * — an encoder over WHIP on either media plane (werift, LiveKit), and one over RTMP — while a camera
 * let in by the creator's own signature goes on. Against the built app, the real chain, a real
 * LiveKit 1.13.5, nginx-rtmp and ffmpeg encoders (no browser: the encoders are werift and ffmpeg).
 */
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import type { KeyringPair } from '@polkadot/keyring/types';
import { setupEnv, type Env } from '../e2e/helpers.ts';
import { liveStream } from '../e2e/protocol-helpers.ts';
import { freePort } from '../../scripts/chain/launch.ts';
import { startLiveKit, type LiveKit } from '../../scripts/media/livekit.ts';
import { lowPriority, startApp, type App } from './harness.ts';
import { encoderPublisher, rtmpEncoderArgs } from './media-clients.ts';
import { ownDeploymentFile, streamKey, until } from './media-helpers.ts';
import { scratchDir } from '../scratch.ts';

let env: Env;
let werift: App;
let livekit: App;
let lk: LiveKit;
let rtmpPort: number;

beforeAll(async () => {
  env = await setupEnv();
  rtmpPort = await freePort();
  const lkAppPort = await freePort();
  lk = await startLiveKit({ webhookUrl: `http://127.0.0.1:${lkAppPort}/api/livekit/webhook` });
  [werift, livekit] = await Promise.all([
    startApp(inject('chainUrl'), ownDeploymentFile(), { VILO_RELAY_DB: join(scratchDir('keys'), 'relay.sqlite'), VILO_RTMP_PORT: String(rtmpPort) }),
    startApp(inject('chainUrl'), ownDeploymentFile(), {
      PORT: String(lkAppPort),
      VILO_RELAY_DB: join(scratchDir('keys-lk'), 'relay.sqlite'),
      LIVEKIT_URL: lk.url,
      LIVEKIT_API_KEY: lk.apiKey,
      LIVEKIT_API_SECRET: lk.apiSecret,
    }),
  ]);
  await until(async () => werift.output().includes('[rtmp] ingest on'), 10_000, `RTMP ingest to start; server: ${werift.output().slice(-500)}`);
});

afterAll(async () => {
  await werift?.stop();
  await livekit?.stop();
  await lk?.stop();
  await env?.api.disconnect();
});

const media = async (app: App, id: bigint) => (await (await fetch(`${app.url}/api/streams/${id}/media`)).json()) as { state: string; live: boolean };

/** The studio camera's credential: the creator's wallet signature of a publish request. */
const signedPublish = (who: KeyringPair, streamId: bigint, timestamp = Date.now()) =>
  `creator.${who.address}.${timestamp}.${u8aToHex(who.sign(stringToU8a(`vilokanam:publish:${streamId}:${timestamp}`)))}`;

/** Stays true (or fails) for `ms`. */
async function holds(f: () => Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(await f(), what).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('replacing the stream key ends what the old key let in', { retry: 1 }, () => {
  for (const plane of ['werift', 'livekit'] as const) {
    it(`on ${plane}: the encoder that published over WHIP with the old key goes off air; a camera let in by the creator's signature stays`, async () => {
      const app = plane === 'werift' ? werift : livekit;
      const { bob } = env.accounts;
      const [leaked, camera] = [await liveStream(env, bob), await liveStream(env, bob)];
      const encoder = await encoderPublisher({ baseUrl: app.url, streamId: leaked, streamKey: await streamKey(app, bob, leaked), size: '320x180', bitrate: '300k' });
      onTestFinished(() => encoder.stop());
      const studio = await encoderPublisher({ baseUrl: app.url, streamId: camera, streamKey: signedPublish(bob, camera), size: '320x180', bitrate: '300k' });
      onTestFinished(() => studio.stop());
      await until(async () => (await media(app, leaked)).live && (await media(app, camera)).live, 20_000, 'both streams live');

      await streamKey(app, bob, leaked);
      await streamKey(app, bob, camera);
      await until(async () => !(await media(app, leaked)).live, 5_000, () => `the old key’s encoder to go off air; server: ${app.output().slice(-1500)}`);
      expect(encoder.packets(), 'the encoder was still sending when it was cut').toBeGreaterThan(0);
      await holds(async () => !(await media(app, leaked)).live, 3_000, 'the leaked stream stays off air while the old key’s encoder keeps sending');
      await holds(async () => (await media(app, camera)).live, 3_000, 'the camera let in by the creator’s signature stays live');
      expect(app.output()).toContain(`[keys] stream ${leaked}: the old key's publishing session ended`);
    });
  }

  it('over RTMP: nginx drops the encoder within a few seconds of the new key', async () => {
    const { bob } = env.accounts;
    const streamId = await liveStream(env, bob);
    const key = await streamKey(werift, bob, streamId);
    const encoder = lowPriority(spawn('ffmpeg', rtmpEncoderArgs(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`, 90), { stdio: 'ignore' }));
    const exited = new Promise<number | null>((r) => encoder.once('exit', (code) => r(code)));
    onTestFinished(() => void encoder.kill('SIGKILL'));
    await until(async () => werift.output().includes(`[rtmp] stream ${streamId}: publishing`), 15_000, 'the RTMP encoder to be accepted');
    await holds(async () => encoder.exitCode === null, 4_000, 'the encoder keeps publishing with a current key');

    await streamKey(werift, bob, streamId);
    const t0 = Date.now();
    await until(async () => werift.output().includes('[rtmp] publishing ended: its stream key was replaced'), 8_000, 'nginx to ask again and be told no');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 8_000))]);
    expect(encoder.exitCode, 'ffmpeg lost its connection (it would publish for 90 s)').not.toBeNull();
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

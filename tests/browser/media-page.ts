/**
 * What pages need to publish or play outside the dApp's own pages (the media tests and the latency
 * benchmark): the real client modules bundled for the page, and a stream key asked for the way the
 * dApp does (a creator-signed request). Free of vitest, so benchmarks can import it.
 */
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Browser, Page } from 'playwright-core';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import { ROOT } from '../../scripts/lib/toolchain.ts';

let bundle: string | undefined;

/** whip.ts, whep.ts, tab-ticker.ts, tab-wire.ts, SessionKey and signTabVoucher as one script defining `window.ViloMedia`. */
export function mediaClientScript(): string {
  if (bundle) return bundle;
  const entry = ['whip', 'whep', 'tab-ticker', 'tab-wire']
    .map((m) => `export * from ${JSON.stringify(join(ROOT, `dapp/lib/media/${m}.ts`))};`)
    .concat(`export { SessionKey } from ${JSON.stringify(join(ROOT, 'dapp/lib/protocol/voucher.ts'))};`)
    .concat(`export { signTabVoucher } from ${JSON.stringify(join(ROOT, 'dapp/lib/protocol/tab.ts'))};`)
    .join('\n');
  const out = buildSync({
    stdin: { contents: entry, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    format: 'iife',
    globalName: 'ViloMedia',
    platform: 'browser',
    write: false,
    logLevel: 'error',
  });
  bundle = out.outputFiles[0].text;
  return bundle;
}

/** Asks the app at `baseUrl` for a new stream key, signed by the creator as their wallet would. */
export async function requestStreamKey(app: { url: string }, creator: KeyringPair, streamId: bigint): Promise<string> {
  const timestamp = Date.now();
  const signature = u8aToHex(creator.sign(stringToU8a(`vilokanam:stream-key:${streamId}:${timestamp}`)));
  const res = await fetch(`${app.url}/api/streams/${streamId}/key`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ address: creator.address, timestamp, signature }),
  });
  if (res.status !== 201) throw new Error(`stream key for ${streamId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { streamKey: string }).streamKey;
}

/**
 * A page of the app at `baseUrl` publishing Chromium's fake camera and microphone over WHIP with the
 * stream key, as the studio does. It opens on /api/media: any document of the app's origin will do
 * (WHIP, WHEP and the tab API are same-origin), and not a dApp page — the discover page reads every
 * stream from the chain every few seconds, and four such pages kept the local chain busy enough to
 * delay the relay's settlements by tens of seconds (CI, stop 15).
 */
export async function cameraPublisherPage(browser: Browser, baseUrl: string, streamId: bigint, key: string): Promise<Page> {
  const page = await mediaClientPage(browser, baseUrl);
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

/** A page of its own browser context on the app's origin with the client bundle loaded (`window.ViloMedia`). */
export async function mediaClientPage(browser: Browser, baseUrl: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${baseUrl}/api/media`);
  await page.addScriptTag({ content: mediaClientScript() });
  return page;
}

/**
 * What pages need to publish or play outside the dApp's own pages (the media tests and the latency
 * benchmark): the real client modules bundled for the page, and a stream key asked for the way the
 * dApp does (a creator-signed request). Free of vitest, so benchmarks can import it.
 */
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex } from '@polkadot/util';
import { ROOT } from '../../scripts/lib/toolchain.ts';

let bundle: string | undefined;

/** whip.ts, whep.ts, ticker.ts and SessionKey as one script defining `window.ViloMedia`. */
export function mediaClientScript(): string {
  if (bundle) return bundle;
  const entry = ['whip', 'whep', 'ticker']
    .map((m) => `export * from ${JSON.stringify(join(ROOT, `dapp/lib/media/${m}.ts`))};`)
    .concat(`export { SessionKey } from ${JSON.stringify(join(ROOT, 'dapp/lib/protocol/voucher.ts'))};`)
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

/**
 * The main job (`npm run dev`): starts the local chain, deploys the contracts, builds and serves the
 * dApp, and prints its URL. Ctrl-C stops the server and the chain.
 *
 * Usage: tsx scripts/dev.ts [--port 5173] [--help]
 * Honours CONTRACTS_NODE_URL (use a running node) and VILO_SURI (deployer). `VILO_MEDIA_PLANE=livekit`
 * also starts a LiveKit server (scripts/media/livekit.ts; or uses `LIVEKIT_URL`) and serves the video
 * through it (docs/media.md, "LiveKit"); the default is still the werift SFU inside the server.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startChain, freePort } from './chain/launch.ts';
import { connect, signerFrom } from './lib/chain.ts';
import { deployAll, writeDeployment } from './deploy.ts';
import { ROOT } from './lib/toolchain.ts';
import { buildApp } from './build-app.ts';
import { startLiveKit, type LiveKit } from './media/livekit.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: npm run dev [-- --port N]\nStarts the local chain, deploys, serves the dApp.');
  process.exit(0);
}

const t0 = Date.now();
const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const chain = await startChain();
console.log(`[dev] ${chain.kind} chain ready at ${chain.url} (${secs()})`);

let server: ReturnType<typeof spawn> | undefined;
let livekit: LiveKit | undefined;
const shutdown = async (code = 0) => {
  server?.kill('SIGTERM');
  await livekit?.stop();
  await chain.stop();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

try {
  const api = await connect(chain.url);
  const deployment = await deployAll(api, await signerFrom(api, process.env.VILO_SURI), console.log);
  await api.disconnect();
  const file = writeDeployment(deployment);
  console.log(`[dev] deployment written to ${file} (${secs()})`);

  buildApp();

  const plane = process.env.VILO_MEDIA_PLANE ?? 'werift';
  if (plane !== 'werift' && plane !== 'livekit') throw new Error(`VILO_MEDIA_PLANE must be werift or livekit, not "${plane}"`);
  const port = values.port ? Number(values.port) : await freePort();
  if (plane === 'livekit') {
    livekit = await startLiveKit({ webhookUrl: `http://127.0.0.1:${port}/api/livekit/webhook` });
    console.log(`[dev] LiveKit media plane at ${livekit.url} (${secs()})`);
  }

  server = spawn('node', ['build/index.js'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      VILO_CHAIN_URL: chain.url,
      VILO_DEPLOYMENT: file,
      ...(livekit && { LIVEKIT_URL: livekit.url, LIVEKIT_API_KEY: livekit.apiKey, LIVEKIT_API_SECRET: livekit.apiSecret }),
    },
  });
  server.on('exit', (code) => {
    console.error(`[dev] dApp server exited (${code})`);
    void shutdown(code ?? 1);
  });
  // "Ready" only once the server answers: printed earlier, a click on the URL was refused.
  const url = `http://127.0.0.1:${port}/`;
  await answering(url, 60_000);
  console.log(`[dev] dApp ready: ${url}  (${secs()}; Ctrl-C stops)`);
} catch (e) {
  console.error(`[dev] ${(e as Error).name}: ${(e as Error).message}`);
  await shutdown(1);
}

/** Resolves once `url` answers (any status below 500); throws after `ms`. */
async function answering(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) throw new Error(`the dApp server did not answer at ${url} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

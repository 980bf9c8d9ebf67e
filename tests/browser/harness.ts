/**
 * Shared by the real-browser tests: Debian's Chromium driven by playwright-core, the built app served
 * by its own Node server on a free port, and a test-only injected wallet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setPriority } from 'node:os';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from '../../scripts/chain/launch.ts';
import { ROOT } from '../../scripts/lib/toolchain.ts';

export const ARTIFACTS = join(ROOT, 'test-results/browser');

/** Chromium flags: headless on a closed network (no background connections) with a fake camera. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // A synthetic camera and microphone, granted without a prompt (the WHIP publisher's source).
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Keep WebRTC on loopback: host candidates on 127.0.0.1 are enough and nothing leaves the machine.
  '--allow-loopback-in-peer-connection',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    // VILO_CHROMIUM: another browser binary, run as is; by default Debian's, at nice 10 (see nice-chromium).
    executablePath: process.env.VILO_CHROMIUM ?? join(ROOT, 'tests/browser/nice-chromium'),
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Lowers a test encoder's CPU priority (nice 10), like the browsers': it stands in for a creator's own
 * machine and must not take the CPU the chain and the media server need on this 2-core host.
 */
export function lowPriority<T extends ChildProcess>(child: T): T {
  if (child.pid) setPriority(child.pid, 10);
  return child;
}

export interface App {
  url: string;
  /** Everything the server printed (for failure messages). */
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts the built app (`node build/index.js`, built by the browser project's global setup) against
 * the test chain and deployment. `env` adds or overrides server settings (relay interval, …).
 */
export async function startApp(
  chainUrl: string,
  deploymentPath: string,
  env: Record<string, string> = {},
): Promise<App> {
  // A port chosen before (env.PORT): LiveKit, started first, posts its webhooks there.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  let out = '';
  // Run a snapshot of build/: another test run on this machine may rebuild build/ meanwhile, and the
  // server imports its route chunks lazily. Inside ROOT, so node_modules still resolves.
  const snapshot = join(ROOT, 'test-results/app-builds', String(port));
  rmSync(snapshot, { recursive: true, force: true });
  cpSync(join(ROOT, 'build'), snapshot, { recursive: true });
  const child: ChildProcess = spawn(process.execPath, [join(snapshot, 'index.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ORIGIN: `http://127.0.0.1:${port}`,
      VILO_CHAIN_URL: chainUrl,
      VILO_DEPLOYMENT: deploymentPath,
      // The indexer catches up from the deployment's first block, reading each block from the chain
      // the other tests share: only the tests of the history turn it on (with a database of their own).
      VILO_HISTORY_DB: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`app server exited (${child.exitCode}):\n${out}`);
    try {
      if ((await fetch(url + '/')).status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`app server did not answer within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(snapshot, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-results/browser/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Fails the test on any console error or uncaught page error (collected, checked by the caller). */
export function collectPageErrors(context: BrowserContext): string[] {
  const errors: string[] = [];
  context.on('page', (page) => watch(page));
  for (const p of context.pages()) watch(p);
  function watch(page: Page) {
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
    });
  }
  return errors;
}

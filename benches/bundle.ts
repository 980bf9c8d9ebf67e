/**
 * First-load JavaScript of the discover page, gzipped: the built app is served by its own Node server,
 * Debian's Chromium loads `/` in a fresh profile, and every JavaScript response that finished before
 * the `load` event (by the page's Resource Timing) is gzipped (level 9, as a server would) and summed. The Polkadot libraries load
 * afterwards (dynamic import when the page connects to the chain) and are reported separately.
 * No chain is needed: the page's later chain connection simply fails.
 *
 * Run: npm run bench:bundle   (writes the "bundle" section of docs/benchmarks.md)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildApp } from '../scripts/build-app.ts';
import type { Browser } from 'playwright-core';
import { launchBrowser, startApp } from '../tests/browser/harness.ts';
import { ROOT } from '../scripts/lib/toolchain.ts';
import { fmt, writeSection } from './lib.ts';

/**
 * Cross-check from the build manifest: the static-import closure of the client entry, the app, and
 * the layout and page nodes of `/` (dynamic imports excluded), gzipped and summed.
 */
function manifestFirstLoad(): { files: number; gzip: number } {
  const out = join(ROOT, '.svelte-kit/output');
  const manifest = JSON.parse(readFileSync(join(out, 'client/.vite/manifest.json'), 'utf8')) as Record<string, { file: string; imports?: string[]; isEntry?: boolean }>;
  const server = readFileSync(join(out, 'server/manifest.js'), 'utf8');
  const route = /id: "\/",[\s\S]*?page: \{ layouts: \[([\d,]*)\], errors: \[[\d,]*\], leaf: (\d+) \}/.exec(server);
  if (!route) throw new Error('route / not found in the server manifest');
  const nodes = [...route[1].split(',').filter(Boolean), route[2]].map((n) => `.svelte-kit/generated/client-optimized/nodes/${n}.js`);
  const roots = [...Object.keys(manifest).filter((k) => manifest[k].isEntry && !k.includes('/nodes/')), ...nodes];
  const seen = new Set<string>();
  const walk = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const i of manifest[k]?.imports ?? []) walk(i);
  };
  roots.forEach(walk);
  let gzip = 0;
  for (const k of seen) gzip += gzipSync(readFileSync(join(out, 'client', manifest[k].file)), { level: 9 }).length;
  return { files: seen.size, gzip };
}

const TARGET_KB = 300;
const LOADS = 5;
const ADDRESS = '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM';

type Script = { url: string; raw: number; gzip: number; beforeLoad: boolean };

/** One load of `/` in a fresh browser context: every JavaScript response, and whether it finished before `load`. */
async function loadOnce(browser: Browser, url: string): Promise<Script[]> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const bodies = new Map<string, Promise<Buffer>>();
    page.on('response', (res) => {
      if (/javascript/.test(res.headers()['content-type'] ?? '')) bodies.set(new URL(res.url()).pathname, res.body());
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(3_000); // lazy chunks (Polkadot libraries) load after
    // Which responses finished before the load event, by the page's own clock (Resource Timing): the
    // order in which Playwright reports 'response' and 'load' to this process is not reliable.
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return {
        loadAt: nav.loadEventStart,
        ends: (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => [new URL(e.name).pathname, e.responseEnd] as const),
      };
    });
    const endOf = new Map(timing.ends);
    const scripts: Script[] = [];
    for (const [path, body] of bodies) {
      const b = await body;
      const end = endOf.get(path);
      if (end === undefined) throw new Error(`no Resource Timing entry for ${path}`);
      scripts.push({ url: path, raw: b.length, gzip: gzipSync(b, { level: 9 }).length, beforeLoad: end <= timing.loadAt });
    }
    return scripts;
  } finally {
    await context.close();
  }
}

buildApp();
const dir = mkdtempSync(join(tmpdir(), 'vilo-bundle-'));
const deployment = join(dir, 'deployment.json');
const contracts = Object.fromEntries(['stream_registry', 'pricing_engine', 'payment_handler', 'tick_stream'].map((n) => [n, { address: ADDRESS }]));
writeFileSync(deployment, JSON.stringify({ contracts }));
const app = await startApp('ws://127.0.0.1:9', deployment, { VILO_RELAY_DB: join(dir, 'relay.sqlite') });
const browser = await launchBrowser();
try {
  // Whether the route's own modules finish before `load` varies from load to load (they are imported
  // by SvelteKit's inline start script); the worst of LOADS fresh loads is reported.
  const runs: Script[][] = [];
  for (let i = 0; i < LOADS; i++) runs.push(await loadOnce(browser, app.url + '/'));
  const firstOf = (r: Script[]) => r.filter((s) => s.beforeLoad).reduce((a, s) => a + s.gzip, 0);
  const scripts = runs.reduce((worst, r) => (firstOf(r) > firstOf(worst) ? r : worst));
  const range = runs.map(firstOf).sort((x, y) => x - y);
  const first = scripts.filter((s) => s.beforeLoad);
  const later = scripts.filter((s) => !s.beforeLoad);
  const kb = (n: number) => (n / 1024).toFixed(1);
  const sum = (xs: typeof scripts, k: 'raw' | 'gzip') => xs.reduce((a, s) => a + s[k], 0);
  const firstGz = sum(first, 'gzip');
  console.log(`[bench] discover page first load (worst of ${LOADS}): ${first.length} scripts, ${kb(firstGz)} KB gzipped (${kb(sum(first, 'raw'))} KB raw); all loads ${range.map(kb).join(', ')} KB`);
  console.log(`[bench] loaded later: ${later.length} scripts, ${kb(sum(later, 'gzip'))} KB gzipped`);
  const walked = manifestFirstLoad();
  console.log(`[bench] build manifest, static closure of / : ${walked.files} files, ${kb(walked.gzip)} KB gzipped`);
  const worst = Math.max(firstGz, walked.gzip);
  const biggest = [...first].sort((a, b) => b.gzip - a.gzip).slice(0, 5);
  writeSection(
    'bundle',
    `The discover page (\`/\`) in Chromium, fresh profile, built app (\`vite build\`, adapter-node):
JavaScript responses that finished before the \`load\` event (the page's Resource Timing), each gzipped at
level 9, summed; the worst of ${LOADS} loads, each in a fresh context (all: ${range.map(kb).join(', ')} KB).

| figure | value | target (issue 4) |
| --- | ---: | ---: |
| first-load JavaScript, gzipped (measured in Chromium, worst of ${LOADS}) | **${kb(firstGz)} KB** (${first.length} files) | ≤ ${TARGET_KB} KB ${firstGz <= TARGET_KB * 1024 ? '✓' : '✗'} |
| cross-check: static-import closure of \`/\` in the build manifest, gzipped | ${kb(walked.gzip)} KB (${walked.files} files) | ≤ ${TARGET_KB} KB ${walked.gzip <= TARGET_KB * 1024 ? '✓' : '✗'} |
| first-load JavaScript, uncompressed | ${kb(sum(first, 'raw'))} KB | — |
| loaded after \`load\` (chain connection: Polkadot libraries, bindings), gzipped | ${kb(sum(later, 'gzip'))} KB (${later.length} files) | — |

Largest first-load files (gzipped bytes): ${biggest.map((s) => `\`${s.url.split('/').pop()}\` ${fmt(s.gzip)}`).join(', ')}.`,
  );
  if (worst > TARGET_KB * 1024) process.exitCode = 1;
} finally {
  await browser.close();
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
}

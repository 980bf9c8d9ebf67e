/**
 * Builds the dApp and its Node server (`vite build` → build/, run by `node build/index.js`) unless
 * nothing that affects the build changed since the last build.
 *
 * Usage: tsx scripts/build-app.ts [--force]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './lib/toolchain.ts';

const OUT = join(ROOT, 'build');
const STAMP = join(OUT, '.source-hash');
const INPUTS = ['dapp', 'typechain', 'svelte.config.js', 'vite.config.ts', 'package-lock.json', 'tsconfig.json'];

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((e) => filesUnder(join(path, e)));
}

export function appSourceHash(): string {
  const h = createHash('sha256');
  for (const f of INPUTS.flatMap((p) => filesUnder(join(ROOT, p))).sort()) {
    h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  return h.digest('hex');
}

export function buildApp({ force = false } = {}): void {
  const hash = appSourceHash();
  if (!force && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash) {
    console.log('[app] up to date (build/)');
    return;
  }
  const t0 = Date.now();
  console.log('[app] building the dApp (vite build) ...');
  const r = spawnSync('vite', ['build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
  writeFileSync(STAMP, hash + '\n');
  console.log(`[app] built in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp({ force: process.argv.includes('--force') });
}

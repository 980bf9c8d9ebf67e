/**
 * Builds every ink! contract of the contracts/ workspace in release mode with the contract builder
 * (tools/contract-build: cargo-contract 5.0.3's `build`), unless nothing that affects the build changed since the last build (sources, manifests, lockfile,
 * toolchain versions). Prints each contract's optimized Wasm size.
 *
 * Usage: tsx scripts/build-contracts.ts [--force]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONTRACTS_DIR, CONTRACT_BUILDER_SRC, INK_OUT_DIR, ROOT, artifacts, contractBuilderBin, wasmBuildEnv } from './lib/toolchain.ts';

const STAMP = join(INK_OUT_DIR, '.source-hash');
/** The one cargo target dir every contract builds in (see sharedTargetDir below). */
const SHARED_DIR = join(INK_OUT_DIR, 'shared');

/** Contract crate names, from the workspace's `members`. */
export function contractNames(): string[] {
  const manifest = readFileSync(join(CONTRACTS_DIR, 'Cargo.toml'), 'utf8');
  const members = /members\s*=\s*\[([^\]]*)\]/m.exec(manifest)?.[1] ?? '';
  return [...members.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'target') return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function toolVersion(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  return r.status === 0 ? r.stdout.trim() : `${cmd} missing`;
}

/** Hash of everything that determines the build output. */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of filesUnder(CONTRACTS_DIR).sort()) {
    h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  }
  h.update(readFileSync(join(ROOT, 'tools/cargo-wasm')));
  for (const f of filesUnder(CONTRACT_BUILDER_SRC).sort()) h.update(readFileSync(f));
  h.update(toolVersion('/usr/bin/rustc', ['--version']));
  return h.digest('hex');
}

export function contractsUpToDate(): boolean {
  return (
    existsSync(STAMP) &&
    readFileSync(STAMP, 'utf8').trim() === sourceHash() &&
    contractNames().every((n) => existsSync(artifacts(n).contract))
  );
}

/**
 * contract-build gives each contract its own target dir, `target/ink/<name>`, so the ink! and
 * Substrate crates every contract uses (for the Wasm build and again for the host build that writes
 * the metadata) would compile four times: ~940 MB and ~2.5 min per contract. Each of those dirs is
 * made a symlink to one shared dir instead, so the dependencies compile once. The artifacts keep
 * distinct names (`<name>.wasm`, `<name>.json`, `<name>.contract`), so they live side by side.
 * A real per-contract dir left by an older build is replaced (it holds only build output).
 */
export function sharedTargetDir(names: string[]): void {
  mkdirSync(SHARED_DIR, { recursive: true });
  for (const name of names) {
    const dir = join(INK_OUT_DIR, name);
    const stat = lstatOrUndefined(dir);
    if (stat?.isSymbolicLink()) continue;
    if (stat) rmSync(dir, { recursive: true, force: true });
    symlinkSync('shared', dir);
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Where every checkout builds its contracts from. contract-build copies a contract into a temp
 * workspace and points its path dependencies (tick_stream → the other three contracts) at their
 * absolute paths. Cargo hashes a dependency outside the workspace by that absolute path into its
 * symbol names, and the names decide the order of functions in the Wasm: tick_stream built from
 * /work/main and from CI's clone at /check/work/main gave two code hashes. Built from one fixed path,
 * one commit gives one Wasm on every machine, wherever it is checked out.
 */
export const BUILD_DIR = '/tmp/vilokanam-contracts';

/**
 * Copies contracts/ (without `target`) to BUILD_DIR, whose `target` is a symlink to this checkout's
 * contracts/target: the build's output and its cache stay in the checkout. Timestamps are kept, so
 * cargo rebuilds only what changed since this checkout's last build.
 */
export function stageSources(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const target = join(CONTRACTS_DIR, 'target');
  cpSync(CONTRACTS_DIR, BUILD_DIR, { recursive: true, preserveTimestamps: true, filter: (src) => src !== target });
  mkdirSync(target, { recursive: true });
  symlinkSync(target, join(BUILD_DIR, 'target'));
}

/**
 * BUILD_DIR is one per machine: a second checkout building at the same time (a fresh-machine
 * rehearsal beside a test run) waits for the first. The lock file holds the builder's pid; a lock
 * whose process is gone (a killed build) is taken over.
 */
function lockBuildDir(): () => void {
  const lock = `${BUILD_DIR}.lock`;
  let said = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    if (!alive(pid)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (!said) console.log(`[contracts] waiting for another checkout's contract build (pid ${pid}, lock ${lock}) ...`);
    said = true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function buildContracts({ force = false } = {}): void {
  const names = contractNames();
  if (!force && contractsUpToDate()) {
    console.log(`[contracts] up to date (${names.join(', ')})`);
    return;
  }
  const bin = contractBuilderBin();
  if (!existsSync(bin)) {
    throw new Error(`the contract builder is not at ${bin}; run \`npm run setup\` (its "contract builder" step builds it)`);
  }
  sharedTargetDir(names);
  // Until every contract is built, the artifacts are not those of any one source: an interrupted build
  // (Ctrl-C, a killed test run) must not leave the old stamp beside a half-replaced set.
  rmSync(STAMP, { force: true });
  const unlock = lockBuildDir();
  try {
    stageSources();
    for (const name of names) buildOne(bin, name);
  } finally {
    unlock();
  }
  mkdirSync(INK_OUT_DIR, { recursive: true });
  writeFileSync(STAMP, sourceHash() + '\n');
}

function buildOne(bin: string, name: string): void {
  const t0 = Date.now();
  console.log(`[contracts] building ${name} (release) ...`);
  const r = spawnSync(bin, ['--release', '--manifest-path', join(BUILD_DIR, name, 'Cargo.toml')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: wasmBuildEnv(),
  });
  if (r.status !== 0) throw new Error(`the contract build failed for ${name} (exit ${r.status})`);
  const size = statSync(artifacts(name).wasm).size;
  console.log(`[contracts] ${name}: optimized Wasm ${size} bytes (${(size / 1024).toFixed(1)} KiB) in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildContracts({ force: process.argv.includes('--force') });
  } catch (e) {
    console.error(`[contracts] ${(e as Error).message}`);
    process.exit(1);
  }
}

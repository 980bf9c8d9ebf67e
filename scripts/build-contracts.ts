/**
 * Builds every ink! contract of the contracts/ workspace in release mode with cargo-contract 5.0.3,
 * unless nothing that affects the build changed since the last build (sources, manifests, lockfile,
 * toolchain versions). Prints each contract's optimized Wasm size.
 *
 * Usage: tsx scripts/build-contracts.ts [--force]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONTRACTS_DIR, INK_OUT_DIR, ROOT, artifacts, cargoContractBin, wasmBuildEnv } from './lib/toolchain.ts';

const STAMP = join(INK_OUT_DIR, '.source-hash');

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
  h.update(toolVersion(cargoContractBin(), ['contract', '--version']));
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

export function buildContracts({ force = false } = {}): void {
  const names = contractNames();
  if (!force && contractsUpToDate()) {
    console.log(`[contracts] up to date (${names.join(', ')})`);
    return;
  }
  const bin = cargoContractBin();
  if (!existsSync(bin)) {
    throw new Error(`cargo-contract not found at ${bin}; run \`npm run setup\` first`);
  }
  for (const name of names) {
    const t0 = Date.now();
    console.log(`[contracts] building ${name} (release) ...`);
    const r = spawnSync(
      bin,
      ['contract', 'build', '--release', '--manifest-path', join(CONTRACTS_DIR, name, 'Cargo.toml')],
      { stdio: ['ignore', 'inherit', 'inherit'], env: wasmBuildEnv() },
    );
    if (r.status !== 0) throw new Error(`cargo contract build failed for ${name} (exit ${r.status})`);
    const size = statSync(artifacts(name).wasm).size;
    console.log(`[contracts] ${name}: optimized Wasm ${size} bytes (${(size / 1024).toFixed(1)} KiB) in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  }
  mkdirSync(INK_OUT_DIR, { recursive: true });
  writeFileSync(STAMP, sourceHash() + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildContracts({ force: process.argv.includes('--force') });
  } catch (e) {
    console.error(`[contracts] ${(e as Error).message}`);
    process.exit(1);
  }
}

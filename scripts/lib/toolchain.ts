/** Where the project's tools live and the environment a contract build needs (see docs/toolchain.md). */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const CONTRACTS_DIR = join(ROOT, 'contracts');
export const INK_OUT_DIR = join(CONTRACTS_DIR, 'target/ink');
export const CARGO_CONTRACT_VERSION = '5.0.3';

export function cacheDir(env = process.env): string {
  return env.VILO_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vilokanam');
}

export function cargoContractBin(env = process.env): string {
  return join(cacheDir(env), `cargo-contract-${CARGO_CONTRACT_VERSION}`, 'bin', 'cargo-contract');
}

/** Environment for `cargo contract build`: Debian's Rust through the panic-flag wrapper. */
export function wasmBuildEnv(env = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    CARGO: join(ROOT, 'tools/cargo-wasm'),
    RUSTC: env.VILO_WASM_RUSTC ?? '/usr/bin/rustc',
    // rust-lld -> lld-22 lives in the cache's bin (tools/env.sh makes it).
    PATH: `${env.PATH ?? ''}:${join(cacheDir(env), 'bin')}`,
  };
}

/** Paths of a built contract's artifacts. */
export function artifacts(name: string) {
  const dir = join(INK_OUT_DIR, name);
  return {
    contract: join(dir, `${name}.contract`),
    wasm: join(dir, `${name}.wasm`),
    metadata: join(dir, `${name}.json`),
  };
}

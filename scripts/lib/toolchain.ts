/** Where the project's tools live and the environment a contract build needs (see docs/toolchain.md). */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const CONTRACTS_DIR = join(ROOT, 'contracts');
export const INK_OUT_DIR = join(CONTRACTS_DIR, 'target/ink');
/** The contract builder's sources (cargo-contract 5.0.3's build command alone; docs/decisions.md). */
export const CONTRACT_BUILDER_SRC = join(ROOT, 'tools/contract-build');

export function cacheDir(env = process.env): string {
  return env.VILO_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vilokanam');
}

/** The contract builder, built by tools/setup.sh's "contract builder" step. */
export function contractBuilderBin(env = process.env): string {
  return join(cacheDir(env), 'contract-build', 'bin', 'vilo-contract-build');
}

/** Environment for a contract build: Debian's Rust through the panic-flag wrapper. */
export function wasmBuildEnv(env = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    CARGO: join(ROOT, 'tools/cargo-wasm'),
    RUSTC: env.VILO_WASM_RUSTC ?? '/usr/bin/rustc',
    // rust-lld: tools/linker/rust-lld runs Debian's lld-22, looked up when a build links.
    PATH: `${env.PATH ?? ''}:${join(ROOT, 'tools/linker')}`,
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
